// Temporary mode end to end (`mode: temporary`): the bundled action against the emulator, driven the
// way the GitHub runner drives it. No child token: R2 temporary credentials straight from the input
// token (its id found with the verify endpoint of token-scope) or from parent-access-key-id. They
// carry a session token, cannot be revoked, and the post step only says when they expire.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse as parseYaml } from "yaml";
import {
  describeStep,
  errorLines,
  repoRoot,
  runMain,
  runPost,
  type StepResult,
  warningLines,
} from "../../scripts/harness/runner.js";
import type { SpawnResult } from "../../scripts/harness/spawn.js";
import { needClients } from "../helpers/clients.js";
import {
  bucketName,
  callSequence,
  callsTo,
  cloudflareApi,
  emulatorInputs,
  liveChildIds,
} from "../helpers/emulator.js";
import { getText, putText, runAwsCli, type S3Credentials, s3ClientFromOutputs } from "../helpers/s3.js";
import { secretScan } from "../helpers/secret-scan.js";
import { useEmulator } from "../helpers/use-emulator.js";

// Temporary mode never creates a child token: the default leftover check holds every test to that.
const emu = useEmulator({ minters: ["account", "user"], tempCredentialCallers: "parent-or-storage-write" });

let workdir: string;

const TO_ISO_STRING = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;
const declaredOutputs = Object.keys(
  (
    parseYaml(fs.readFileSync(path.join(repoRoot, "action.yml"), "utf8")) as {
      outputs: Record<string, unknown>;
    }
  ).outputs,
);

/** The credentials a later `run:` step sees in its environment (GITHUB_ENV). */
function credentialsFromEnv(step: StepResult): S3Credentials {
  const env = step.env;
  if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY || !env.AWS_ENDPOINT_URL_S3) {
    throw new Error(`main exported no AWS credentials:\n${describeStep(step)}`);
  }
  return {
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    sessionToken: env.AWS_SESSION_TOKEN ?? "",
    endpoint: env.AWS_ENDPOINT_URL_S3,
  };
}

