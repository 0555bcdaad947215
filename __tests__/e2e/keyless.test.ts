// Keyless mode end to end: the bundled action (dist/main, dist/post), driven the way the GitHub
// runner drives it, with no Cloudflare secret at all. It gets an OIDC token from a loopback stand-in
// for the runner's ID-token endpoint (helpers/id-token-endpoint.ts, signed by the local issuer with
// GitHub's claims for the harness job), and mints and revokes through the vending Worker running in
// workerd (Miniflare), which holds the only API token and mints on the project's emulator.
//
// The Worker sits behind a loopback "front door" (a custom domain in front of it, as it were): its
// AUDIENCE must be known before it starts, and the action's default audience is the vending-url's
// origin, so the front door's origin is both. The front door also records every call to the Worker.
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { parse as parseYaml } from "yaml";
import {
  describeStep,
  errorLines,
  type Inputs,
  jobContext,
  repoRoot,
  runMain,
  runPost,
  type StepOptions,
  type StepResult,
  warningLines,
} from "../../scripts/harness/runner.js";
import { parsePolicy } from "../../worker/src/policy.js";
import { bucketName, callSequence, emulatorInputs, liveChildIds } from "../helpers/emulator.js";
import { hygieneProblems } from "../helpers/hygiene.js";
import { type IdTokenEndpoint, jobClaims, startIdTokenEndpoint } from "../helpers/id-token-endpoint.js";
import { githubIdOf, type OidcIssuer, startOidcIssuer } from "../helpers/oidc-issuer.js";
import { getText, putText, s3ClientFromOutputs } from "../helpers/s3.js";
import { findSecretLeaks } from "../helpers/secret-scan.js";
import { useEmulator } from "../helpers/use-emulator.js";
import { startVendingWorker, type VendingWorker } from "../helpers/vending-worker.js";

const emu = useEmulator();

/** A loopback reverse proxy in front of the Worker that records each call (method, path, status). */
interface FrontDoor {
  readonly url: string;
  readonly calls: { method: string; path: string; status: number }[];
  /** How long the Worker took to answer each call, in ms (same order as calls). */
  readonly timings: number[];
  /** Rewrites the body of the next answer to `path` (a Worker answering in a shape the action does not know). */
  rewriteNext(path: string, rewrite: (json: Record<string, unknown>) => unknown): void;
  close(): Promise<void>;
}

