// Token mode end to end: the bundled action (dist/main, dist/post) against the emulator, driven the
// way the GitHub runner drives it, with a real S3 client on the minted credentials.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { parse as parseYaml } from "yaml";
import {
  describeStep,
  errorLines,
  jobContext,
  repoRoot,
  runJob,
  runMain,
  runPost,
  warningLines,
} from "../../scripts/harness/runner.js";
import {
  bucketName,
  bucketResource,
  type CreateTokenBody,
  callSequence,
  callsTo,
  cloudflareApi,
  createBodyOf,
  emulatorInputs,
  groupIdsOf,
  ITEM_READ_GROUP,
  ITEM_WRITE_GROUP,
  liveChildIds,
} from "../helpers/emulator.js";
import { getText, listKeys, putText, s3ClientFromOutputs } from "../helpers/s3.js";
import { useEmulator } from "../helpers/use-emulator.js";

const emu = useEmulator({ minters: ["account", "user"] });

const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const TO_ISO_STRING = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;
const MINT_ID = "[0-9a-f]{8}";
const DEFAULT_NAME = new RegExp(
  `^r2-ephemeral ${jobContext.GITHUB_REPOSITORY} run ${jobContext.GITHUB_RUN_ID}\\.${jobContext.GITHUB_RUN_ATTEMPT} ${jobContext.GITHUB_JOB} ${MINT_ID}$`,
);
const declaredOutputs = Object.keys(
  (
    parseYaml(fs.readFileSync(path.join(repoRoot, "action.yml"), "utf8")) as {
      outputs: Record<string, unknown>;
    }
  ).outputs,
);

/** The body of this file's emulator's n-th tokens.create call. */
function createBody(index = 0): CreateTokenBody {
  const create = callsTo(emu.emulator, "tokens.create")[index];
  if (!create)
    throw new Error(`no tokens.create call #${index + 1}; calls: ${callSequence(emu.emulator).join(", ")}`);
  return createBodyOf(create);
}