function describeCli(result: SpawnResult): string {
  return `aws exit ${result.exitCode}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/** The one temp-access-credentials body main sent. */
function tempBody(): unknown {
  const calls = callsTo(emu.emulator, "r2.temp_credentials");
  expect(calls, callSequence(emu.emulator).join(", ")).toHaveLength(1);
  return calls[0]?.body;
}

beforeAll(() => {
  workdir = fs.mkdtempSync(path.join(os.tmpdir(), "r2e-temporary-"));
});

afterAll(() => {
  if (workdir) fs.rmSync(workdir, { recursive: true, force: true });
});

describe("temporary mode with the input token as parent", () => {
  test("verifies the token, mints from its own id, exports a session token and cannot revoke", async (ctx) => {
    needClients(ctx, "aws");
    const bucket = bucketName("tmp");
    const other = bucketName("tmpother");
    await emu.emulator.createBucket(bucket);
    await emu.emulator.createBucket(other);
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, {
      mode: "temporary",
      permission: "object-read-write",
      ttl: "15m",
    });

    const before = Date.now();
    const main = await runMain({ inputs });
    const after = Date.now();
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(errorLines(main)).toEqual([]);

    // Two calls: verify on the token-scope's endpoint (account), then temp-access-credentials,
    // both authenticated with the input token. No token is created.
    expect(emu.emulator.calls.map((call) => `${call.method} ${call.path} ${call.status}`)).toEqual([
      `GET /accounts/${emu.emulator.accountId}/tokens/verify 200`,
      `POST /accounts/${emu.emulator.accountId}/r2/temp-access-credentials 200`,
    ]);
    expect(emu.emulator.calls.map((call) => call.tokenId)).toEqual([emu.minter.id, emu.minter.id]);
    // The exact body: the verified id is the parent; no prefixes/objects keys when none are given.
    expect(tempBody()).toEqual({
      bucket,
      parentAccessKeyId: emu.minter.id,
      permission: "object-read-write",
      ttlSeconds: 900,
    });
    expect(liveChildIds(emu.emulator)).toEqual([]);

    // Outputs: every declared output is set; a session token, no token id, expiry = now + ttl.
    const outputs = main.outputs;
    expect(Object.keys(outputs).sort()).toEqual([...declaredOutputs].sort());
    expect(outputs["access-key-id"]).toMatch(/^[0-9a-f]{32}$/);
    expect(outputs["access-key-id"]).not.toBe(emu.minter.id);
    expect(outputs["secret-access-key"]).not.toBe("");
    expect(outputs["session-token"]).not.toBe("");
    expect(outputs["token-id"]).toBe("");
    expect(outputs.endpoint).toBe(emu.emulator.s3Endpoint().replace(/\/+$/, ""));
    expect(outputs.region).toBe("auto");
    expect(outputs.bucket).toBe(bucket);
    expect(outputs["expires-at"]).toMatch(TO_ISO_STRING);
    const expiresAt = Date.parse(outputs["expires-at"] as string);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 900_000);
    expect(expiresAt).toBeLessThanOrEqual(after + 900_000);

    // The environment carries the session token.
    expect(main.env).toEqual({
      AWS_ACCESS_KEY_ID: outputs["access-key-id"],
      AWS_SECRET_ACCESS_KEY: outputs["secret-access-key"],
      AWS_SESSION_TOKEN: outputs["session-token"],
      AWS_ENDPOINT_URL_S3: outputs.endpoint,
      AWS_REGION: "auto",
      AWS_DEFAULT_REGION: "auto",
      // The expiry for SDKs that refresh, and the checksum settings R2 needs (none set by the job).
      AWS_CREDENTIAL_EXPIRATION: outputs["expires-at"],
      AWS_REQUEST_CHECKSUM_CALCULATION: "when_required",
      AWS_RESPONSE_CHECKSUM_VALIDATION: "when_required",
    });

    // The job summary names the mode and the expiry, and there is no token to name.
    expect(main.summary).toContain("temporary");
    expect(main.summary).toContain(outputs["expires-at"]);

    // The AWS SDK with the session token: the bucket works, another bucket does not.
    const s3 = s3ClientFromOutputs(outputs);
    expect(await putText(s3, bucket, "reports/daily.csv", "day,count\n1,2\n")).toMatchObject({ ok: true });
    expect(await getText(s3, bucket, "reports/daily.csv")).toMatchObject({
      ok: true,
      body: "day,count\n1,2\n",
    });
    expect(await putText(s3, other, "reports/daily.csv", "x")).toMatchObject({ ok: false, status: 403 });

    // The AWS CLI with AWS_SESSION_TOKEN from the exported env and --endpoint-url.
    const credentials = credentialsFromEnv(main);
    const file = path.join(workdir, "summary.txt");
    fs.writeFileSync(file, "all green\n");
    const upload = await runAwsCli(["s3", "cp", file, `s3://${bucket}/reports/summary.txt`], credentials);
    expect(upload.exitCode, describeCli(upload)).toBe(0);
    const download = await runAwsCli(["s3", "cp", `s3://${bucket}/reports/summary.txt`, "-"], credentials);
    expect(download.exitCode, describeCli(download)).toBe(0);
    expect(download.stdout).toBe("all green\n");
    // Without the session token the same key pair is refused.
    const noSession = await runAwsCli(["s3", "cp", `s3://${bucket}/reports/summary.txt`, "-"], {
      ...credentials,
      sessionToken: "",
    });
    expect(noSession.exitCode, describeCli(noSession)).not.toBe(0);

    // Post: no API call at all; says the credentials cannot be revoked and when they expire.
    emu.emulator.resetCalls();
    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(emu.emulator.calls).toEqual([]);
    expect(warningLines(post)).toEqual([]);
    expect(errorLines(post)).toEqual([]);
    const said = post.stdout
      .split("\n")
      .filter((line) => !line.startsWith("::"))
      .join("\n");
    expect(said).toMatch(/cannot be revoked/i);
    expect(said).toContain(outputs["expires-at"]);
    expect(post.summary).toContain(outputs["expires-at"]);

    // They really were not revoked: they still work after the post step.
    expect(await getText(s3, bucket, "reports/daily.csv")).toMatchObject({ ok: true });
    s3.destroy();

    secretScan(
      { main, post },
      {
        "api-token input": emu.minter.value,
        "temporary secret access key": outputs["secret-access-key"] as string,
        "session token": outputs["session-token"] as string,
      },
    );
    // State: the mode and the expiry, nothing to revoke (and no secret: secretScan checked).
    expect(main.state).toEqual({ revoker: "none", "expires-at": outputs["expires-at"] });
  });

  test("token-scope user verifies on /user/tokens/verify; prefixes and objects go into the body", async () => {
    const bucket = bucketName("tmpuser");
    await emu.emulator.createBucket(bucket);
    await emu.emulator.putObject(bucket, "logs/2026/01.log", "january\n");
    await emu.emulator.putObject(bucket, "manifest.json", "{}\n");
    await emu.emulator.putObject(bucket, "private/keys.txt", "no\n");
    const inputs = emulatorInputs(emu.emulator, emu.userMinter, bucket, {
      mode: "temporary",
      "token-scope": "user",
      prefixes: " logs/2026/ ,\nlogs/2027/\n",
      objects: "manifest.json",
      ttl: "120",
    });

    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(emu.emulator.calls.map((call) => `${call.method} ${call.path} ${call.status}`)).toEqual([
      "GET /user/tokens/verify 200",
      `POST /accounts/${emu.emulator.accountId}/r2/temp-access-credentials 200`,
    ]);
    expect(tempBody()).toEqual({
      bucket,
      parentAccessKeyId: emu.userMinter.id,
      permission: "object-read-only",
      ttlSeconds: 120,
      prefixes: ["logs/2026/", "logs/2027/"],
      objects: ["manifest.json"],
    });
    expect(main.outputs["token-id"]).toBe("");

    // The narrowing holds at the S3 endpoint: the prefix and the object, nothing else.
    const s3 = s3ClientFromOutputs(main.outputs);
    expect(await getText(s3, bucket, "logs/2026/01.log")).toMatchObject({ ok: true, body: "january\n" });
    expect(await getText(s3, bucket, "manifest.json")).toMatchObject({ ok: true, body: "{}\n" });
    expect(await getText(s3, bucket, "private/keys.txt")).toMatchObject({ ok: false, status: 403 });
    // object-read-only: no writes, even inside the prefix.
    expect(await putText(s3, bucket, "logs/2026/02.log", "x")).toMatchObject({ ok: false, status: 403 });
    s3.destroy();

    emu.emulator.resetCalls();
    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(emu.emulator.calls).toEqual([]);
  });
});

