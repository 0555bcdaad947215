// Hybrid mode end to end: `mode: token` with `prefixes`/`objects` or an admin-* permission. Main
// creates a child token, mints R2 temporary credentials from it (the input token asks on the child's
// behalf; the child asks for itself once when the input token is refused) and exports only those;
// the post step deletes the child,
// which kills them. Driven the way the GitHub runner drives the bundled action, with real S3 clients.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  GetBucketCorsCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  type S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { PERMISSION_GROUPS } from "../../emulator/index.js";
import {
  describeStep,
  errorLines,
  type Inputs,
  runMain,
  runPost,
  type StepResult,
  unescapeCommandData,
  warningLines,
} from "../../scripts/harness/runner.js";
import type { SpawnResult } from "../../scripts/harness/spawn.js";
import { needClients } from "../helpers/clients.js";
import {
  bucketName,
  bucketResource,
  callSequence,
  callsTo,
  cloudflareApi,
  createBodyOf,
  emulatorInputs,
  ITEM_WRITE_GROUP,
  liveChildIds,
} from "../helpers/emulator.js";
import {
  getText,
  putText,
  runAwsCli,
  type S3Credentials,
  type S3Outcome,
  s3ClientFromOutputs,
} from "../helpers/s3.js";
import { secretScan } from "../helpers/secret-scan.js";
import { useEmulator } from "../helpers/use-emulator.js";

const emu = useEmulator({ tempCredentialCallers: "parent-or-storage-write" });

/** Cloudflare's "Workers R2 Storage Write" (account scope): what an admin-* child gets. */
const STORAGE_WRITE_GROUP = "bf7481a1826f439697cb59a20b22293e";
let workdir: string;

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

/** Runs one S3 command and reports the outcome instead of throwing (like the helpers' putText). */
async function attempt(run: () => Promise<string | undefined>): Promise<S3Outcome> {
  try {
    return { ok: true, status: 200, body: await run() };
  } catch (error) {
    if (error instanceof S3ServiceException) {
      return { ok: false, status: error.$metadata.httpStatusCode, code: error.name };
    }
    throw error;
  }
}

function listPrefix(client: S3Client, bucket: string, prefix?: string): Promise<S3Outcome> {
  return attempt(async () => {
    const response = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, ...(prefix === undefined ? {} : { Prefix: prefix }) }),
    );
    return (response.Contents ?? []).map((object) => object.Key).join("\n");
  });
}

/** The values main registered with `::add-mask::`, in order. */
function maskedValues(step: StepResult): string[] {
  return step.stdout
    .split(/\r?\n/)
    .map((line) => /^::add-mask::(.*)$/.exec(line)?.[1])
    .filter((value): value is string => value !== undefined)
    .map(unescapeCommandData);
}

/** The one child token main created (from the emulator's view). */
function onlyChild(): { id: string; name: string; expires_on?: string } {
  const children = emu.emulator.liveChildTokens();
  expect(children.map((child) => child.id)).toHaveLength(1);
  return children[0] as { id: string; name: string; expires_on?: string };
}

async function expectRefused(outcome: Promise<S3Outcome>, label: string): Promise<void> {
  const result = await outcome;
  expect(result.ok, `${label}: ${JSON.stringify(result)}`).toBe(false);
  expect([401, 403], `${label}: ${JSON.stringify(result)}`).toContain(result.status);
}

beforeAll(() => {
  workdir = fs.mkdtempSync(path.join(os.tmpdir(), "r2e-hybrid-"));
});

afterAll(() => {
  if (workdir) fs.rmSync(workdir, { recursive: true, force: true });
});