describe("object-read-write on one bucket", () => {
  test("mints a bucket-scoped child token, serves S3 with it and revokes it in the post step", async () => {
    const bucket = bucketName("assets");
    const other = bucketName("other");
    await emu.emulator.createBucket(bucket);
    await emu.emulator.createBucket(other);
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, {
      permission: "object-read-write",
      ttl: "15m",
    });

    const before = Date.now();
    const main = await runMain({ inputs });
    const after = Date.now();
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(errorLines(main)).toEqual([]);

    // Exactly one create, on the account endpoint, with the single-bucket policy and expiry.
    const creates = callsTo(emu.emulator, "tokens.create");
    expect(creates.map((call) => `${call.method} ${call.path} ${call.status}`)).toEqual([
      `POST /accounts/${emu.emulator.accountId}/tokens 200`,
    ]);
    expect(creates[0]?.tokenId).toBe(emu.minter.id);
    const body = createBody();
    expect(body.name).toMatch(DEFAULT_NAME);
    expect(body.policies).toHaveLength(1);
    expect(body.policies[0]?.effect).toBe("allow");
    expect(body.policies[0]?.permission_groups.map((group) => group.id)).toEqual([ITEM_WRITE_GROUP]);
    expect(body.policies[0]?.resources).toEqual({ [bucketResource(emu.emulator.accountId, bucket)]: "*" });
    expect(body.expires_on).toMatch(ISO_SECONDS);
    const expiresOn = Date.parse(body.expires_on);
    expect(expiresOn).toBeGreaterThanOrEqual(before + 900_000 - 5_000);
    expect(expiresOn).toBeLessThanOrEqual(after + 900_000 + 5_000);

    // Outputs: every declared output is set; token credentials, no session token.
    const [child] = emu.emulator.liveChildTokens();
    expect(child?.name).toBe(body.name);
    const outputs = main.outputs;
    expect(Object.keys(outputs).sort()).toEqual([...declaredOutputs].sort());
    expect(outputs["access-key-id"]).toBe(child?.id);
    expect(outputs["token-id"]).toBe(child?.id);
    expect(outputs["secret-access-key"]).toMatch(/^[0-9a-f]{64}$/);
    expect(outputs["session-token"]).toBe("");
    expect(outputs.endpoint).toBe(emu.emulator.s3Endpoint().replace(/\/+$/, ""));
    expect(outputs.endpoint).not.toMatch(/\/$/);
    expect(outputs.region).toBe("auto");
    expect(outputs.bucket).toBe(bucket);
    expect(outputs["expires-at"]).toMatch(TO_ISO_STRING);
    expect(Date.parse(outputs["expires-at"] as string)).toBe(expiresOn);

    // Env for later steps: the AWS_* set, with an explicitly empty session token.
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

    // State: identifiers only.
    const stateText = JSON.stringify(main.state);
    expect(Object.values(main.state)).toContain(child?.id);
    expect(stateText).not.toContain(outputs["secret-access-key"]);
    expect(stateText).not.toContain(emu.minter.value);

    // The credentials work on the bucket and nowhere else.
    const s3 = s3ClientFromOutputs(outputs);
    expect(await putText(s3, bucket, "build/app.js", "console.log(1)")).toMatchObject({ ok: true });
    expect(await getText(s3, bucket, "build/app.js")).toMatchObject({ ok: true, body: "console.log(1)" });
    expect(await putText(s3, other, "build/app.js", "x")).toMatchObject({ ok: false, status: 403 });
    expect(await getText(s3, other, "anything")).toMatchObject({ ok: false, status: 403 });

    // Post: deletes exactly that child with the input token; S3 refuses the credentials afterwards.
    emu.emulator.resetCalls();
    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(warningLines(post)).toEqual([]);
    expect(
      callsTo(emu.emulator, "tokens.delete").map((call) => `${call.method} ${call.path} ${call.status}`),
    ).toEqual([`DELETE /accounts/${emu.emulator.accountId}/tokens/${child?.id} 200`]);
    expect(callsTo(emu.emulator, "tokens.delete")[0]?.tokenId).toBe(emu.minter.id);
    expect(liveChildIds(emu.emulator)).toEqual([]);
    const refused = await getText(s3, bucket, "build/app.js");
    expect(refused.ok).toBe(false);
    expect([401, 403]).toContain(refused.status);
    s3.destroy();
  });

  test("writes a job summary naming the token, bucket and expiry, and the post step adds the revocation", async () => {
    const bucket = bucketName("summary");
    await emu.emulator.createBucket(bucket);
    const { main, post } = await runJob({ inputs: emulatorInputs(emu.emulator, emu.minter, bucket) });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(main.summary).toContain(main.outputs["token-id"]);
    expect(main.summary).toContain(bucket);
    expect(main.summary).toContain(main.outputs["expires-at"]);
    expect(main.summary).toContain(main.outputs.endpoint);
    expect(post.summary).toContain(main.outputs["token-id"]);
    expect(post.summary).toMatch(/revoked|deleted/i);
  });

  test("reads the token and account from CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID when the inputs are empty", async () => {
    const bucket = bucketName("fromenv");
    await emu.emulator.createBucket(bucket);
    const { main, post } = await runJob({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket, { "api-token": "", "account-id": "" }),
      env: { CLOUDFLARE_API_TOKEN: emu.minter.value, CLOUDFLARE_ACCOUNT_ID: emu.emulator.accountId },
    });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(callsTo(emu.emulator, "tokens.create")[0]?.path).toBe(
      `/accounts/${emu.emulator.accountId}/tokens`,
    );
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(callsTo(emu.emulator, "tokens.delete").map((call) => call.status)).toEqual([200]);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });
});

