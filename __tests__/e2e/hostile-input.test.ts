// Hostile input, end to end: a table of bad values for every input and every contradiction between
// inputs. Each case runs the bundled main and post steps as the runner does (RUNNER_DEBUG=1) against
// an emulator of its own, and must end with exit 1, exactly one ::error:: that names every input
// involved (quoting the bad value unless it is secret), no stack trace, no output or state, and not a
// single Cloudflare API or S3 call. Secrets in the inputs are masked and never printed.
//
// Every case is a pair of processes (~0.3 s); they run four at a time in beforeAll and each case's
// assertions are a test of its own.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  describeStep,
  errorLines,
  type Inputs,
  type JobResult,
  runJob,
} from "../../scripts/harness/runner.js";
import { type Emulator, emulatorInputs, startQuietEmulator } from "../helpers/emulator.js";
import { hygieneProblems } from "../helpers/hygiene.js";
import { settleWithConcurrency } from "../helpers/pool.js";
import { findSecretLeaks } from "../helpers/secret-scan.js";

const CONCURRENCY = 4;
const HEX32 = "e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0";
/** A realistic token value shape (not known to the emulator: nothing may be called anyway). */
const fakeToken = (tag: string) => `cfat_${tag.padEnd(40, "x").slice(0, 40)}0badc0de`;

interface Case {
  name: string;
  /** Input overrides on top of valid emulator inputs. */
  inputs: Inputs;
  env?: Record<string, string>;
  /** Inputs the one error must name. */
  names: string[];
  /** The bad value the error must quote (JSON-quoted, as the messages write values). */
  quotes?: string;
  /** Text the error must contain besides. */
  mentions?: RegExp[];
  /** Secret values (the token) that must never be printed, not even masked, nor quoted. */
  secrets?: string[];
}

const bucketCases: Case[] = [
  ["capitals", "Bad-Bucket"],
  ["dots", "my.bucket.name"],
  ["2 characters", "ab"],
  ["64 characters", "a".repeat(64)],
  ["a path separator", "logs/2026"],
  ["a path traversal", "../../etc"],
  ["a backslash", "bkt\\name"],
  ["a leading hyphen", "-leading"],
  ["a trailing hyphen", "trailing-"],
  ["an underscore", "under_score"],
  ["a space inside", "my bucket"],
  ["a non-ASCII letter", "bücket"],
  ["a percent-encoded dot", "%2e%2e"],
  ["one bad name among good ones", "good-bkt,Bad_One"],
].map(([what, value]) => ({
  name: `bucket with ${what}: ${JSON.stringify(value)}`,
  inputs: { bucket: value as string },
  names: ["bucket"],
  quotes: JSON.stringify(value === "good-bkt,Bad_One" ? "Bad_One" : value),
}));

const valueCases: Case[] = [
  { name: "bucket empty", inputs: { bucket: "" }, names: ["bucket"], mentions: [/empty/] },
  { name: "bucket only separators", inputs: { bucket: " , \n ," }, names: ["bucket"], mentions: [/empty/] },
  ...(
    [
      ["31 hex characters", HEX32.slice(1)],
      ["33 hex characters", `${HEX32}0`],
      ["upper case", HEX32.toUpperCase()],
      ["non-hex characters", "g".repeat(32)],
      ["a UUID with dashes", "e0e0e0e0-e0e0-e0e0-e0e0-e0e0e0e0e0e0"],
      ["an injected word", `${HEX32} x`],
    ] as const
  ).map(([what, value]) => ({
    name: `account-id with ${what}`,
    inputs: { "account-id": value },
    names: ["account-id"],
    quotes: JSON.stringify(value),
  })),
  {
    name: "account-id empty and no CLOUDFLARE_ACCOUNT_ID",
    inputs: { "account-id": "" },
    names: ["account-id"],
    mentions: [/CLOUDFLARE_ACCOUNT_ID/],
  },
  ...[
    "0",
    "-1",
    "1e9",
    "1h30x",
    "59",
    "30s",
    "8d",
    "604801",
    "1.5h",
    "99999999999999999999d",
    "1 h",
    "h",
  ].map((value) => ({
    name: `ttl ${JSON.stringify(value)}`,
    inputs: { ttl: value },
    names: ["ttl"],
    quotes: JSON.stringify(value),
  })),
  ...(
    [
      ["permission", "admin"],
      ["permission", "Object-Read-Only"],
      ["permission", "object-read-write,admin-read-write"],
      ["mode", "session"],
      ["mode", "TOKEN"],
      ["jurisdiction", "mars"],
      ["jurisdiction", "fedramp-high"],
      ["token-scope", "org"],
      ["token-scope", "both"],
      ["create-bucket", "yes"],
      ["export-env", "1"],
      ["revoke", "nope"],
      ["wait-timeout", "-5"],
      ["wait-timeout", "soon"],
      ["wait-timeout", "3601"],
      ["api-url", "ftp://api.example.com/client/v4"],
      ["api-url", "not a url"],
      ["api-url", "https://api.cloudflare.com/client/v4?redirect=evil"],
      ["api-url", "javascript:alert(1)"],
      ["s3-endpoint", "ftp://storage.example.com"],
      ["s3-endpoint", "https://storage.example.com/#frag"],
    ] as const
  ).map(([input, value]) => ({
    name: `${input} ${JSON.stringify(value)}`,
    inputs: { [input]: value },
    names: [input],
    quotes: JSON.stringify(value),
  })),
  {
    name: 'location-hint "mars" (with create-bucket)',
    inputs: { "create-bucket": "true", "location-hint": "mars" },
    names: ["location-hint"],
    quotes: JSON.stringify("mars"),
  },
  {
    name: "token-name of 112 characters",
    inputs: { "token-name": "n".repeat(112) },
    names: ["token-name"],
    quotes: JSON.stringify("n".repeat(112)),
  },
  {
    name: "token-name with a newline",
    inputs: { "token-name": "deploy\nsecond line" },
    names: ["token-name"],
    quotes: JSON.stringify("deploy\nsecond line"),
  },
  ...["not-an-id", HEX32.toUpperCase()].map((value) => ({
    name: `parent-access-key-id ${JSON.stringify(value)} (mode temporary)`,
    inputs: { mode: "temporary", "parent-access-key-id": value },
    names: ["parent-access-key-id"],
    quotes: JSON.stringify(value),
  })),
];