async function startFrontDoor(): Promise<FrontDoor & { target: (url: string) => void }> {
  let target = "";
  let rewrite: { path: string; rewrite: (json: Record<string, unknown>) => unknown } | undefined;
  const calls: FrontDoor["calls"] = [];
  const timings: number[] = [];
  const body = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };
  const server: Server = createServer((req, res) => {
    const call = { method: req.method ?? "", path: req.url ?? "", status: 0 };
    calls.push(call);
    (async () => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === "string" && !["host", "connection", "content-length"].includes(name))
          headers.set(name, value);
      }
      const payload = req.method === "GET" || req.method === "HEAD" ? undefined : await body(req);
      const started = performance.now();
      const answer = await fetch(`${target}${req.url}`, { method: req.method, headers, body: payload });
      let text = Buffer.from(await answer.arrayBuffer());
      if (rewrite && rewrite.path === req.url) {
        text = Buffer.from(JSON.stringify(rewrite.rewrite(JSON.parse(text.toString()))));
        rewrite = undefined;
      }
      timings[calls.indexOf(call)] = Math.round(performance.now() - started);
      call.status = answer.status;
      const out: Record<string, string> = {};
      answer.headers.forEach((value, name) => {
        if (!["content-length", "content-encoding", "transfer-encoding", "connection"].includes(name))
          out[name] = value;
      });
      res.writeHead(answer.status, out);
      res.end(text);
    })().catch((error: unknown) => {
      call.status = 599;
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`front door: ${String(error)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    timings,
    rewriteNext: (path, fn) => {
      rewrite = { path, rewrite: fn };
    },
    target: (url) => {
      target = url;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const REPO = jobContext.GITHUB_REPOSITORY;
/** The id the job's OIDC tokens carry for the repository (helpers/oidc-issuer.ts derives it from the name). */
const REPO_ID = githubIdOf(REPO);
const RUN = `${jobContext.GITHUB_RUN_ID}.${jobContext.GITHUB_RUN_ATTEMPT}`;
/** An audience that is not a URL's origin, for the Worker reached with an explicit audience input. */
const EXPLICIT_AUDIENCE = "r2-vending.octo-org.example";
const TO_ISO_STRING = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ALL_OUTPUTS = [
  "access-key-id",
  "aws-profile",
  "bucket",
  "endpoint",
  "expires-at",
  "region",
  "secret-access-key",
  "session-token",
  "token-id",
];
let issuer: OidcIssuer;
let idTokens: IdTokenEndpoint;
let front: FrontDoor;
let worker: VendingWorker;
/** A second Worker whose AUDIENCE is not its origin: callers must set the audience input. */
let explicitFront: FrontDoor;
let explicitWorker: VendingWorker;

const POLICY = {
  rules: [
    {
      repository: REPO,
      repository_id: REPO_ID,
      ref: "refs/heads/main",
      buckets: ["kl-*"],
      permissions: ["object-read-write", "object-read-only"],
      max_ttl: "2h",
    },
    {
      repository: REPO,
      repository_id: REPO_ID,
      ref: "refs/heads/main",
      buckets: ["klp-*"],
      permissions: ["object-read-write"],
      prefixes: ["pipelines/"],
      max_ttl: "1h",
    },
    {
      // Every repository of the owner, each under its own id and branch: the Worker fills the prefix.
      repository_owner_id: githubIdOf(REPO.split("/")[0] as string),
      buckets: ["klf-*"],
      permissions: ["object-read-write"],
      prefixes: ["{repository_id}/{ref_name}/"],
      max_ttl: "1h",
    },
  ],
};

beforeAll(async () => {
  issuer = await startOidcIssuer();
  idTokens = await startIdTokenEndpoint(issuer);
  const door = await startFrontDoor();
  front = door;
  worker = await startVendingWorker({
    emulator: emu.emulator,
    issuer: issuer.issuer,
    apiToken: emu.minter.value,
    policy: POLICY,
    vars: { AUDIENCE: front.url },
  });
  door.target(worker.url);
  const explicitDoor = await startFrontDoor();
  explicitFront = explicitDoor;
  explicitWorker = await startVendingWorker({
    emulator: emu.emulator,
    issuer: issuer.issuer,
    apiToken: emu.minter.value,
    policy: POLICY,
    vars: { AUDIENCE: EXPLICIT_AUDIENCE },
  });
  explicitDoor.target(explicitWorker.url);
});

afterAll(async () => {
  await front?.close();
  await explicitFront?.close();
  await worker?.dispose();
  await explicitWorker?.dispose();
  await idTokens?.close();
  await issuer?.close();
});

beforeEach(() => {
  idTokens.reset();
  front.calls.length = 0;
  front.timings.length = 0;
  explicitFront.calls.length = 0;
});

function newBucket(label: string): string {
  const bucket = bucketName(label);
  emu.emulator.createBucket(bucket);
  return bucket;
}

/** Keyless inputs: vending-url and the minting inputs only; no api-token, no account-id. */
function keylessInputs(bucket: string, overrides: Inputs = {}): Inputs {
  return { "vending-url": front.url, bucket, ...overrides };
}

/** The runner's env for a job with `permissions: id-token: write`, and nothing Cloudflare. */
function oidcEnv(): Record<string, string> {
  return { ...idTokens.env };
}

/** Runs main, then post with main's state and env, and says which ID tokens each step was given. */
async function keylessJob(options: StepOptions & { post?: StepOptions }) {
  const { post: postOptions, ...shared } = options;
  const main = await runMain(shared);
  const mainTokens = idTokens.tokens();
  const mainFrontCalls = [...front.calls];
  const post = await runPost({
    ...shared,
    ...postOptions,
    env: { ...main.env, ...shared.env, ...postOptions?.env },
    state: main.state,
  });
  const postTokens = idTokens.tokens().slice(mainTokens.length);
  return { main, post, mainTokens, postTokens, mainFrontCalls };
}

/**
 * Secret hygiene of a keyless run: the step's OIDC tokens, the credentials main published, the
 * Worker's API token and the runner's request token. A step must mask the OIDC tokens it was given
 * and the credentials it published (main), never put them in state, summary, stderr or annotations;
 * the API token and the request token must never appear anywhere.
 */
function keylessLeaks(
  step: StepResult,
  oidcTokens: string[],
  published: Record<string, string> = {},
): string[] {
  const mustMask: Record<string, string> = {};
  oidcTokens.forEach((token, index) => {
    mustMask[`OIDC token #${index + 1} of ${step.script}`] = token;
  });
  for (const name of ["secret-access-key", "session-token"]) {
    const value = published[name];
    if (value) mustMask[`${name} output`] = value;
  }
  const problems: string[] = [];
  if (Object.keys(mustMask).length > 0)
    problems.push(...findSecretLeaks(step, mustMask, { requireMask: true }));
  problems.push(
    ...findSecretLeaks(
      step,
      { "the Worker's API token": emu.minter.value, "the runner's request token": idTokens.requestToken },
      { requireMask: false, strict: true },
    ),
  );
  // The OIDC tokens are secrets: never in state or summary, whatever the masks.
  for (const token of oidcTokens) {
    if (step.files.raw.state.includes(token)) problems.push(`${step.script} state carries an OIDC token`);
    if (step.files.raw.summary.includes(token)) problems.push(`${step.script} summary carries an OIDC token`);
    if (step.files.raw.output.includes(token)) problems.push(`${step.script} outputs carry an OIDC token`);
    if (step.files.raw.env.includes(token)) problems.push(`${step.script} env carries an OIDC token`);
  }
  return problems;
}