describe("several buckets", () => {
  test("grants two comma-separated buckets, drops the duplicate and keeps the input order", async () => {
    const alpha = bucketName("alpha");
    const beta = bucketName("beta");
    const gamma = bucketName("gamma");
    for (const bucket of [alpha, beta, gamma]) await emu.emulator.createBucket(bucket);
    const inputs = emulatorInputs(emu.emulator, emu.minter, `${beta}, ${alpha},${beta}`, {
      permission: "object-read-write",
    });

    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(main.outputs.bucket).toBe(`${beta},${alpha}`);
    const body = createBody();
    expect(body.policies).toHaveLength(1);
    expect(body.policies[0]?.resources).toEqual({
      [bucketResource(emu.emulator.accountId, beta)]: "*",
      [bucketResource(emu.emulator.accountId, alpha)]: "*",
    });

    const s3 = s3ClientFromOutputs(main.outputs);
    expect(await putText(s3, alpha, "a.txt", "a")).toMatchObject({ ok: true });
    expect(await putText(s3, beta, "b.txt", "b")).toMatchObject({ ok: true });
    expect(await putText(s3, gamma, "c.txt", "c")).toMatchObject({ ok: false, status: 403 });

    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(liveChildIds(emu.emulator)).toEqual([]);
    s3.destroy();
  });

  test("accepts newline-separated buckets with blank lines and spaces", async () => {
    const first = bucketName("first");
    const second = bucketName("second");
    await emu.emulator.createBucket(first);
    await emu.emulator.createBucket(second);
    const { main, post } = await runJob({
      inputs: emulatorInputs(emu.emulator, emu.minter, `\n  ${second}  \n${first}\n\n${second}\n`),
    });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(main.outputs.bucket).toBe(`${second},${first}`);
    expect(Object.keys(createBody().policies[0]?.resources ?? {})).toEqual([
      bucketResource(emu.emulator.accountId, second),
      bucketResource(emu.emulator.accountId, first),
    ]);
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });
});

describe("object-read-only", () => {
  test("reads and lists objects but cannot write them", async () => {
    const bucket = bucketName("readonly");
    await emu.emulator.createBucket(bucket);
    await emu.emulator.putObject(bucket, "reports/latest.json", '{"ok":true}');
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket); // permission defaults to object-read-only

    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(createBody().policies[0]?.permission_groups.map((group) => group.id)).toEqual([ITEM_READ_GROUP]);

    const s3 = s3ClientFromOutputs(main.outputs);
    expect(await getText(s3, bucket, "reports/latest.json")).toMatchObject({ ok: true, body: '{"ok":true}' });
    expect(await listKeys(s3, bucket)).toMatchObject({ ok: true, body: "reports/latest.json" });
    expect(await putText(s3, bucket, "reports/latest.json", "overwritten")).toMatchObject({
      ok: false,
      status: 403,
    });

    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(liveChildIds(emu.emulator)).toEqual([]);
    s3.destroy();
  });
});

describe("jurisdictions", () => {
  test("scopes an EU bucket with the eu resource key and works on the EU endpoint", async () => {
    const bucket = bucketName("eu");
    await emu.emulator.createBucket(bucket, "eu");
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, {
      jurisdiction: "eu",
      permission: "object-read-write",
    });

    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(createBody().policies[0]?.resources).toEqual({
      [bucketResource(emu.emulator.accountId, bucket, "eu")]: "*",
    });
    expect(main.outputs.endpoint).toBe(emu.emulator.s3Endpoint("eu").replace(/\/+$/, ""));

    const s3 = s3ClientFromOutputs(main.outputs);
    expect(await putText(s3, bucket, "gdpr.txt", "stays in the EU")).toMatchObject({ ok: true });
    expect(await getText(s3, bucket, "gdpr.txt")).toMatchObject({ ok: true, body: "stays in the EU" });

    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(liveChildIds(emu.emulator)).toEqual([]);
    s3.destroy();
  });

  test.each([
    ["eu", (account: string) => `https://${account}.eu.r2.cloudflarestorage.com`],
    ["default", (account: string) => `https://${account}.r2.cloudflarestorage.com`],
  ])("derives the %s S3 endpoint when no s3-endpoint is given", async (jurisdiction, expected) => {
    const bucket = bucketName("derived");
    await emu.emulator.createBucket(bucket, jurisdiction as "eu");
    const { main, post } = await runJob({
      // The real R2 host cannot be reached from here: skip the readiness wait.
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket, {
        jurisdiction,
        "s3-endpoint": "",
        "wait-timeout": "0",
      }),
    });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(main.outputs.endpoint).toBe(expected(emu.emulator.accountId));
    expect(main.env.AWS_ENDPOINT_URL_S3).toBe(expected(emu.emulator.accountId));
    expect(createBody().policies[0]?.resources).toEqual({
      [bucketResource(emu.emulator.accountId, bucket, jurisdiction)]: "*",
    });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });
});