describe("prefix-scoped uploads", () => {
  test("the child mints credentials for the prefixes only; post deletes the child and kills them", async (ctx) => {
    needClients(ctx, "aws");
    const bucket = bucketName("sync");
    await emu.emulator.createBucket(bucket);
    await emu.emulator.putObject(bucket, "pipelines/nightly/2026-11-27.parquet", "yesterday");
    await emu.emulator.putObject(bucket, "pipelines/hourly/00.parquet", "another pipeline");
    await emu.emulator.putObject(bucket, "config/secrets.json", "{}");
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, {
      permission: "object-read-write",
      prefixes: "pipelines/nightly/\nshared/inbox/",
    });

    const before = Date.now();
    const main = await runMain({ inputs });
    const after = Date.now();
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(errorLines(main)).toEqual([]);
    const probes = [...emu.emulator.s3Calls];

    // Main: create the child, then temp-access-credentials with the input token, for the child.
    expect(callSequence(emu.emulator)).toEqual(["tokens.create 200", "r2.temp_credentials 200"]);
    const child = onlyChild();
    const create = createBodyOf(callsTo(emu.emulator, "tokens.create")[0]);
    expect(callsTo(emu.emulator, "tokens.create")[0]?.tokenId).toBe(emu.minter.id);
    expect(create.policies).toEqual([
      {
        effect: "allow",
        permission_groups: [{ id: ITEM_WRITE_GROUP }],
        resources: { [bucketResource(emu.emulator.accountId, bucket)]: "*" },
      },
    ]);
    const temp = callsTo(emu.emulator, "r2.temp_credentials")[0];
    expect(temp?.path).toBe(`/accounts/${emu.emulator.accountId}/r2/temp-access-credentials`);
    expect(temp?.tokenId).toBe(emu.minter.id);
    expect(temp?.body).toEqual({
      bucket,
      parentAccessKeyId: child.id,
      permission: "object-read-write",
      ttlSeconds: 3600,
      prefixes: ["pipelines/nightly/", "shared/inbox/"],
    });

    // Outputs: the temporary credentials (not the child's own pair) and the child's id to revoke.
    const outputs = main.outputs;
    expect(outputs["token-id"]).toBe(child.id);
    expect(outputs["access-key-id"]).toMatch(/^[0-9a-f]{32}$/);
    expect(outputs["access-key-id"]).not.toBe(child.id);
    expect(outputs["session-token"]).not.toBe("");
    expect(main.env.AWS_ACCESS_KEY_ID).toBe(outputs["access-key-id"]);
    expect(main.env.AWS_SESSION_TOKEN).toBe(outputs["session-token"]);
    // expires-at: the earlier of now + ttl and the child's expires_on.
    const expiresAt = Date.parse(outputs["expires-at"] as string);
    expect(expiresAt).toBeLessThanOrEqual(Date.parse(create.expires_on));
    expect(expiresAt).toBeLessThanOrEqual(after + 3_600_000);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3_600_000 - 1_000);
    expect(main.state["token-id"]).toBe(child.id);

    // The readiness probe used the temporary credentials on a key inside the first prefix.
    expect(probes.length).toBeGreaterThanOrEqual(1);
    for (const probe of probes) {
      expect(probe).toMatchObject({ method: "GET", bucket, accessKeyId: outputs["access-key-id"] });
      expect(probe.key.startsWith("pipelines/nightly/"), probe.key).toBe(true);
    }
    expect([200, 404]).toContain(probes.at(-1)?.status);

    // The child token's value never leaves main: masked, and otherwise nowhere.
    const known = new Set([
      emu.minter.value,
      outputs["secret-access-key"] as string,
      outputs["session-token"] as string,
    ]);
    const others = [...new Set(maskedValues(main))].filter((value) => !known.has(value));
    expect(others, "exactly one more masked value: the child token's").toHaveLength(1);
    const childValue = others[0] as string;
    const verified = await cloudflareApi(
      emu.emulator,
      { id: child.id, value: childValue },
      "GET",
      `/accounts/${emu.emulator.accountId}/tokens/verify`,
    );
    expect(verified.status, "the extra masked value is the child token's value").toBe(200);
    expect((verified.body as { result: { id: string } }).result.id).toBe(child.id);
    expect(Object.values(outputs).join("\n")).not.toContain(childValue);
    expect(Object.values(main.env).join("\n")).not.toContain(childValue);
    secretScan(main, { "child token value": childValue }, { strict: true });

    // SDK: writes inside the prefixes succeed, outside are refused; lists only within a prefix.
    const s3 = s3ClientFromOutputs(outputs);
    expect(await putText(s3, bucket, "pipelines/nightly/2026-11-28.parquet", "today")).toMatchObject({
      ok: true,
    });
    expect(await putText(s3, bucket, "shared/inbox/ready", "1")).toMatchObject({ ok: true });
    expect(await getText(s3, bucket, "pipelines/nightly/2026-11-27.parquet")).toMatchObject({
      ok: true,
      body: "yesterday",
    });
    await expectRefused(putText(s3, bucket, "pipelines/hourly/01.parquet", "x"), "put into another prefix");
    await expectRefused(putText(s3, bucket, "top-level.txt", "x"), "put at the top level");
    await expectRefused(putText(s3, bucket, "pipelines/nightly", "x"), "put on the prefix without /");
    await expectRefused(getText(s3, bucket, "config/secrets.json"), "get outside the prefixes");
    await expectRefused(getText(s3, bucket, "pipelines/hourly/00.parquet"), "get from another prefix");
    expect(await listPrefix(s3, bucket, "pipelines/nightly/")).toMatchObject({
      ok: true,
      body: "pipelines/nightly/2026-11-27.parquet\npipelines/nightly/2026-11-28.parquet",
    });
    await expectRefused(listPrefix(s3, bucket), "list the whole bucket");
    await expectRefused(listPrefix(s3, bucket, "pipelines/"), "list a broader prefix");
    expect(emu.emulator.getObject(bucket, "top-level.txt")).toBeUndefined();

    // AWS CLI with AWS_SESSION_TOKEN from the exported env and --endpoint-url.
    const credentials = credentialsFromEnv(main);
    const file = path.join(workdir, "rows.csv");
    fs.writeFileSync(file, "id\n1\n");
    const inside = await runAwsCli(
      ["s3", "cp", file, `s3://${bucket}/pipelines/nightly/rows.csv`],
      credentials,
    );
    expect(inside.exitCode, describeCli(inside)).toBe(0);
    const list = await runAwsCli(["s3", "ls", `s3://${bucket}/pipelines/nightly/`], credentials);
    expect(list.exitCode, describeCli(list)).toBe(0);
    expect(list.stdout).toContain("rows.csv");
    const outside = await runAwsCli(
      ["s3", "cp", file, `s3://${bucket}/pipelines/hourly/rows.csv`],
      credentials,
    );
    expect(outside.exitCode, describeCli(outside)).not.toBe(0);
    expect(outside.stderr).toMatch(/AccessDenied|403|Forbidden/);

    // Post: exactly one call, deleting the child with the input token; the credentials die with it.
    emu.emulator.resetCalls();
    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(warningLines(post)).toEqual([]);
    expect(
      emu.emulator.calls.map((call) => `${call.route} ${call.method} ${call.path} ${call.status}`),
    ).toEqual([`tokens.delete DELETE /accounts/${emu.emulator.accountId}/tokens/${child.id} 200`]);
    expect(emu.emulator.calls[0]?.tokenId).toBe(emu.minter.id);
    expect(liveChildIds(emu.emulator)).toEqual([]);
    await expectRefused(getText(s3, bucket, "pipelines/nightly/2026-11-28.parquet"), "get after post");
    await expectRefused(putText(s3, bucket, "pipelines/nightly/late.parquet", "x"), "put after post");
    s3.destroy();
    const afterPost = await runAwsCli(["s3", "ls", `s3://${bucket}/pipelines/nightly/`], credentials);
    expect(afterPost.exitCode, describeCli(afterPost)).not.toBe(0);

    secretScan(
      { main, post },
      {
        "api-token input": emu.minter.value,
        "temporary secret access key": outputs["secret-access-key"] as string,
        "session token": outputs["session-token"] as string,
      },
    );
    secretScan(post, { "child token value": childValue });
  });
});