/** The Worker's JSON log lines (events), parsed. */
function workerEvents(w: VendingWorker): Record<string, unknown>[] {
  return w.logs.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

describe("keyless: mint through the vending Worker", () => {
  test("token mode: outputs, env and state; an upload works; post revokes through the Worker", async () => {
    const bucket = newBucket("kl-assets");
    const other = newBucket("kl-other");
    const inputs = keylessInputs(bucket, { permission: "object-read-write", ttl: "30m" });
    const logsBefore = worker.logs.length;

    const main = await runMain({ inputs, env: oidcEnv(), debug: true });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(errorLines(main)).toEqual([]);
    expect(warningLines(main)).toEqual([]);

    // One ID token, for the vending-url's origin (the default audience), with the request token.
    expect(idTokens.requests.map((r) => [r.method, r.audience, r.authorized, r.status])).toEqual([
      ["GET", front.url, true, 200],
    ]);
    const [oidcToken] = idTokens.tokens();
    // One call to the Worker, the mint; the Worker made one Cloudflare call (the create); the action
    // itself made none (it has no API token), only its readiness probe at S3.
    expect(front.calls).toEqual([{ method: "POST", path: "/v1/mint", status: 200 }]);
    expect(callSequence(emu.emulator)).toEqual(["tokens.create 200"]);

    // The child is named for the repository and run from the claims.
    const children = emu.emulator.liveChildTokens();
    expect(children).toHaveLength(1);
    const child = children[0];
    expect(child?.name).toMatch(
      new RegExp(
        `^r2-ephemeral ${REPO} run ${RUN.replace(".", "\\.")} ${jobContext.GITHUB_WORKFLOW} [0-9a-f]{8}$`,
      ),
    );

    // Outputs: every declared output; token credentials; the S3 endpoint the Worker named.
    const outputs = main.outputs;
    expect(Object.keys(outputs).sort()).toEqual(ALL_OUTPUTS);
    expect(outputs["token-id"]).toBe(child?.id);
    expect(outputs["aws-profile"]).toBe("");
    expect(outputs["access-key-id"]).toBe(child?.id);
    expect(outputs["secret-access-key"]).toMatch(/^[0-9a-f]{64}$/);
    expect(outputs["session-token"]).toBe("");
    expect(outputs.endpoint).toBe(emu.emulator.s3Endpoint().replace(/\/+$/, ""));
    expect(outputs.region).toBe("auto");
    expect(outputs.bucket).toBe(bucket);
    expect(outputs["expires-at"]).toMatch(TO_ISO_STRING);
    const lifetime = Date.parse(outputs["expires-at"] as string) - Date.now();
    expect(lifetime).toBeGreaterThan(25 * 60_000);
    expect(lifetime).toBeLessThanOrEqual(30 * 60_000 + 1_000);
    // The secret is masked before it is written anywhere.
    expect(main.stdout).toContain(`::add-mask::${outputs["secret-access-key"]}`);

    expect(main.env).toEqual({
      AWS_ACCESS_KEY_ID: child?.id,
      AWS_SECRET_ACCESS_KEY: outputs["secret-access-key"],
      AWS_SESSION_TOKEN: "",
      AWS_ENDPOINT_URL_S3: outputs.endpoint,
      AWS_REGION: "auto",
      AWS_DEFAULT_REGION: "auto",
      // The expiry for SDKs that refresh, and the checksum settings R2 needs (none set by the job).
      AWS_CREDENTIAL_EXPIRATION: outputs["expires-at"],
      AWS_REQUEST_CHECKSUM_CALCULATION: "when_required",
      AWS_RESPONSE_CHECKSUM_VALIDATION: "when_required",
    });

    // State: identifiers only, what the post step needs to revoke through the Worker.
    expect(main.state).toEqual({
      revoker: "vending-worker",
      "token-id": child?.id,
      "vending-url": front.url,
      audience: front.url,
      "expires-at": outputs["expires-at"],
      revoke: "true",
    });

    // The OIDC token is a secret: masked, and nowhere but in that mask.
    expect(oidcToken).toBeDefined();
    expect(main.stdout).toContain(`::add-mask::${oidcToken}`);
    expect(keylessLeaks(main, idTokens.tokens(), outputs)).toEqual([]);
    // And the general check: anything else shaped like a secret is an unknown secret.
    expect(hygieneProblems(main, { given: { "OIDC token": oidcToken as string } })).toEqual([]);
    expect(main.summary).toContain(outputs["token-id"]);
    expect(main.summary).toContain(bucket);

    // The credentials work on the bucket, and only there.
    const s3 = s3ClientFromOutputs(outputs);
    expect(await putText(s3, bucket, "build/app.js", "console.log(1)")).toMatchObject({ ok: true });
    expect(await getText(s3, bucket, "build/app.js")).toMatchObject({ ok: true, body: "console.log(1)" });
    expect(await putText(s3, other, "build/app.js", "x")).toMatchObject({ ok: false, status: 403 });

    // Post: a fresh OIDC token, then POST /v1/revoke; the Worker reads and deletes the child.
    const mainTokens = idTokens.tokens();
    emu.emulator.resetCalls();
    front.calls.length = 0;
    const post = await runPost({
      inputs,
      env: { ...oidcEnv(), ...main.env },
      state: main.state,
      debug: true,
    });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(warningLines(post)).toEqual([]);
    expect(errorLines(post)).toEqual([]);
    expect(idTokens.requests.slice(1).map((r) => [r.audience, r.authorized, r.status])).toEqual([
      [front.url, true, 200],
    ]);
    const postTokens = idTokens.tokens().slice(mainTokens.length);
    expect(postTokens).toHaveLength(1);
    expect(postTokens[0]).not.toBe(oidcToken);
    expect(front.calls).toEqual([{ method: "POST", path: "/v1/revoke", status: 200 }]);
    expect(callSequence(emu.emulator)).toEqual(["tokens.get 200", "tokens.delete 200"]);
    expect(liveChildIds(emu.emulator)).toEqual([]);
    expect(post.stdout).toContain(`Revoked child token ${child?.id}`);
    expect(post.summary).toContain(`token \`${child?.id}\` revoked`);
    expect(keylessLeaks(post, postTokens, {})).toEqual([]);
    expect(hygieneProblems(post, { given: { "post's OIDC token": postTokens[0] as string } })).toEqual([]);
    // The post step never prints main's secrets, not even masked.
    expect(
      findSecretLeaks(post, { secret: outputs["secret-access-key"] as string, oidc: oidcToken as string }),
    ).toEqual([]);

    const refused = await getText(s3, bucket, "build/app.js");
    expect(refused.ok).toBe(false);
    expect([401, 403]).toContain(refused.status);
    s3.destroy();

    // The Worker's own log lines name repository, run, bucket and token id for both calls.
    const events = workerEvents(worker).slice(0);
    const minted = events.find((e) => e.event === "mint.ok" && e.token_id === child?.id);
    const revoked = events.find((e) => e.event === "revoke.ok" && e.token_id === child?.id);
    expect(minted, worker.logs.slice(logsBefore).join("\n")).toMatchObject({
      repository: REPO,
      run: RUN,
      bucket,
    });
    expect(revoked, worker.logs.slice(logsBefore).join("\n")).toMatchObject({ repository: REPO, run: RUN });
    for (const line of worker.logs) {
      expect(line).not.toContain(oidcToken);
      expect(line).not.toContain(outputs["secret-access-key"]);
      expect(line).not.toContain(emu.minter.value);
    }
  });

  test("an explicit audience input: the ID token is requested for it, main and post", async () => {
    const bucket = newBucket("kl-aud");
    const inputs = { "vending-url": explicitFront.url, audience: EXPLICIT_AUDIENCE, bucket };
    const { main, post, mainTokens, postTokens } = await keylessJob({ inputs, env: oidcEnv() });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(idTokens.requests.map((r) => [r.audience, r.status])).toEqual([
      [EXPLICIT_AUDIENCE, 200],
      [EXPLICIT_AUDIENCE, 200],
    ]);
    expect(main.state.audience).toBe(EXPLICIT_AUDIENCE);
    expect(main.state["vending-url"]).toBe(explicitFront.url);
    expect(explicitFront.calls.map((c) => `${c.path} ${c.status}`)).toEqual([
      "/v1/mint 200",
      "/v1/revoke 200",
    ]);
    expect(front.calls).toEqual([]);
    expect(liveChildIds(emu.emulator)).toEqual([]);
    expect(keylessLeaks(main, mainTokens, main.outputs)).toEqual([]);
    expect(keylessLeaks(post, postTokens)).toEqual([]);
  });

  test("without the audience input, a Worker whose AUDIENCE is not its origin refuses: wrong_audience, with the fix", async () => {
    const bucket = newBucket("kl-noaud");
    const main = await runMain({ inputs: { "vending-url": explicitFront.url, bucket }, env: oidcEnv() });
    expect(main.exitCode).not.toBe(0);
    expect(idTokens.requests.map((r) => r.audience)).toEqual([explicitFront.url]);
    // Refused once (401 is not retried), nothing minted, nothing to revoke.
    expect(explicitFront.calls.map((c) => `${c.path} ${c.status}`)).toEqual(["/v1/mint 401"]);
    expect(callSequence(emu.emulator)).toEqual([]);
    const errors = errorLines(main);
    expect(errors, describeStep(main)).toHaveLength(1);
    expect(errors[0]).toContain("wrong_audience");
    expect(errors[0]).toContain("audience");
    expect(main.state["token-id"] ?? "").toBe("");
    expect(keylessLeaks(main, idTokens.tokens())).toEqual([]);
  });

  test("hybrid through the Worker (prefixes): writes outside the prefix are refused; post revokes", async () => {
    const bucket = newBucket("klp-data");
    const inputs = keylessInputs(bucket, {
      permission: "object-read-write",
      prefixes: "pipelines/nightly/",
      ttl: "20m",
    });
    const main = await runMain({ inputs, env: oidcEnv() });
    expect(main.exitCode, describeStep(main)).toBe(0);
    const mainTokens = idTokens.tokens();
    // The Worker creates the child and its temporary credentials; the action then probes S3.
    expect(callSequence(emu.emulator)).toEqual(["tokens.create 200", "r2.temp_credentials 200"]);
    const outputs = main.outputs;
    expect(outputs["session-token"]).not.toBe("");
    expect(outputs["token-id"]).toMatch(/^[0-9a-f]{32}$/);
    expect(outputs["access-key-id"]).not.toBe(outputs["token-id"]);
    expect(main.env.AWS_SESSION_TOKEN).toBe(outputs["session-token"]);
    expect(main.stdout).toContain(`::add-mask::${outputs["session-token"]}`);
    expect(main.state).toMatchObject({ revoker: "vending-worker", "token-id": outputs["token-id"] });
    expect(keylessLeaks(main, mainTokens, outputs)).toEqual([]);

    const s3 = s3ClientFromOutputs(outputs);
    expect(await putText(s3, bucket, "pipelines/nightly/part-0.csv", "rows")).toMatchObject({ ok: true });
    expect(await getText(s3, bucket, "pipelines/nightly/part-0.csv")).toMatchObject({
      ok: true,
      body: "rows",
    });
    expect(await putText(s3, bucket, "pipelines/weekly/part-0.csv", "rows")).toMatchObject({
      ok: false,
      status: 403,
    });
    expect(await putText(s3, bucket, "top-level.csv", "rows")).toMatchObject({ ok: false, status: 403 });

    emu.emulator.resetCalls();
    const post = await runPost({ inputs, env: { ...oidcEnv(), ...main.env }, state: main.state });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(warningLines(post)).toEqual([]);
    expect(callSequence(emu.emulator)).toEqual(["tokens.get 200", "tokens.delete 200"]);
    expect(liveChildIds(emu.emulator)).toEqual([]);
    expect(keylessLeaks(post, idTokens.tokens().slice(mainTokens.length))).toEqual([]);
    // Deleting the child kills its temporary credentials.
    expect(await putText(s3, bucket, "pipelines/nightly/part-1.csv", "rows")).toMatchObject({ ok: false });
    s3.destroy();
  });
});

describe("keyless: the Worker's narrowing", () => {
  test("a request the Worker narrows (a rule's filled prefix): the readiness probe lies under it, the summary names it, outputs as usual", async () => {
    emu.emulator.set({ propagationDelayMs: 600 });
    const bucket = newBucket("klf-shared");
    const inputs = keylessInputs(bucket, { permission: "object-read-write", ttl: "30m" });
    const main = await runMain({ inputs, env: oidcEnv() });
    const mainTokens = idTokens.tokens();
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(warningLines(main)).toEqual([]);
    const filled = `${REPO_ID}/main/`;

    // Hybrid: the Worker narrowed the whole-bucket request to the rule's prefix, filled from the token.
    expect(main.outputs["session-token"]).not.toBe("");
    expect(main.stdout).toContain(
      `The vending Worker's policy narrowed the credentials to prefix ${filled}.`,
    );
    // Every readiness probe the S3 endpoint saw was a GET under that prefix, and the last one passed:
    // a probe at the bucket's root would be refused until wait-timeout.
    const probes = emu.emulator.s3Calls.filter((call) => call.accessKeyId === main.outputs["access-key-id"]);
    expect(probes.length).toBeGreaterThan(0);
    for (const probe of probes) {
      expect(probe).toMatchObject({ method: "GET", bucket });
      expect(probe.key.startsWith(`${filled}r2-ephemeral-readiness-`), probe.key).toBe(true);
    }
    expect(probes.at(-1)?.status).toBe(404);
    expect(main.stdout).toMatch(/The S3 endpoint accepted the credentials after \d+ ms/);
    // The job summary's narrowing row says what the credentials hold, and who narrowed them.
    expect(main.summary).toContain(`| Narrowing | prefix \`${filled}\` (by the vending Worker's policy) |`);
    // No new outputs.
    expect(Object.keys(main.outputs).sort()).toEqual(ALL_OUTPUTS);

    const s3 = s3ClientFromOutputs(main.outputs);
    expect(await putText(s3, bucket, `${filled}part-0.csv`, "rows")).toMatchObject({ ok: true });
    expect(
      await putText(s3, bucket, `${githubIdOf("octo-org/other")}/main/part-0.csv`, "rows"),
    ).toMatchObject({
      ok: false,
      status: 403,
    });
    s3.destroy();
    const post = await runPost({ inputs, env: { ...oidcEnv(), ...main.env }, state: main.state });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(liveChildIds(emu.emulator)).toEqual([]);
    expect(keylessLeaks(main, mainTokens, main.outputs)).toEqual([]);
  });

  test("as fast as a request the workflow narrows itself: the same probes, the same summary row but for who narrowed", async () => {
    emu.emulator.set({ propagationDelayMs: 600 });
    const filled = `${REPO_ID}/main/`;
    const workerInputs = keylessInputs(newBucket("klf-fast"), {
      permission: "object-read-write",
      ttl: "30m",
    });
    const workflowInputs = keylessInputs(newBucket("klf-fast"), {
      permission: "object-read-write",
      ttl: "30m",
      prefixes: filled,
    });
    const byWorker = await runMain({ inputs: workerInputs, env: oidcEnv() });
    const byWorkflow = await runMain({ inputs: workflowInputs, env: oidcEnv() });
    for (const main of [byWorker, byWorkflow]) expect(main.exitCode, describeStep(main)).toBe(0);
    expect(byWorkflow.summary).toContain(`| Narrowing | prefix \`${filled}\` |`);
    expect(byWorkflow.stdout).not.toContain("narrowed the credentials");
    // Both waited out the same 600 ms of propagation, neither the whole wait-timeout.
    const waited = (main: StepResult) =>
      Number(/accepted the credentials after (\d+) ms/.exec(main.stdout)?.[1] ?? Number.NaN);
    for (const main of [byWorker, byWorkflow]) {
      expect(waited(main)).toBeGreaterThanOrEqual(500);
      expect(waited(main)).toBeLessThan(5_000);
    }
    for (const [main, inputs] of [
      [byWorker, workerInputs],
      [byWorkflow, workflowInputs],
    ] as const) {
      const post = await runPost({ inputs, env: { ...oidcEnv(), ...main.env }, state: main.state });
      expect(post.exitCode, describeStep(post)).toBe(0);
    }
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });
});

describe("keyless: what the workflow must grant", () => {
  test("without ACTIONS_ID_TOKEN_REQUEST_URL, main fails with one error naming permissions: id-token: write; no call to the Worker", async () => {
    const bucket = newBucket("kl-noperm");
    const main = await runMain({ inputs: keylessInputs(bucket) });
    expect(main.exitCode).not.toBe(0);
    const errors = errorLines(main);
    expect(errors, describeStep(main)).toHaveLength(1);
    expect(errors[0]).toContain("permissions: id-token: write");
    expect(front.calls).toEqual([]);
    expect(idTokens.requests).toEqual([]);
    expect(callSequence(emu.emulator)).toEqual([]);
    expect(main.state["token-id"] ?? "").toBe("");
    expect(main.outputs).toEqual({});

    const post = await runPost({ inputs: keylessInputs(bucket), state: main.state });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(warningLines(post)).toEqual([]);
    expect(front.calls).toEqual([]);
  });

  test("the runner's ID-token endpoint refusing the request (403) reads the same way", async () => {
    const bucket = newBucket("kl-refused");
    idTokens.refuseWith(403);
    const main = await runMain({ inputs: keylessInputs(bucket), env: oidcEnv() });
    expect(main.exitCode).not.toBe(0);
    const errors = errorLines(main);
    expect(errors, describeStep(main)).toHaveLength(1);
    expect(errors[0]).toContain("permissions: id-token: write");
    expect(front.calls).toEqual([]);
    expect(callSequence(emu.emulator)).toEqual([]);
    expect(keylessLeaks(main, [])).toEqual([]);
  });
});

describe("keyless: refusals surface clearly", () => {
  test("a repository not in the policy: one error with the Worker's code and message, nothing minted", async () => {
    const bucket = newBucket("kl-foreign");
    // A fork under another owner: same name, another owner and id.
    idTokens.setClaims({ repository: "octo-fork/octo-repo" });
    const inputs = keylessInputs(bucket);
    const { main, post, mainTokens } = await keylessJob({ inputs, env: oidcEnv() });
    expect(main.exitCode).not.toBe(0);
    const errors = errorLines(main);
    expect(errors, describeStep(main)).toHaveLength(1);
    expect(errors[0]).toContain("HTTP 403");
    expect(errors[0]).toContain("policy_denied");
    expect(errors[0]).toContain("repository octo-fork/octo-repo is not in the policy");
    // Refused once, not retried; no Cloudflare call; nothing for post to do.
    expect(front.calls).toEqual([{ method: "POST", path: "/v1/mint", status: 403 }]);
    expect(callSequence(emu.emulator)).toEqual([]);
    expect(liveChildIds(emu.emulator)).toEqual([]);
    expect(main.state["token-id"] ?? "").toBe("");
    expect(main.outputs).toEqual({});
    expect(main.env).toEqual({});
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(post.stdout).toContain("Nothing to revoke");
    expect(idTokens.requests).toHaveLength(1);
    expect(keylessLeaks(main, mainTokens)).toEqual([]);
  });

  test("a bucket beyond the policy: policy_denied naming the bucket, nothing minted", async () => {
    const bucket = newBucket("notkl");
    const main = await runMain({ inputs: keylessInputs(bucket), env: oidcEnv() });
    expect(main.exitCode).not.toBe(0);
    const errors = errorLines(main);
    expect(errors, describeStep(main)).toHaveLength(1);
    expect(errors[0]).toContain("policy_denied");
    expect(errors[0]).toContain(bucket);
    expect(callSequence(emu.emulator)).toEqual([]);
  });

  test("a readiness timeout (propagation 10 s, wait-timeout 2): main revokes through the Worker; nothing alive before post", async () => {
    emu.emulator.set({ propagationDelayMs: 10_000 });
    const bucket = newBucket("kl-slow");
    const inputs = keylessInputs(bucket, { "wait-timeout": "2" });
    const main = await runMain({ inputs, env: oidcEnv() });
    expect(main.exitCode).not.toBe(0);
    expect(main.durationMs).toBeLessThan(9_000);
    const errors = errorLines(main);
    expect(errors, describeStep(main)).toHaveLength(1);
    expect(errors[0]).toMatch(/2 s|wait-timeout/);
    // Minted, then revoked through the Worker with a second OIDC token, within main.
    expect(front.calls.map((c) => `${c.path} ${c.status}`)).toEqual(["/v1/mint 200", "/v1/revoke 200"]);
    expect(callSequence(emu.emulator)).toEqual(["tokens.create 200", "tokens.get 200", "tokens.delete 200"]);
    expect(idTokens.requests.map((r) => [r.audience, r.status])).toEqual([
      [front.url, 200],
      [front.url, 200],
    ]);
    expect(liveChildIds(emu.emulator)).toEqual([]);
    expect(main.stdout).toMatch(/Revoked child token [0-9a-f]{32} through the vending Worker/);
    // Main published nothing and left post nothing to revoke.
    expect(main.outputs).toEqual({});
    expect(main.env).toEqual({});
    expect(main.state["token-id"]).toBe("");
    expect(keylessLeaks(main, idTokens.tokens())).toEqual([]);

    emu.emulator.resetCalls();
    front.calls.length = 0;
    const post = await runPost({ inputs, env: oidcEnv(), state: main.state });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(warningLines(post)).toEqual([]);
    expect(post.stdout).toContain("Nothing to revoke");
    expect(front.calls).toEqual([]);
    expect(callSequence(emu.emulator)).toEqual([]);
  });
});

describe("keyless: main cannot revoke what it minted", () => {
  test("readiness timeout, then no OIDC token for the revoke: main says so, keeps the token id, and post revokes", async () => {
    emu.emulator.set({ propagationDelayMs: 10_000 });
    const bucket = newBucket("kl-keep");
    const inputs = keylessInputs(bucket, { "wait-timeout": "1" });
    // The first token (the mint's) is handed out; the runner refuses the next one (main's revoke).
    idTokens.refuseWith(403, 1);
    const main = await runMain({ inputs, env: oidcEnv() });
    expect(main.exitCode).not.toBe(0);
    const errors = errorLines(main);
    expect(errors, describeStep(main)).toHaveLength(1);
    expect(errors[0]).toContain("did not accept the new credentials");
    expect(front.calls.map((c) => `${c.path} ${c.status}`)).toEqual(["/v1/mint 200"]);
    expect(idTokens.requests.map((r) => r.status)).toEqual([200, 403]);
    const [child] = liveChildIds(emu.emulator);
    expect(child).toMatch(/^[0-9a-f]{32}$/);
    expect(warningLines(main).join("\n")).toContain(`Could not revoke child token ${child}`);
    // The token id stays in state, so the post step (post-if: always()) can still revoke it.
    expect(main.state).toMatchObject({
      revoker: "vending-worker",
      "token-id": child,
      "vending-url": front.url,
    });
    expect(keylessLeaks(main, idTokens.tokens())).toEqual([]);

    idTokens.refuseWith(undefined);
    emu.emulator.resetCalls();
    front.calls.length = 0;
    const post = await runPost({ inputs, env: oidcEnv(), state: main.state });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(warningLines(post)).toEqual([]);
    expect(front.calls.map((c) => `${c.path} ${c.status}`)).toEqual(["/v1/revoke 200"]);
    expect(callSequence(emu.emulator)).toEqual(["tokens.get 200", "tokens.delete 200"]);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });

  test("a mint answer of a shape the action does not know: the token it names is revoked before main fails", async () => {
    const bucket = newBucket("kl-shape");
    const inputs = keylessInputs(bucket, { "wait-timeout": "0" });
    front.rewriteNext("/v1/mint", ({ region: _dropped, ...rest }) => rest);
    const main = await runMain({ inputs, env: oidcEnv() });
    expect(main.exitCode).not.toBe(0);
    expect(errorLines(main).join("\n")).toContain("answered with an unexpected shape");
    expect(front.calls.map((c) => `${c.path} ${c.status}`)).toEqual(["/v1/mint 200", "/v1/revoke 200"]);
    expect(main.stdout).toContain("through the vending Worker because the step failed");
    expect(liveChildIds(emu.emulator)).toEqual([]);
    expect(keylessLeaks(main, idTokens.tokens())).toEqual([]);
  });

  test("post without an OIDC token warns with the manual fix and never fails the job", async () => {
    const bucket = newBucket("kl-postnoid");
    const inputs = keylessInputs(bucket, { "wait-timeout": "0" });
    const main = await runMain({ inputs, env: oidcEnv() });
    expect(main.exitCode, describeStep(main)).toBe(0);
    const child = main.outputs["token-id"] as string;
    front.calls.length = 0;
    const post = await runPost({ inputs, env: main.env, state: main.state });
    expect(post.exitCode, describeStep(post)).toBe(0);
    const warnings = warningLines(post);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`Could not revoke child token ${child}`);
    expect(warnings[0]).toContain("permissions: id-token: write");
    expect(warnings[0]).toContain(main.outputs["expires-at"]);
    expect(front.calls).toEqual([]);
    expect(liveChildIds(emu.emulator)).toEqual([child]);
    expect(findSecretLeaks(post, { secret: main.outputs["secret-access-key"] as string })).toEqual([]);
    // Clean up as the owner would (afterEach checks that nothing is left).
    expect(
      (await worker.revoke(await issuer.sign(jobClaims(issuer), { audience: front.url }), child)).body,
    ).toEqual({
      revoked: true,
    });
  });
});