describe("token-scope user", () => {
  test("creates and deletes a user-owned child token through /user/tokens", async () => {
    const bucket = bucketName("user");
    await emu.emulator.createBucket(bucket);
    const inputs = emulatorInputs(emu.emulator, emu.userMinter, bucket, {
      "token-scope": "user",
      permission: "object-read-write",
    });

    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(
      callsTo(emu.emulator, "tokens.create").map((call) => `${call.method} ${call.path} ${call.status}`),
    ).toEqual(["POST /user/tokens 200"]);
    const [child] = emu.emulator.liveChildTokens();
    expect(child?.scope).toBe("user");
    expect(main.outputs["token-id"]).toBe(child?.id);

    const s3 = s3ClientFromOutputs(main.outputs);
    expect(await putText(s3, bucket, "u.txt", "user")).toMatchObject({ ok: true });

    emu.emulator.resetCalls();
    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(
      callsTo(emu.emulator, "tokens.delete").map((call) => `${call.method} ${call.path} ${call.status}`),
    ).toEqual([`DELETE /user/tokens/${child?.id} 200`]);
    expect(liveChildIds(emu.emulator)).toEqual([]);
    s3.destroy();
  });
});

describe("naming, env export and revocation switches", () => {
  test("names the child token-name plus a unique mint id", async () => {
    const bucket = bucketName("named");
    await emu.emulator.createBucket(bucket);
    const { main, post } = await runJob({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket, { "token-name": "nightly backup (prod)" }),
    });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(createBody().name).toMatch(new RegExp(`^nightly backup \\(prod\\) ${MINT_ID}$`));
    expect(post.exitCode, describeStep(post)).toBe(0);
  });

  test("two runs of the same job get different mint ids", async () => {
    const bucket = bucketName("twice");
    await emu.emulator.createBucket(bucket);
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket);
    const first = await runJob({ inputs });
    const second = await runJob({ inputs });
    expect(first.main.exitCode, describeStep(first.main)).toBe(0);
    expect(second.main.exitCode, describeStep(second.main)).toBe(0);
    const [nameA, nameB] = callsTo(emu.emulator, "tokens.create").map((call) => createBodyOf(call).name);
    expect(nameA).toMatch(DEFAULT_NAME);
    expect(nameB).toMatch(DEFAULT_NAME);
    expect(nameA).not.toBe(nameB);
    expect(first.main.outputs["token-id"]).not.toBe(second.main.outputs["token-id"]);
  });

  test("export-env false sets the outputs but exports no AWS_* variable", async () => {
    const bucket = bucketName("noenv");
    await emu.emulator.createBucket(bucket);
    const { main, post } = await runJob({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket, { "export-env": "false" }),
    });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(Object.keys(main.env).filter((name) => name.startsWith("AWS_"))).toEqual([]);
    expect(main.files.raw.env).not.toContain("AWS_");
    expect(main.outputs["access-key-id"]).toMatch(/^[0-9a-f]{32}$/);
    expect(main.outputs["secret-access-key"]).toMatch(/^[0-9a-f]{64}$/);
    expect(main.outputs.endpoint).toBe(emu.emulator.s3Endpoint().replace(/\/+$/, ""));
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });

  test("revoke false: the post step says revocation was skipped and the token stays alive", async () => {
    const bucket = bucketName("keep");
    await emu.emulator.createBucket(bucket);
    const { main, post } = await runJob({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket, { revoke: "false" }),
    });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(post.stdout).toMatch(/skip/i);
    expect(warningLines(post)).toEqual([]);
    expect(callsTo(emu.emulator, "tokens.delete")).toEqual([]);
    const tokenId = main.outputs["token-id"] as string;
    expect(liveChildIds(emu.emulator)).toEqual([tokenId]);
    const s3 = s3ClientFromOutputs(main.outputs);
    expect(await listKeys(s3, bucket)).toMatchObject({ ok: true });
    s3.destroy();

    // Clean up by hand, as the user would.
    const deleted = await cloudflareApi(
      emu.emulator,
      emu.minter,
      "DELETE",
      `/accounts/${emu.emulator.accountId}/tokens/${tokenId}`,
    );
    expect(deleted.status).toBe(200);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });
});

