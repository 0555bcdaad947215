// Secret hygiene over every kind of run, with RUNNER_DEBUG=1 (debug lines are where leaks hide):
// success in every mode, failures before and after minting, and every post-step outcome. The exact
// secrets come from the API recorder (helpers/api-recorder.ts) in front of the emulator: the input
// token, every child token value (also the hybrid child's, which never leaves the action), the derived
// secret access key, and temporary secrets and session tokens. helpers/hygiene.ts checks that each is
// masked before anything can carry it and never reaches stderr, state, summary, annotations or the
// post step's output; anything else shaped like a secret is checked as well.
import { describe, expect, test } from "vitest";
import {
  describeStep,
  errorLines,
  type Inputs,
  type JobOptions,
  type JobResult,
  runJob,
  warningLines,
} from "../../scripts/harness/runner.js";
import { bucketName, callsTo, FORBIDDEN_9109, liveChildIds } from "../helpers/emulator.js";
import { hygieneProblems, sha256Hex } from "../helpers/hygiene.js";
import { findSecretLeaks, secretScan } from "../helpers/secret-scan.js";
import { useEmulator } from "../helpers/use-emulator.js";

const fx = useEmulator({ record: true, minters: ["account", "user"] });

function newBucket(label: string, jurisdiction?: "eu"): string {
  const bucket = bucketName(label);
  fx.emulator.createBucket(bucket, jurisdiction);
  return bucket;
}

const kinds = () => fx.recorder.secrets.map((s) => s.kind).sort();

describe("successful runs in every mode leak nothing", () => {
  const cases: [string, () => { options: JobOptions; expectKinds: string[] }][] = [
    [
      "token mode, object-read-write",
      () => ({
        options: { inputs: fx.inputs(newBucket("tok"), { permission: "object-read-write" }) },
        expectKinds: ["child-token-value"],
      }),
    ],
    [
      "token mode, two buckets, object-read-only",
      () => ({
        options: { inputs: fx.inputs(`${newBucket("two-a")},${newBucket("two-b")}`) },
        expectKinds: ["child-token-value"],
      }),
    ],
    [
      "token mode, user-owned child",
      () => ({
        options: { inputs: fx.inputs(newBucket("usr"), { "token-scope": "user" }, fx.userMinter) },
        expectKinds: ["child-token-value"],
      }),
    ],
    [
      "token mode, EU bucket",
      () => ({
        options: {
          inputs: fx.inputs(newBucket("eu", "eu"), {
            jurisdiction: "eu",
            "s3-endpoint": fx.emulator.s3Endpoint("eu"),
          }),
        },
        expectKinds: ["child-token-value"],
      }),
    ],
    [
      "token mode, create-bucket with location-hint",
      () => ({
        options: {
          inputs: fx.inputs(bucketName("created"), { "create-bucket": "true", "location-hint": "weur" }),
        },
        expectKinds: ["child-token-value"],
      }),
    ],
    [
      "token mode, export-env false",
      () => ({
        options: { inputs: fx.inputs(newBucket("noenv"), { "export-env": "false" }) },
        expectKinds: ["child-token-value"],
      }),
    ],
    [
      "token mode, api-token from CLOUDFLARE_API_TOKEN",
      () => ({
        options: {
          inputs: fx.inputs(newBucket("envtok"), { "api-token": "" }),
          env: { CLOUDFLARE_API_TOKEN: fx.minter.value },
        },
        expectKinds: ["child-token-value"],
      }),
    ],
    [
      "hybrid mode, prefixes",
      () => ({
        options: {
          inputs: fx.inputs(newBucket("hyp"), { permission: "object-read-write", prefixes: "logs/,tmp/" }),
        },
        expectKinds: ["child-token-value", "temp-secret-access-key", "temp-session-token"],
      }),
    ],
    [
      "hybrid mode, objects",
      () => ({
        options: { inputs: fx.inputs(newBucket("hyo"), { objects: "a.txt\nb/c.txt" }) },
        expectKinds: ["child-token-value", "temp-secret-access-key", "temp-session-token"],
      }),
    ],
    [
      "hybrid mode, admin-read-write",
      () => ({
        options: { inputs: fx.inputs(newBucket("hya"), { permission: "admin-read-write" }) },
        expectKinds: ["child-token-value", "temp-secret-access-key", "temp-session-token"],
      }),
    ],
    [
      "temporary mode, parent from verify",
      () => ({
        options: { inputs: fx.inputs(newBucket("tmv"), { mode: "temporary", ttl: "15m" }) },
        expectKinds: ["temp-secret-access-key", "temp-session-token"],
      }),
    ],
    [
      "temporary mode, parent-access-key-id",
      () => ({
        options: {
          inputs: fx.inputs(newBucket("tmp"), {
            mode: "temporary",
            "parent-access-key-id": fx.minter.id,
            prefixes: "in/",
          }),
        },
        expectKinds: ["temp-secret-access-key", "temp-session-token"],
      }),
    ],
  ];

  test.each(cases)("%s", async (_name, setup) => {
    const { options, expectKinds } = setup();
    const job = await fx.job(options);
    expect(job.main.exitCode, describeStep(job.main)).toBe(0);
    expect(job.post.exitCode, describeStep(job.post)).toBe(0);
    expect(warningLines(job.post)).toEqual([]);
    // The recorder saw exactly the secrets of the mode, so the scan above checked real values.
    expect(kinds()).toEqual([...expectKinds].sort());
    const child = fx.recorder.secrets.find((s) => s.kind === "child-token-value");
    if (child && job.main.outputs["session-token"] === "") {
      // Token mode: the output is sha256 of the child's value, so the derived secret was checked too.
      expect(job.main.outputs["secret-access-key"]).toBe(sha256Hex(child.value));
    }
    if (child && job.main.outputs["session-token"] !== "") {
      // Hybrid mode: the input token asks on the child's behalf, so the child's value authenticated
      // nothing; it is masked all the same, and never left.
      expect(fx.recorder.bearers.has(child.value)).toBe(false);
      expect(job.main.stdout).toContain(`::add-mask::${child.value}`);
    }
    expect(liveChildIds(fx.emulator)).toEqual([]);
  });
});