describe("keyless: inputs that do not apply with vending-url", () => {
  const cases: [string, Inputs][] = [
    ["api-token", { "api-token": "cfat_not-a-real-token-but-a-secret-anyway-0123456789" }],
    ["account-id", { "account-id": "0123456789abcdef0123456789abcdef" }],
    ["mode", { mode: "temporary" }],
    ["token-scope", { "token-scope": "user" }],
    ["create-bucket", { "create-bucket": "true" }],
    ["token-name", { "token-name": "my-token" }],
    ["api-url", { "api-url": "https://api.example.com/client/v4" }],
  ];
  test.each(cases)("%s: one error naming it and vending-url; zero calls", async (name, extra) => {
    const bucket = newBucket("kl-conflict");
    const main = await runMain({ inputs: keylessInputs(bucket, extra), env: oidcEnv() });
    expect(main.exitCode).not.toBe(0);
    const errors = errorLines(main);
    expect(errors, describeStep(main)).toHaveLength(1);
    expect(errors[0]).toContain(`Input ${name} does not apply with vending-url`);
    expect(idTokens.requests).toEqual([]);
    expect(front.calls).toEqual([]);
    expect(callSequence(emu.emulator)).toEqual([]);
    expect(main.state).toEqual({});
    expect(main.outputs).toEqual({});
    if (name === "api-token") {
      expect(findSecretLeaks(main, { "api-token input": extra["api-token"] as string })).toEqual([]);
    }
  });
});