describe("temporary mode with parent-access-key-id", () => {
  test("makes one call with the given parent; only deleting that parent kills the credentials", async () => {
    const bucket = bucketName("tmppar");
    await emu.emulator.createBucket(bucket);
    // A bucket-scoped R2 token someone created earlier: the parent of the temporary credentials.
    const parent = await emu.emulator.seedToken({
      scope: "account",
      name: "long-lived sync parent",
      preset: "r2-bucket-write",
      buckets: [bucket],
    });
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, {
      mode: "temporary",
      permission: "object-read-write",
      "parent-access-key-id": parent.id,
      prefixes: "incoming/",
      ttl: "10m",
    });

    const before = Date.now();
    const main = await runMain({ inputs });
    const after = Date.now();
    expect(main.exitCode, describeStep(main)).toBe(0);

    // One call: no verify, temp-access-credentials with the input token for the given parent.
    expect(emu.emulator.calls.map((call) => `${call.method} ${call.path} ${call.status}`)).toEqual([
      `POST /accounts/${emu.emulator.accountId}/r2/temp-access-credentials 200`,
    ]);
    expect(emu.emulator.calls[0]?.tokenId).toBe(emu.minter.id);
    expect(tempBody()).toEqual({
      bucket,
      parentAccessKeyId: parent.id,
      permission: "object-read-write",
      ttlSeconds: 600,
      prefixes: ["incoming/"],
    });
    const outputs = main.outputs;
    expect(outputs["token-id"]).toBe("");
    expect(outputs["session-token"]).not.toBe("");
    expect(main.env.AWS_SESSION_TOKEN).toBe(outputs["session-token"]);
    const expiresAt = Date.parse(outputs["expires-at"] as string);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 600_000);
    expect(expiresAt).toBeLessThanOrEqual(after + 600_000);

    const s3 = s3ClientFromOutputs(outputs);
    expect(await putText(s3, bucket, "incoming/batch-1.json", "[]")).toMatchObject({ ok: true });
    expect(await putText(s3, bucket, "outgoing/batch-1.json", "[]")).toMatchObject({
      ok: false,
      status: 403,
    });

    // Post: no call, says they cannot be revoked and when they expire; they keep working.
    emu.emulator.resetCalls();
    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(emu.emulator.calls).toEqual([]);
    expect(warningLines(post)).toEqual([]);
    expect(post.stdout).toMatch(/cannot be revoked/i);
    expect(post.stdout).toContain(outputs["expires-at"]);
    expect(await putText(s3, bucket, "incoming/batch-2.json", "[]")).toMatchObject({ ok: true });

    // The only kill switch is the parent: deleting it kills its temporary credentials.
    const deleted = await cloudflareApi(
      emu.emulator,
      emu.minter,
      "DELETE",
      `/accounts/${emu.emulator.accountId}/tokens/${parent.id}`,
    );
    expect(deleted.status).toBe(200);
    const refused = await getText(s3, bucket, "incoming/batch-1.json");
    expect(refused.ok).toBe(false);
    expect([401, 403]).toContain(refused.status);
    s3.destroy();

    secretScan(
      { main, post },
      {
        "api-token input": emu.minter.value,
        "temporary secret access key": outputs["secret-access-key"] as string,
        "session token": outputs["session-token"] as string,
      },
    );
    // The parent's value is never given to the action: it cannot appear anywhere.
    secretScan({ main, post }, { "parent token value": parent.value }, { requireMask: false });
  });
});