describe("objects narrowing", () => {
  test("reaches only the listed keys, probes the first of them, and dies with the child", async () => {
    const bucket = bucketName("objs");
    await emu.emulator.createBucket(bucket);
    await emu.emulator.putObject(bucket, "releases/v1.2.2/app.tar.gz", "old release");
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, {
      permission: "object-read-write",
      objects: "releases/v1.2.3/app.tar.gz, releases/latest.json",
    });

    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(callSequence(emu.emulator)).toEqual(["tokens.create 200", "r2.temp_credentials 200"]);
    const child = onlyChild();
    expect(callsTo(emu.emulator, "r2.temp_credentials")[0]?.body).toEqual({
      bucket,
      parentAccessKeyId: child.id,
      permission: "object-read-write",
      ttlSeconds: 3600,
      objects: ["releases/v1.2.3/app.tar.gz", "releases/latest.json"],
    });
    expect(emu.emulator.s3Calls.length).toBeGreaterThanOrEqual(1);
    for (const probe of emu.emulator.s3Calls) {
      expect(probe).toMatchObject({ method: "GET", bucket, key: "releases/v1.2.3/app.tar.gz" });
    }

    const s3 = s3ClientFromOutputs(main.outputs);
    expect(await putText(s3, bucket, "releases/v1.2.3/app.tar.gz", "new release")).toMatchObject({
      ok: true,
    });
    expect(await putText(s3, bucket, "releases/latest.json", '{"version":"1.2.3"}')).toMatchObject({
      ok: true,
    });
    expect(await getText(s3, bucket, "releases/latest.json")).toMatchObject({
      ok: true,
      body: '{"version":"1.2.3"}',
    });
    await expectRefused(putText(s3, bucket, "releases/v1.2.3/app.tar.gz.sig", "x"), "a longer key");
    await expectRefused(putText(s3, bucket, "releases/v1.2.3/other.tar.gz", "x"), "a sibling key");
    await expectRefused(getText(s3, bucket, "releases/v1.2.2/app.tar.gz"), "an unlisted object");

    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(liveChildIds(emu.emulator)).toEqual([]);
    await expectRefused(getText(s3, bucket, "releases/latest.json"), "a listed key after post");
    s3.destroy();
  });
});