describe("keyless: worker/README.md's policy and workflow", () => {
  const readme = readFileSync(`${repoRoot}/worker/README.md`, "utf8");
  const section = readme.slice(readme.indexOf("## The workflow"), readme.indexOf("## HTTP contract"));
  const policyText = /```json\n([\s\S]*?)\n```/.exec(section)?.[1];
  const workflowText = /```yaml\n([\s\S]*?)\n```/.exec(section)?.[1];

  test("its policy is valid and pins ids, and its workflow mints, uploads under the Worker-filled prefix and revokes through a Worker with that policy", async () => {
    expect(policyText, "no json block in The workflow").toBeDefined();
    expect(workflowText, "no yaml block in The workflow").toBeDefined();
    expect(parsePolicy(policyText)).toHaveProperty("policy");
    const workflow = parseYaml(workflowText as string) as {
      permissions: Record<string, string>;
      jobs: Record<
        string,
        { environment?: string; steps: { uses?: string; with?: Record<string, string>; run?: string }[] }
      >;
    };
    expect(workflow.permissions).toEqual({ "id-token": "write", contents: "read" });
    const [job] = Object.values(workflow.jobs);
    const step = job?.steps.find((s) => s.uses?.includes("r2-ephemeral-credentials"));
    expect(step?.with?.["vending-url"]).toMatch(/^https:\/\//);
    expect(JSON.stringify(workflow)).not.toContain("secrets.");

    const policy = JSON.parse(policyText as string) as {
      rules: { repository: string; repository_id: string; buckets: string[] }[];
    };
    for (const rule of policy.rules) expect(rule.repository).toBe(REPO);
    // Every rule pins the repository's id; the job's tokens carry that id.
    const repositoryId = policy.rules[0]?.repository_id as string;
    expect(repositoryId).toMatch(/^\d+$/);
    for (const rule of policy.rules) expect(rule.repository_id).toBe(repositoryId);
    for (const bucket of policy.rules.flatMap((rule) => rule.buckets)) emu.emulator.createBucket(bucket);

    const door = await startFrontDoor();
    const readmeWorker = await startVendingWorker({
      emulator: emu.emulator,
      issuer: issuer.issuer,
      apiToken: emu.minter.value,
      policy: policyText,
      vars: { AUDIENCE: door.url },
    });
    door.target(readmeWorker.url);
    try {
      const environment = job?.environment ? { environment: job.environment } : {};
      idTokens.setClaims({ repository_id: repositoryId, ...environment });
      const inputs = { ...step?.with, "vending-url": door.url };
      const main = await runMain({ inputs, env: oidcEnv() });
      expect(main.exitCode, describeStep(main)).toBe(0);
      expect(main.outputs["session-token"]).not.toBe("");
      const bucket = step?.with?.bucket as string;
      // The step asks for no prefix: the Worker narrowed it to the rule's {repository_id}/, and the
      // workflow's upload goes there (${GITHUB_REPOSITORY_ID}/…).
      expect(step?.with?.prefixes).toBeUndefined();
      expect(workflowText).toMatch(/s3:\/\/releases\/\$\{GITHUB_REPOSITORY_ID\}\//);
      const prefix = `${repositoryId}/`;
      expect(main.summary).toContain(`prefix \`${prefix}\``);
      const s3 = s3ClientFromOutputs(main.outputs);
      expect(await putText(s3, bucket, `${prefix}abc123/app.js`, "bits")).toMatchObject({ ok: true });
      expect(await putText(s3, bucket, "elsewhere/app.js", "bits")).toMatchObject({ ok: false, status: 403 });
      const post = await runPost({ inputs, env: { ...oidcEnv(), ...main.env }, state: main.state });
      expect(post.exitCode, describeStep(post)).toBe(0);
      expect(door.calls.map((c) => `${c.path} ${c.status}`)).toEqual(["/v1/mint 200", "/v1/revoke 200"]);
      expect(liveChildIds(emu.emulator)).toEqual([]);
      s3.destroy();

      // Without the environment (a job on main without it), the first rule applies: releases is refused.
      idTokens.setClaims({ repository_id: repositoryId });
      const outside = await runMain({ inputs, env: oidcEnv() });
      expect(outside.exitCode).not.toBe(0);
      expect(errorLines(outside).join("\n")).toContain("policy_denied");

      // A repository created later under the same name, in the same environment: refused by its id.
      idTokens.setClaims({ repository_id: "987", ...environment });
      const impostor = await runMain({ inputs, env: oidcEnv() });
      expect(impostor.exitCode).not.toBe(0);
      expect(errorLines(impostor).join("\n")).toContain(
        `repository_id 987 does not match the policy's ${repositoryId} for ${REPO}`,
      );
      expect(liveChildIds(emu.emulator)).toEqual([]);
    } finally {
      await door.close();
      await readmeWorker.dispose();
    }
  });
});

describe("keyless: latency (printed, not asserted)", () => {
  test("main-step wall time through the Worker vs the direct action, wait-timeout 0, median of 5", async () => {
    const runs = 5;
    const through: number[] = [];
    const direct: number[] = [];
    const workerMint: number[] = [];
    const median = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return sorted[Math.floor(sorted.length / 2)] as number;
    };
    for (let i = 0; i < runs; i++) {
      // Interleaved, so a busy moment of the machine weighs on both.
      const bucketK = newBucket("kl-bench");
      const k = await runJobTimed({
        inputs: keylessInputs(bucketK, { "wait-timeout": "0" }),
        env: oidcEnv(),
      });
      through.push(k);
      const mintCall = front.calls.findIndex((c) => c.path === "/v1/mint");
      workerMint.push(front.timings[mintCall] as number);
      front.calls.length = 0;
      front.timings.length = 0;
      const bucketD = newBucket("kl-direct");
      const d = await runJobTimed({
        inputs: emulatorInputs(emu.emulator, emu.minter, bucketD, { "wait-timeout": "0" }),
      });
      direct.push(d);
    }
    const line = (label: string, values: number[]) =>
      `${label}: median ${median(values)} ms (runs: ${values.join(", ")} ms)`;
    console.log(
      [
        "keyless latency, main step wall time (spawned node process, wait-timeout 0, same emulator):",
        `  ${line("through the vending Worker", through)}`,
        `  ${line("direct (api-token)         ", direct)}`,
        `  difference of medians: ${median(through) - median(direct)} ms`,
        `  ${line("of which POST /v1/mint in the Worker (at its front door)", workerMint)}`,
      ].join("\n"),
    );
    expect(through).toHaveLength(runs);
  });
});

/** Runs main (timed) and post (to clean up), returning main's wall time in ms. */
async function runJobTimed(options: StepOptions): Promise<number> {
  const main = await runMain(options);
  expect(main.exitCode, describeStep(main)).toBe(0);
  const post = await runPost({ ...options, env: { ...main.env, ...options.env }, state: main.state });
  expect(post.exitCode, describeStep(post)).toBe(0);
  return main.durationMs;
}