const contradictionCases: Case[] = [
  {
    name: "several buckets + prefixes",
    inputs: { bucket: "one-bkt,two-bkt", prefixes: "logs/" },
    names: ["bucket", "prefixes"],
  },
  {
    name: "several buckets + objects",
    inputs: { bucket: "one-bkt\ntwo-bkt", objects: "a.txt" },
    names: ["bucket", "objects"],
  },
  {
    name: "several buckets + an admin permission",
    inputs: { bucket: "one-bkt,two-bkt", permission: "admin-read-write" },
    names: ["bucket", "permission"],
  },
  {
    name: "several buckets + mode temporary",
    inputs: { bucket: "one-bkt,two-bkt", mode: "temporary" },
    names: ["bucket", "mode"],
  },
  {
    name: "parent-access-key-id with mode token",
    inputs: { "parent-access-key-id": HEX32 },
    names: ["parent-access-key-id", "mode"],
  },
  {
    name: "location-hint without create-bucket",
    inputs: { "location-hint": "weur" },
    names: ["location-hint", "create-bucket"],
  },
  {
    name: "token-name with mode temporary",
    inputs: { "token-name": "ci", mode: "temporary" },
    names: ["token-name", "mode"],
  },
  {
    name: "two bad inputs at once (bucket and ttl)",
    inputs: { bucket: "Bad", ttl: "1h30x" },
    names: ["bucket", "ttl"],
    quotes: JSON.stringify("1h30x"),
  },
];

const tokenCases: Case[] = [
  {
    name: "api-token empty and no CLOUDFLARE_API_TOKEN",
    inputs: { "api-token": "" },
    names: ["api-token"],
    mentions: [/CLOUDFLARE_API_TOKEN/, /fork/i, /Dependabot/],
  },
  {
    name: "api-token only whitespace and no CLOUDFLARE_API_TOKEN",
    inputs: { "api-token": "  \n  " },
    names: ["api-token"],
    mentions: [/fork/i, /Dependabot/],
  },
  {
    name: "api-token containing a newline",
    inputs: { "api-token": `${fakeToken("linea")}\n${fakeToken("lineb")}` },
    names: ["api-token"],
    secrets: [fakeToken("linea"), fakeToken("lineb")],
  },
  {
    name: "api-token containing CRLF",
    inputs: { "api-token": `${fakeToken("crlfa")}\r\n${fakeToken("crlfb")}` },
    names: ["api-token"],
    secrets: [fakeToken("crlfa"), fakeToken("crlfb")],
  },
  {
    name: "api-token containing a space",
    inputs: { "api-token": `Bearer ${fakeToken("space")}` },
    names: ["api-token"],
    // One line: the runner masks the value as a whole.
    secrets: [`Bearer ${fakeToken("space")}`],
  },
  {
    name: "api-token containing a tab",
    inputs: { "api-token": `${fakeToken("taba")}\t${fakeToken("tabb")}` },
    names: ["api-token"],
    secrets: [`${fakeToken("taba")}\t${fakeToken("tabb")}`],
  },
  {
    name: "CLOUDFLARE_API_TOKEN containing a newline (input empty)",
    inputs: { "api-token": "" },
    env: { CLOUDFLARE_API_TOKEN: `${fakeToken("envla")}\n${fakeToken("envlb")}` },
    names: ["api-token"],
    // The api-token input is empty: the message must say where the bad value came from.
    mentions: [/CLOUDFLARE_API_TOKEN/],
    secrets: [fakeToken("envla"), fakeToken("envlb")],
  },
];