describe("admin-read-write on one bucket", () => {
  test("the child holds R2 Storage Write on the account; the exported credentials reach one bucket", async (ctx) => {
    needClients(ctx, "aws");
    const bucket = bucketName("adm");
    const other = bucketName("admother");
    await emu.emulator.createBucket(bucket);
    await emu.emulator.createBucket(other);
    await emu.emulator.putObject(other, "keep.txt", "not yours");
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, { permission: "admin-read-write" });

    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(callSequence(emu.emulator)).toEqual(["tokens.create 200", "r2.temp_credentials 200"]);
    const child = onlyChild();
    expect(createBodyOf(callsTo(emu.emulator, "tokens.create")[0]).policies).toEqual([
      {
        effect: "allow",
        permission_groups: [{ id: STORAGE_WRITE_GROUP }],
        resources: { [`com.cloudflare.api.account.${emu.emulator.accountId}`]: "*" },
      },
    ]);
    expect(callsTo(emu.emulator, "r2.temp_credentials")[0]?.body).toEqual({
      bucket,
      parentAccessKeyId: child.id,
      permission: "admin-read-write",
      ttlSeconds: 3600,
    });
    expect(main.outputs["access-key-id"]).not.toBe(child.id);
    expect(main.outputs["session-token"]).not.toBe("");
    expect(main.outputs.bucket).toBe(bucket);

    // The bucket: objects and its configuration (no CORS rules stored: 404, i.e. authorised).
    const s3 = s3ClientFromOutputs(main.outputs);
    expect(await putText(s3, bucket, "any/key.txt", "ok")).toMatchObject({ ok: true });
    expect(await listPrefix(s3, bucket)).toMatchObject({ ok: true, body: "any/key.txt" });
    expect(
      await attempt(async () => {
        await s3.send(new GetBucketCorsCommand({ Bucket: bucket }));
        return undefined;
      }),
    ).toMatchObject({ ok: false, status: 404, code: "NoSuchCORSConfiguration" });

    // Any other bucket: nothing, not even its configuration or the bucket list.
    await expectRefused(putText(s3, other, "any/key.txt", "x"), "put into another bucket");
    await expectRefused(getText(s3, other, "keep.txt"), "get from another bucket");
    await expectRefused(listPrefix(s3, other), "list another bucket");
    await expectRefused(
      attempt(async () => {
        await s3.send(new GetBucketCorsCommand({ Bucket: other }));
        return undefined;
      }),
      "another bucket's configuration",
    );
    await expectRefused(
      attempt(async () => {
        await s3.send(new ListBucketsCommand({}));
        return undefined;
      }),
      "list buckets",
    );
    const credentials = credentialsFromEnv(main);
    const cors = await runAwsCli(["s3api", "get-bucket-cors", "--bucket", other], credentials);
    expect(cors.exitCode, describeCli(cors)).not.toBe(0);
    expect(cors.stderr).toMatch(/AccessDenied|403|Forbidden/);
    const ownCors = await runAwsCli(["s3api", "get-bucket-cors", "--bucket", bucket], credentials);
    expect(ownCors.stderr, describeCli(ownCors)).toMatch(/NoSuchCORSConfiguration/);
    expect(emu.emulator.getObject(other, "any/key.txt")).toBeUndefined();

    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(liveChildIds(emu.emulator)).toEqual([]);
    await expectRefused(getText(s3, bucket, "any/key.txt"), "get after post");
    s3.destroy();
  });
});