describe("failing runs leak nothing", () => {
  test("token creation refused (no permissions)", async () => {
    const weak = fx.emulator.seedToken({ scope: "account", preset: "no-permissions" });
    const job = await fx.job({ inputs: fx.inputs(newBucket("deny"), {}, weak) });
    expect(job.main.exitCode, describeStep(job.main)).toBe(1);
    expect(errorLines(job.main)).toHaveLength(1);
    expect(job.post.exitCode).toBe(0);
  });

  test("a revoked api-token (401)", async () => {
    const gone = fx.emulator.seedToken({ scope: "account", preset: "minter" });
    const deleted = await fetch(`${fx.emulator.apiUrl}/accounts/${fx.emulator.accountId}/tokens/${gone.id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${fx.minter.value}` },
    });
    expect(deleted.status).toBe(200);
    const job = await fx.job({ inputs: fx.inputs(newBucket("revoked"), {}, gone) });
    expect(job.main.exitCode, describeStep(job.main)).toBe(1);
    expect(errorLines(job.main)).toHaveLength(1);
    expect(errorLines(job.main)[0]).toMatch(/401/);
  });

  test("hybrid: temporary credentials refused → the child is deleted by main", async () => {
    fx.emulator.injectFault({
      route: "r2.temp_credentials",
      times: 2,
      kind: FORBIDDEN_9109,
    });
    const job = await fx.job({ inputs: fx.inputs(newBucket("hyref"), { prefixes: "p/" }) });
    expect(job.main.exitCode, describeStep(job.main)).toBe(1);
    expect(errorLines(job.main)).toHaveLength(1);
    // The child existed and its value reached the action: the scan covered it.
    expect(kinds()).toEqual(["child-token-value"]);
    expect(callsTo(fx.emulator, "tokens.delete").map((c) => c.status)).toEqual([200]);
    expect(liveChildIds(fx.emulator)).toEqual([]);
  });

  test("readiness timeout → the child is deleted by main", async () => {
    fx.emulator.set({ propagationDelayMs: 10_000 });
    const job = await fx.job({ inputs: fx.inputs(newBucket("slow"), { "wait-timeout": "1" }) });
    expect(job.main.exitCode, describeStep(job.main)).toBe(1);
    expect(kinds()).toEqual(["child-token-value"]);
    expect(liveChildIds(fx.emulator)).toEqual([]);
  });

  test("hybrid readiness timeout: child, temporary secret and session token all stay hidden", async () => {
    fx.emulator.set({ propagationDelayMs: 10_000 });
    const job = await fx.job({
      inputs: fx.inputs(newBucket("slowhy"), { objects: "x.bin", "wait-timeout": "1" }),
    });
    expect(job.main.exitCode, describeStep(job.main)).toBe(1);
    expect(kinds()).toEqual(["child-token-value", "temp-secret-access-key", "temp-session-token"]);
    expect(liveChildIds(fx.emulator)).toEqual([]);
  });

  test("an input error with a real token in the inputs", async () => {
    const job = await fx.job({ inputs: fx.inputs("Not_A_Bucket") });
    expect(job.main.exitCode).toBe(1);
    expect(errorLines(job.main)).toHaveLength(1);
    expect(fx.emulator.calls).toEqual([]);
  });
});