const cases: Case[] = [...bucketCases, ...valueCases, ...contradictionCases, ...tokenCases];

interface Outcome {
  job: JobResult;
  calls: number;
  s3Calls: number;
}

const outcomes = new Map<string, { ok: true; value: Outcome } | { ok: false; error: unknown }>();
let wallMs = 0;

async function runCase(hostile: Case): Promise<Outcome> {
  let emulator: Emulator | undefined;
  try {
    emulator = await startQuietEmulator();
    const minter = emulator.seedToken({ scope: "account", preset: "minter" });
    emulator.createBucket("good-bucket");
    const inputs = { ...emulatorInputs(emulator, minter, "good-bucket"), ...hostile.inputs };
    const job = await runJob({ inputs, env: hostile.env, debug: true });
    return { job, calls: emulator.calls.length, s3Calls: emulator.s3Calls.length };
  } finally {
    await emulator?.close();
  }
}

beforeAll(async () => {
  expect(new Set(cases.map((c) => c.name)).size, "case names are unique").toBe(cases.length);
  const started = performance.now();
  const results = await settleWithConcurrency(cases, CONCURRENCY, runCase);
  wallMs = Math.round(performance.now() - started);
  for (const [i, c] of cases.entries()) outcomes.set(c.name, results[i] as never);
}, 300_000);

afterAll(() => {
  console.log(`hostile input: ${cases.length} cases, ${CONCURRENCY} at a time, ${wallMs} ms`);
});

describe("every bad input fails before any call, with one error naming it", () => {
  test.for(cases)("$name", (hostile) => {
    const outcome = outcomes.get(hostile.name);
    if (!outcome) throw new Error("case did not run");
    if (!outcome.ok) throw outcome.error;
    const { job, calls, s3Calls } = outcome.value;
    const context = describeStep(job.main);

    expect(job.main.exitCode, context).toBe(1);
    const errors = errorLines(job.main);
    expect(errors, context).toHaveLength(1);
    const error = errors[0] as string;
    for (const name of hostile.names) {
      expect(error, `the error names ${name}`).toMatch(new RegExp(`\\b${name}\\b`));
    }
    expect(error, "the error starts by naming the input").toMatch(/^Inputs? /);
    if (hostile.quotes) expect(error, "the error quotes the bad value").toContain(hostile.quotes);
    for (const mention of hostile.mentions ?? []) expect(error).toMatch(mention);

    expect(calls, "Cloudflare API calls").toBe(0);
    expect(s3Calls, "S3 calls").toBe(0);
    expect(job.main.outputs, "no output on failure").toEqual({});
    expect(job.main.state, "no state on failure").toEqual({});
    expect(job.main.env, "no exported variable on failure").toEqual({});
    for (const step of [job.main, job.post]) {
      expect(step.stdout + step.stderr, "no stack trace").not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    }
    // Post has nothing to revoke and says so quietly.
    expect(job.post.exitCode, describeStep(job.post)).toBe(0);
    expect(errorLines(job.post)).toEqual([]);

    // Secrets: the (valid or hostile) token is masked and never leaks; the lines of a hostile token
    // are printed nowhere, not even masked, and never quoted in the error.
    const given: Record<string, string> = {};
    const token = (hostile.inputs["api-token"] ?? job.main.processEnv["INPUT_API-TOKEN"] ?? "").trim();
    if (token) given["api-token input"] = token;
    const envToken = hostile.env?.CLOUDFLARE_API_TOKEN?.trim();
    if (envToken) given.CLOUDFLARE_API_TOKEN = envToken;
    expect(hygieneProblems(job, { given })).toEqual([]);
    const strict = Object.fromEntries(
      (hostile.secrets ?? []).map((s, i) => [`hostile token line ${i + 1}`, s]),
    );
    if (Object.keys(strict).length > 0) {
      for (const step of [job.main, job.post]) {
        expect(findSecretLeaks(step, strict, { strict: true, requireMask: step.script === "main" })).toEqual(
          [],
        );
      }
      for (const secret of Object.values(strict)) expect(error).not.toContain(secret);
    }
  });
});