describe("who calls temp-access-credentials", () => {
  /** A hybrid mint of object-read-write under pipelines/weekly/ in a new bucket. */
  async function hybridInputs(
    label: string,
    minter = emu.minter,
  ): Promise<{ bucket: string; inputs: Inputs }> {
    const bucket = bucketName(label);
    await emu.emulator.createBucket(bucket);
    const inputs = emulatorInputs(emu.emulator, minter, bucket, {
      permission: "object-read-write",
      prefixes: "pipelines/weekly/",
    });
    return { bucket, inputs };
  }

  test("when Cloudflare refuses the input token (401/403), the child asks for itself once and succeeds", async () => {
    // Only a parent may mint for itself here, and bucket-scoped callers may use R2's REST endpoints
    // (the opposite of what the evidence says): the input token is refused, the child is not.
    emu.emulator.set({
      tempCredentialCallers: "parent",
      assumptions: { bucketScopedRestCallers: "allowed" },
    });
    const { bucket, inputs } = await hybridInputs("fallback");

    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(warningLines(main)).toEqual([]);
    const child = onlyChild();
    expect(callSequence(emu.emulator)).toEqual([
      "tokens.create 200",
      "r2.temp_credentials 403",
      "r2.temp_credentials 200",
    ]);
    const temps = callsTo(emu.emulator, "r2.temp_credentials");
    // First the input token, then the child, both naming the child as parent.
    expect(temps.map((call) => call.tokenId)).toEqual([emu.minter.id, child.id]);
    const body = {
      bucket,
      parentAccessKeyId: child.id,
      permission: "object-read-write",
      ttlSeconds: 3600,
      prefixes: ["pipelines/weekly/"],
    };
    expect(temps.map((call) => call.body)).toEqual([body, body]);

    const s3 = s3ClientFromOutputs(main.outputs);
    expect(await putText(s3, bucket, "pipelines/weekly/w48.csv", "x")).toMatchObject({ ok: true });
    await expectRefused(putText(s3, bucket, "pipelines/daily/d1.csv", "x"), "outside the prefix");

    emu.emulator.resetCalls();
    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(callSequence(emu.emulator)).toEqual(["tokens.delete 200"]);
    expect(liveChildIds(emu.emulator)).toEqual([]);
    await expectRefused(getText(s3, bucket, "pipelines/weekly/w48.csv"), "after post");
    s3.destroy();
  });

  test.each([
    ["400 with code 10000", 400, 10000],
    ["422 with code 9109", 422, 9109],
  ])("a %s refusal of the input token also lets the child ask for itself", async (_label, status, code) => {
    emu.emulator.set({ assumptions: { bucketScopedRestCallers: "allowed" } });
    const { inputs } = await hybridInputs("fallback4xx");
    emu.emulator.injectFault({
      route: "r2.temp_credentials",
      nth: 1,
      times: 1,
      kind: { type: "status", status, errors: [{ code, message: "Authentication error" }] },
    });
    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(0);
    const child = onlyChild();
    expect(callSequence(emu.emulator)).toEqual([
      "tokens.create 200",
      `r2.temp_credentials ${status}`,
      "r2.temp_credentials 200",
    ]);
    // The injected refusal answers before authentication, so only the child's own call names its caller.
    expect(callsTo(emu.emulator, "r2.temp_credentials")[1]?.tokenId).toBe(child.id);
    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });

  test("a 400 about the request itself (no 10000/9109) is not retried as the child: main fails and deletes the child", async () => {
    const { inputs } = await hybridInputs("badrequest");
    emu.emulator.injectFault({
      route: "r2.temp_credentials",
      nth: 1,
      times: 1,
      kind: { type: "status", status: 400, errors: [{ code: 1001, message: "Invalid request" }] },
    });
    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(1);
    expect(errorLines(main)[0]).toMatch(/1001 Invalid request/);
    expect(callSequence(emu.emulator)).toEqual([
      "tokens.create 200",
      "r2.temp_credentials 400",
      "tokens.delete 200",
    ]);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });

  test("when the child is refused too, main fails after one retry and deletes the child", async () => {
    emu.emulator.set({ tempCredentialCallers: "storage-write" });
    const groupId = (name: string) => {
      const group = PERMISSION_GROUPS.find((candidate) => candidate.name === name);
      if (!group) throw new Error(`no permission group ${name}`);
      return group.id;
    };
    const bucket = bucketName("norights");
    await emu.emulator.createBucket(bucket);
    // Can create tokens and write to this bucket, but holds no account-level R2 Storage Write.
    const narrowMinter = await emu.emulator.seedToken({
      scope: "account",
      policies: [
        {
          effect: "allow",
          permission_groups: [{ id: groupId("Account API Tokens Write") }],
          resources: { [`com.cloudflare.api.account.${emu.emulator.accountId}`]: "*" },
        },
        {
          effect: "allow",
          permission_groups: [{ id: ITEM_WRITE_GROUP }],
          resources: { [bucketResource(emu.emulator.accountId, bucket)]: "*" },
        },
      ],
    });
    const inputs = emulatorInputs(emu.emulator, narrowMinter, bucket, {
      permission: "object-read-write",
      prefixes: "pipelines/weekly/",
    });

    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(1);
    const errors = errorLines(main);
    expect(errors, describeStep(main)).toHaveLength(1);
    expect(errors[0]).toMatch(/403/);
    expect(errors[0]).not.toMatch(/\n\s+at /);
    // The input token called first, then the child (the parent named in the body).
    const temps = callsTo(emu.emulator, "r2.temp_credentials");
    const childId = (temps[0]?.body as { parentAccessKeyId?: string } | undefined)?.parentAccessKeyId;
    expect(childId).toMatch(/^[0-9a-f]{32}$/);
    expect(temps.map((call) => call.tokenId)).toEqual([narrowMinter.id, childId]);
    expect(callSequence(emu.emulator)).toEqual([
      "tokens.create 200",
      "r2.temp_credentials 403",
      "r2.temp_credentials 403",
      "tokens.delete 200",
    ]);
    expect(callsTo(emu.emulator, "tokens.delete")[0]?.path).toBe(
      `/accounts/${emu.emulator.accountId}/tokens/${childId}`,
    );
    expect(liveChildIds(emu.emulator)).toEqual([]);
    for (const name of ["access-key-id", "secret-access-key", "session-token"]) {
      expect(main.outputs[name] ?? "", name).toBe("");
    }
    expect(main.env.AWS_SECRET_ACCESS_KEY ?? "").toBe("");

    emu.emulator.resetCalls();
    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(warningLines(post)).toEqual([]);
    expect(emu.emulator.calls).toEqual([]);
    secretScan({ main, post }, { "api-token input": narrowMinter.value });
  });
});

describe("one bucket only", () => {
  test.each<[string, Inputs, string[]]>([
    ["prefixes", { prefixes: "pipelines/nightly/" }, ["bucket", "prefixes"]],
    ["objects", { objects: "releases/latest.json" }, ["bucket", "objects"]],
    ["admin-read-write", { permission: "admin-read-write" }, ["bucket", "permission"]],
  ])(
    "several buckets with %s fail before any call, naming the inputs and the buckets",
    async (_label, overrides, names) => {
      const main = await runMain({
        inputs: emulatorInputs(emu.emulator, emu.minter, "raw-events, curated-events", overrides),
      });
      expect(main.exitCode, describeStep(main)).toBe(1);
      const errors = errorLines(main);
      expect(errors, describeStep(main)).toHaveLength(1);
      for (const name of names) expect(errors[0]).toContain(name);
      expect(errors[0]).toContain("raw-events");
      expect(errors[0]).toContain("curated-events");
      expect(errors[0]).toMatch(/one bucket/i);
      expect(emu.emulator.calls).toEqual([]);
      expect(emu.emulator.s3Calls).toEqual([]);
      expect(main.outputs["access-key-id"] ?? "").toBe("");
      expect(main.state).toEqual({});
    },
  );
});