describe("post step outcomes leak nothing", () => {
  test("revoked", async () => {
    const job = await fx.job({ inputs: fx.inputs(newBucket("prev")) });
    expect(job.post.exitCode).toBe(0);
    expect(job.post.stdout).toMatch(/Revoked child token [0-9a-f]{32}/);
  });

  test("revoke false (the test deletes the child itself)", async () => {
    const job = await fx.job({ inputs: fx.inputs(newBucket("pkeep"), { revoke: "false" }) });
    expect(job.post.stdout).toMatch(/Revocation skipped/);
    expect(await fx.cleanUp()).toEqual([job.main.outputs["token-id"]]);
  });

  test("temporary credentials (nothing to revoke)", async () => {
    const job = await fx.job({ inputs: fx.inputs(newBucket("ptmp"), { mode: "temporary" }) });
    expect(job.post.exitCode).toBe(0);
    expect(job.post.stdout).toMatch(/cannot be revoked/);
  });

  test("the delete fails for good → a warning without secrets (the test deletes the child)", async () => {
    fx.emulator.injectFault({ route: "tokens.delete", kind: { type: "success-false" } });
    const job = await fx.job({ inputs: fx.inputs(newBucket("pfail")) });
    expect(job.main.exitCode).toBe(0);
    expect(job.post.exitCode).toBe(0);
    expect(warningLines(job.post)).toHaveLength(1);
    expect(await fx.cleanUp()).toEqual([job.main.outputs["token-id"]]);
  });

  test("post with an api-token given only through CLOUDFLARE_API_TOKEN", async () => {
    const options = {
      inputs: fx.inputs(newBucket("penv"), { "api-token": "" }),
      env: { CLOUDFLARE_API_TOKEN: fx.minter.value },
    };
    const job = await fx.job(options);
    expect(job.post.stdout).toMatch(/Revoked child token/);
  });
});

describe("multi-line values", () => {
  // A token with a newline is refused before any call; the runner masks each of its lines, and
  // neither line may be printed anywhere, not even masked (strict), nor reach the error.
  const lines = (): [string, string] => [
    fx.emulator.seedToken({ scope: "account", preset: "minter" }).value,
    fx.emulator.seedToken({ scope: "account", preset: "minter" }).value,
  ];

  test.each<[string, (a: string, b: string) => Inputs]>([
    ["api-token input with a newline", (a, b) => ({ "api-token": `${a}\n${b}` })],
    ["api-token input with CRLF", (a, b) => ({ "api-token": `${a}\r\n${b}` })],
    ["api-token with a trailing newline and spaces", (a, b) => ({ "api-token": ` ${a} \n ${b}\n` })],
  ])("%s: refused, each line masked, never printed", async (_name, make) => {
    const [a, b] = lines();
    const inputs = fx.inputs(newBucket("ml"), make(a, b));
    fx.recorder.reset();
    const job = await runJob({ inputs, debug: true });
    expect(job.main.exitCode, describeStep(job.main)).toBe(1);
    const errors = errorLines(job.main);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/api-token/);
    expect(fx.emulator.calls).toEqual([]);
    // Each line is a secret of its own: masked by main, printed nowhere (strict), in no file.
    secretScan(job, { "token line 1": a, "token line 2": b }, { strict: true });
    // And the value as a whole, as the runner saw it.
    const raw = inputs["api-token"] as string;
    expect(findSecretLeaks(job.main, { "whole multi-line token": raw.trim() }, { strict: true })).toEqual([]);
    expect(hygieneProblems(job, { given: { "token line 1": a, "token line 2": b } })).toEqual([]);
  });

  test("CLOUDFLARE_API_TOKEN with a newline: refused, never printed", async () => {
    const [a, b] = lines();
    const job = await runJob({
      inputs: fx.inputs(newBucket("mlenv"), { "api-token": "" }),
      env: { CLOUDFLARE_API_TOKEN: `${a}\n${b}` },
      debug: true,
    });
    expect(job.main.exitCode, describeStep(job.main)).toBe(1);
    expect(errorLines(job.main)).toHaveLength(1);
    expect(fx.emulator.calls).toEqual([]);
    secretScan(job, { "env token line 1": a, "env token line 2": b }, { strict: true });
  });
});

describe("the checks themselves catch leaks", () => {
  // Guards against a scan that passes because it looks at nothing.
  test("hygieneProblems reports an unmasked child value and an unknown token-shaped value", async () => {
    const job = await fx.job({ inputs: fx.inputs(newBucket("self")) });
    const child = fx.recorder.secrets[0];
    expect(child?.kind).toBe("child-token-value");
    const tampered: JobResult = {
      ...job,
      main: {
        ...job.main,
        stdout: `leak ${child?.value}\n${job.main.stdout}`,
        files: {
          ...job.main.files,
          raw: { ...job.main.files.raw, summary: "cfat_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn0123abcd" },
        },
      },
    };
    const problems = hygieneProblems(tampered, {
      given: { token: fx.minter.value },
      recorded: fx.recorder.secrets,
    });
    expect(problems.join("\n")).toMatch(/child-token-value of [0-9a-f]{32} printed before its ::add-mask::/);
    expect(problems.join("\n")).toMatch(/job summary carries unknown secret-shaped value/);
  });
});