describe("permission-group ids", () => {
  test("a 403/9109 on create (token lacks Account API Tokens Write): one lookup finds the id already sent, no second create, the original error with its hint", async () => {
    const bucket = bucketName("weak");
    await emu.emulator.createBucket(bucket);
    const weak = await emu.emulator.seedToken({ scope: "account", preset: "r2-admin" });
    const main = await runMain({ inputs: emulatorInputs(emu.emulator, weak, bucket) });
    expect(main.exitCode, describeStep(main)).toBe(1);
    // Cloudflare answers policy problems with 403/9109, which may also mean a rotated group id:
    // the lookup costs one call and shows the id was right.
    expect(callSequence(emu.emulator)).toEqual(["tokens.create 403", "permission_groups.list 200"]);
    const errors = errorLines(main);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/403/);
    expect(errors[0]).toMatch(/API Tokens Write/);
    expect(liveChildIds(emu.emulator)).toEqual([]);
    expect(main.outputs["access-key-id"] ?? "").toBe("");
    expect(main.outputs["secret-access-key"] ?? "").toBe("");
  });

  describe("when Cloudflare rotated the R2 group ids", () => {
    const NEW_WRITE_ID = "0f0f0f0f0f0f4f0f8f0f0f0f0f0f0f01";
    const NEW_READ_ID = "0f0f0f0f0f0f4f0f8f0f0f0f0f0f0f02";

    const rotated = useEmulator({
      permissionGroupIds: {
        "Workers R2 Storage Bucket Item Write": NEW_WRITE_ID,
        "Workers R2 Storage Bucket Item Read": NEW_READ_ID,
      },
      minters: ["account", "user"],
    });

    test("a 400 on create looks the groups up by name and creates once more", async () => {
      const bucket = bucketName("rotated");
      await rotated.emulator.createBucket(bucket);
      rotated.emulator.resetCalls();
      const inputs = emulatorInputs(rotated.emulator, rotated.minter, bucket, {
        permission: "object-read-write",
      });

      const main = await runMain({ inputs });
      expect(main.exitCode, describeStep(main)).toBe(0);
      expect(callSequence(rotated.emulator)).toEqual([
        "tokens.create 400",
        "permission_groups.list 200",
        "tokens.create 200",
      ]);
      const [, lookup, create] = rotated.emulator.calls;
      expect(lookup?.path).toMatch(
        new RegExp(`^/accounts/${rotated.emulator.accountId}/tokens/permission_groups(\\?|$)`),
      );
      expect(groupIdsOf(create)).toEqual([NEW_WRITE_ID]);

      const s3 = s3ClientFromOutputs(main.outputs);
      expect(await putText(s3, bucket, "k", "v")).toMatchObject({ ok: true });
      s3.destroy();
      const post = await runPost({ inputs, state: main.state, env: main.env });
      expect(post.exitCode, describeStep(post)).toBe(0);
      expect(liveChildIds(rotated.emulator)).toEqual([]);
    });

    test("with token-scope user the lookup uses /user/tokens/permission_groups", async () => {
      const bucket = bucketName("rotuser");
      await rotated.emulator.createBucket(bucket);
      rotated.emulator.resetCalls();
      const { main, post } = await runJob({
        inputs: emulatorInputs(rotated.emulator, rotated.userMinter, bucket, { "token-scope": "user" }),
      });
      expect(main.exitCode, describeStep(main)).toBe(0);
      expect(callSequence(rotated.emulator).slice(0, 3)).toEqual([
        "tokens.create 400",
        "permission_groups.list 200",
        "tokens.create 200",
      ]);
      expect(rotated.emulator.calls[1]?.path).toMatch(/^\/user\/tokens\/permission_groups(\?|$)/);
      expect(groupIdsOf(rotated.emulator.calls[2])).toEqual([NEW_READ_ID]);
      expect(post.exitCode, describeStep(post)).toBe(0);
      expect(liveChildIds(rotated.emulator)).toEqual([]);
    });
  });
});
