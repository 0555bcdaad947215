// Tests for the Cloudflare API + R2 S3 emulator (emulator/), over real HTTP on loopback.
import { spawn } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketCorsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";
import { Ajv } from "ajv";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, PERMISSION_GROUPS, startEmulator } from "../emulator/index.js";
import { expandPolicies, holds, missingToGrant, parsePatterns, targets } from "../emulator/policy.js";
import openapi from "./fixtures/cloudflare-openapi-subset.json" with { type: "json" };

const ID = Object.fromEntries(PERMISSION_GROUPS.map((g) => [g.name, g.id])) as Record<string, string>;
const ITEM_WRITE = ID["Workers R2 Storage Bucket Item Write"] ?? "";
const ITEM_READ = ID["Workers R2 Storage Bucket Item Read"] ?? "";
const STORAGE_WRITE = ID["Workers R2 Storage Write"] ?? "";
const STORAGE_READ = ID["Workers R2 Storage Read"] ?? "";

interface Envelope {
  success: boolean;
  errors: { code: number; message: string }[];
  messages: unknown[];
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON results
  result: any;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON results
  result_info?: any;
}

function client(emu: Emulator) {
  return async (
    method: string,
    path: string,
    token: string | undefined,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Envelope; headers: Headers }> => {
    const res = await fetch(`${emu.apiUrl}${path}`, {
      method,
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Envelope, headers: res.headers };
  };
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

function s3For(
  emu: Emulator,
  creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  jurisdiction: "default" | "eu" = "default",
) {
  return new S3Client({
    endpoint: emu.s3Endpoint(jurisdiction),
    region: "auto",
    forcePathStyle: true,
    credentials: creds,
    maxAttempts: 1,
  });
}

const toBytes = (d: string | ArrayBuffer | ArrayBufferView): Uint8Array | string =>
  typeof d === "string"
    ? d
    : ArrayBuffer.isView(d)
      ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
      : new Uint8Array(d);

/** node:crypto behind the Hash interface @smithy/signature-v4 expects (for presigning in tests). */
class NodeHash {
  private readonly h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash("sha256") : createHmac("sha256", toBytes(secret));
  }
  update(d: string | ArrayBuffer | ArrayBufferView) {
    this.h.update(toBytes(d));
  }
  async digest() {
    return new Uint8Array(this.h.digest());
  }
}

const tokenCreds = (t: { id: string; value: string }) => ({
  accessKeyId: t.id,
  secretAccessKey: sha256(t.value),
});

function bucketPolicy(emu: Emulator, group: string, bucket: string, jurisdiction = "default") {
  return {
    effect: "allow",
    permission_groups: [{ id: group }],
    resources: { [`com.cloudflare.edge.r2.bucket.${emu.accountId}_${jurisdiction}_${bucket}`]: "*" },
  };
}

const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

async function s3Status(p: Promise<unknown>): Promise<{ status: number; name: string }> {
  try {
    await p;
    return { status: 200, name: "OK" };
  } catch (e) {
    const err = e as { name: string; $metadata?: { httpStatusCode?: number } };
    return { status: err.$metadata?.httpStatusCode ?? 0, name: err.name };
  }
}

describe("policy (pure)", () => {
  const acct = "0123456789abcdef0123456789abcdef";
  const grantsFor = (policies: Parameters<typeof expandPolicies>[0]) => expandPolicies(policies);

  it("bucket item groups apply to bucket keys and the nested all-buckets form only", () => {
    const exact = grantsFor([
      {
        effect: "allow",
        groups: ["r2.bucket.item.write"],
        resources: { [`com.cloudflare.edge.r2.bucket.${acct}_default_b1`]: "*" },
      },
    ]);
    expect(holds(exact, "object.write", targets.bucket(acct, "default", "b1"))).toBe(true);
    expect(holds(exact, "object.write", targets.bucket(acct, "eu", "b1"))).toBe(false);
    expect(holds(exact, "object.write", targets.bucket(acct, "default", "b2"))).toBe(false);
    const nested = grantsFor([
      {
        effect: "allow",
        groups: ["r2.bucket.item.read"],
        resources: { [`com.cloudflare.api.account.${acct}`]: { "com.cloudflare.edge.r2.bucket.*": "*" } },
      },
    ]);
    expect(holds(nested, "object.read", targets.bucket(acct, "eu", "anything"))).toBe(true);
    expect(holds(nested, "object.write", targets.bucket(acct, "eu", "anything"))).toBe(false);
    const flat = grantsFor([
      {
        effect: "allow",
        groups: ["r2.bucket.item.read"],
        resources: { [`com.cloudflare.api.account.${acct}`]: "*" },
      },
    ]);
    expect(holds(flat, "object.read", targets.bucket(acct, "default", "b1"))).toBe(false);
  });

  it("storage write implies item write on every bucket of the account; deny beats allow", () => {
    const grants = grantsFor([
      {
        effect: "allow",
        groups: ["r2.storage.write"],
        resources: { [`com.cloudflare.api.account.${acct}`]: "*" },
      },
      {
        effect: "deny",
        groups: ["r2.bucket.item.write"],
        resources: { [`com.cloudflare.edge.r2.bucket.${acct}_default_secret`]: "*" },
      },
    ]);
    expect(holds(grants, "object.write", targets.bucket(acct, "default", "b1"))).toBe(true);
    expect(holds(grants, "bucket.write", targets.account(acct))).toBe(true);
    expect(holds(grants, "object.write", targets.bucket(acct, "default", "secret"))).toBe(false);
    expect(holds(grants, "object.read", targets.bucket(acct, "default", "secret"))).toBe(false);
    // A creator with a deny on one bucket cannot hand out all buckets.
    expect(
      missingToGrant(grants, [
        {
          effect: "allow",
          groups: ["r2.bucket.item.write"],
          resources: { [`com.cloudflare.api.account.${acct}`]: { "com.cloudflare.edge.r2.bucket.*": "*" } },
        },
      ]),
    ).not.toHaveLength(0);
    expect(
      missingToGrant(grants, [
        {
          effect: "allow",
          groups: ["r2.bucket.item.write"],
          resources: { [`com.cloudflare.edge.r2.bucket.${acct}_eu_b`]: "*" },
        },
      ]),
    ).toHaveLength(0);
  });

  it("storage read does not cover item write; item read does not cover storage read", () => {
    const read = grantsFor([
      {
        effect: "allow",
        groups: ["r2.storage.read"],
        resources: { [`com.cloudflare.api.account.${acct}`]: "*" },
      },
    ]);
    expect(holds(read, "object.read", targets.bucket(acct, "default", "b"))).toBe(true);
    expect(holds(read, "object.write", targets.bucket(acct, "default", "b"))).toBe(false);
    expect(
      missingToGrant(read, [
        {
          effect: "allow",
          groups: ["r2.storage.write"],
          resources: { [`com.cloudflare.api.account.${acct}`]: "*" },
        },
      ]),
    ).not.toHaveLength(0);
  });

  it("rejects malformed resource maps", () => {
    expect(() => parsePatterns({ "com.cloudflare.edge.r2.bucket.nounderscore": "*" })).toThrow();
    expect(() => parsePatterns({ [`com.cloudflare.api.account.${acct}`]: 3 })).toThrow();
    expect(parsePatterns({ "com.cloudflare.api.account.zone.abc": "*" })).toEqual([]);
  });
});

describe("Cloudflare API: tokens", () => {
  let emu: Emulator;
  let api: ReturnType<typeof client>;
  let minter: { id: string; value: string };
  beforeAll(async () => {
    emu = await startEmulator();
    api = client(emu);
    emu.createBucket("my-bucket");
    minter = emu.seedToken({ scope: "account", preset: "minter" });
  });
  afterAll(() => emu.close());

  it("creates, lists, gets, updates, rolls and deletes an account token", async () => {
    const base = `/accounts/${emu.accountId}/tokens`;
    const created = await api("POST", base, minter.value, {
      name: "child",
      policies: [bucketPolicy(emu, ITEM_WRITE, "my-bucket")],
      expires_on: inAnHour(),
    });
    expect(created.status).toBe(200);
    const t = created.body.result;
    expect(t.id).toMatch(/^[0-9a-f]{32}$/);
    expect(t.value).toMatch(/^cfat_[A-Za-z0-9]{40}[0-9a-f]{8}$/);
    expect(t.status).toBe("active");
    expect(t.policies[0].id).toMatch(/^[0-9a-f]{32}$/);
    expect(t.policies[0].permission_groups[0]).toEqual({
      id: ITEM_WRITE,
      name: "Workers R2 Storage Bucket Item Write",
    });
    expect(emu.liveChildTokens().map((x) => x.id)).toEqual([t.id]);

    const list = await api("GET", `${base}?per_page=5`, minter.value);
    expect(list.body.result.map((x: { id: string }) => x.id)).toContain(t.id);
    expect(list.body.result_info).toMatchObject({ page: 1, per_page: 5, count: 2, total_count: 2 });
    expect(JSON.stringify(list.body)).not.toContain(t.value);

    const got = await api("GET", `${base}/${t.id}`, minter.value);
    expect(got.body.result.value).toBeUndefined();
    expect(got.body.result.name).toBe("child");

    const updated = await api("PUT", `${base}/${t.id}`, minter.value, {
      name: "renamed",
      policies: [bucketPolicy(emu, ITEM_READ, "my-bucket")],
    });
    expect(updated.status).toBe(200);
    expect(updated.body.result.name).toBe("renamed");
    expect(updated.body.result.expires_on).toBeUndefined();

    const rolled = await api("PUT", `${base}/${t.id}/value`, minter.value, {});
    expect(rolled.body.result).toMatch(/^cfat_/);
    expect((await api("GET", `${base}/verify`, t.value)).status).toBe(401);
    expect((await api("GET", `${base}/verify`, rolled.body.result)).body.result.id).toBe(t.id);

    const deleted = await api("DELETE", `${base}/${t.id}`, minter.value);
    expect(deleted.body).toEqual({ success: true, errors: [], messages: [], result: { id: t.id } });
    expect(emu.liveChildTokens()).toEqual([]);
    expect((await api("DELETE", `${base}/${t.id}`, minter.value)).status).toBe(404);
    expect((await api("GET", `${base}/verify`, rolled.body.result)).body.errors[0]?.code).toBe(1000);
    // Calls record the caller's id, never a value.
    expect(emu.calls.every((c) => !JSON.stringify(c).includes(minter.value))).toBe(true);
    expect(emu.calls.at(-1)?.route).toBe("tokens.verify");
  });

  it("handles user tokens, and verify is per token type", async () => {
    const userMinter = emu.seedToken({ scope: "user", preset: "user-minter" });
    expect(userMinter.value).toMatch(/^cfut_/);
    const created = await api("POST", "/user/tokens", userMinter.value, {
      name: "user child",
      policies: [bucketPolicy(emu, ITEM_WRITE, "my-bucket")],
    });
    expect(created.status).toBe(200);
    expect(created.body.result.value).toMatch(/^cfut_/);
    const v = await api("GET", "/user/tokens/verify", created.body.result.value);
    expect(v.body.result).toEqual({ id: created.body.result.id, status: "active" });
    expect(v.body.messages).toEqual([
      { code: 10000, message: "This API Token is valid and active", type: null },
    ]);
    // NOTES §6 pitfall 4.
    const wrongVerify = await api("GET", "/user/tokens/verify", minter.value);
    expect(wrongVerify.status).toBe(401);
    expect(wrongVerify.body.errors[0]?.code).toBe(1000);
    expect(
      (await api("GET", `/accounts/${emu.accountId}/tokens/verify`, userMinter.value)).body.errors[0]?.code,
    ).toBe(1000);
    // The account minter cannot manage user tokens, and vice versa.
    expect(
      (await api("POST", "/user/tokens", minter.value, { name: "x", policies: [] })).body.errors[0]?.code,
    ).toBe(9109);
    const userList = await api("GET", "/user/tokens", userMinter.value);
    expect(userList.body.result.map((x: { id: string }) => x.id)).toContain(created.body.result.id);
    expect((await api("GET", `/user/tokens/${created.body.result.id}`, userMinter.value)).status).toBe(200);
    expect((await api("DELETE", `/user/tokens/${created.body.result.id}`, userMinter.value)).status).toBe(
      200,
    );
  });

  it("answers auth and routing errors with Cloudflare codes", async () => {
    const base = `/accounts/${emu.accountId}/tokens`;
    const missing = await api("GET", `${base}/verify`, undefined);
    expect([missing.status, missing.body.errors[0]?.code]).toEqual([400, 1001]);
    const malformed = await api("GET", `${base}/verify`, undefined, undefined, {
      authorization: "Token abc",
    });
    expect([malformed.status, malformed.body.errors[0]?.code]).toEqual([400, 6003]);
    expect((malformed.body.errors[0] as { error_chain?: unknown[] }).error_chain).toHaveLength(1);
    const unknown = await api("GET", `${base}/verify`, "cfat_nope");
    expect([unknown.status, unknown.body.errors[0]?.code, unknown.body.result]).toEqual([401, 1000, null]);
    const noRoute = await api("GET", "/accounts/x/nothing", minter.value);
    expect([noRoute.status, noRoute.body.errors[0]?.code]).toEqual([404, 7003]);
    const badMethod = await api("PATCH", base, minter.value, {});
    expect([badMethod.status, badMethod.body.errors[0]?.code]).toEqual([405, 7000]);
    const otherAccount = await api("GET", "/accounts/ffffffffffffffffffffffffffffffff/tokens", minter.value);
    expect([otherAccount.status, otherAccount.body.errors[0]?.code]).toEqual([403, 9109]);
    const badJson = await fetch(`${emu.apiUrl}${base}`, {
      method: "POST",
      headers: { authorization: `Bearer ${minter.value}` },
      body: "{not json",
    });
    expect(badJson.status).toBe(400);
  });

  it("refuses what the caller may not do", async () => {
    const base = `/accounts/${emu.accountId}/tokens`;
    const r2Admin = emu.seedToken({ scope: "account", preset: "r2-admin" });
    const noToken = await api("POST", base, r2Admin.value, {
      name: "x",
      policies: [bucketPolicy(emu, ITEM_READ, "my-bucket")],
    });
    expect([noToken.status, noToken.body.errors[0]?.code]).toEqual([403, 9109]);
    expect((await api("GET", base, r2Admin.value)).body.errors[0]?.code).toBe(9109);

    // Token-write without R2 permissions cannot grant R2 groups.
    const tokensOnly = emu.seedToken({
      scope: "account",
      policies: [
        {
          effect: "allow",
          permission_groups: [{ id: ID["Account API Tokens Write"] ?? "" }],
          resources: { [`com.cloudflare.api.account.${emu.accountId}`]: "*" },
        },
        {
          effect: "allow",
          permission_groups: [{ id: ITEM_READ }],
          resources: { [`com.cloudflare.edge.r2.bucket.${emu.accountId}_default_my-bucket`]: "*" },
        },
      ],
    });
    const more = await api("POST", base, tokensOnly.value, {
      name: "x",
      policies: [bucketPolicy(emu, ITEM_WRITE, "my-bucket")],
    });
    expect([more.status, more.body.errors[0]?.code]).toEqual([403, 9109]);
    const storageRead = await api("POST", base, tokensOnly.value, {
      name: "x",
      policies: [
        {
          effect: "allow",
          permission_groups: [{ id: STORAGE_READ }],
          resources: { [`com.cloudflare.api.account.${emu.accountId}`]: "*" },
        },
      ],
    });
    expect([storageRead.status, storageRead.body.errors[0]?.code]).toEqual([403, 9109]);
    const same = await api("POST", base, tokensOnly.value, {
      name: "x",
      policies: [bucketPolicy(emu, ITEM_READ, "my-bucket")],
    });
    expect(same.status).toBe(200);
    const deny = await api("POST", base, tokensOnly.value, {
      name: "x",
      policies: [{ ...bucketPolicy(emu, STORAGE_WRITE, "my-bucket"), effect: "deny" }],
    });
    expect(deny.status).toBe(200);

    const unknownGroup = await api("POST", base, minter.value, {
      name: "x",
      policies: [bucketPolicy(emu, "0123456789abcdef0123456789abcdef", "my-bucket")],
    });
    expect([unknownGroup.status, unknownGroup.body.errors[0]?.code]).toEqual([400, 1001]);
    const past = await api("POST", base, minter.value, {
      name: "x",
      policies: [bucketPolicy(emu, ITEM_READ, "my-bucket")],
      expires_on: "2020-01-01T00:00:00Z",
    });
    expect(past.status).toBe(400);
    const longName = await api("POST", base, minter.value, {
      name: "n".repeat(121),
      policies: [bucketPolicy(emu, ITEM_READ, "my-bucket")],
    });
    expect(longName.status).toBe(400);
    const noName = await api("POST", base, minter.value, {
      policies: [bucketPolicy(emu, ITEM_READ, "my-bucket")],
    });
    expect(noName.status).toBe(400);
    const badDate = await api("POST", base, minter.value, {
      name: "x",
      policies: [bucketPolicy(emu, ITEM_READ, "my-bucket")],
      expires_on: "tomorrow",
    });
    expect(badDate.status).toBe(400);
  });

  it("lists permission groups with name and scope filters, without special permissions", async () => {
    const none = emu.seedToken({ scope: "account", preset: "no-permissions" });
    const name = encodeURIComponent("Workers R2 Storage Bucket Item Write");
    const one = await api(
      "GET",
      `/accounts/${emu.accountId}/tokens/permission_groups?name=${name}`,
      none.value,
    );
    expect(one.body.result).toEqual([
      expect.objectContaining({
        id: ITEM_WRITE,
        name: "Workers R2 Storage Bucket Item Write",
        scopes: ["com.cloudflare.edge.r2.bucket"],
      }),
    ]);
    const scoped = await api(
      "GET",
      "/user/tokens/permission_groups?scope=com.cloudflare.edge.r2.bucket",
      none.value,
    );
    expect(scoped.body.result.map((g: { id: string }) => g.id).sort()).toEqual(
      [ITEM_WRITE, ITEM_READ].sort(),
    );
  });

  it("enforces quotas", async () => {
    const small = await startEmulator({ quotas: { user: 1, account: 2 } });
    try {
      const m = small.seedToken({ scope: "account", preset: "minter" });
      const a = client(small);
      const body = { name: "q", policies: [bucketPolicy(small, ITEM_READ, "b-1")] };
      expect((await a("POST", `/accounts/${small.accountId}/tokens`, m.value, body)).status).toBe(200);
      const over = await a("POST", `/accounts/${small.accountId}/tokens`, m.value, body);
      expect(over.status).toBe(400);
      expect(over.body.errors[0]?.message).toMatch(/quota/i);
    } finally {
      await small.close();
    }
  });
});

describe("S3 endpoint", () => {
  let emu: Emulator;
  let api: ReturnType<typeof client>;
  let minter: { id: string; value: string };
  beforeAll(async () => {
    emu = await startEmulator();
    api = client(emu);
    emu.createBucket("granted");
    emu.createBucket("other");
    emu.createBucket("euro", "eu");
    minter = emu.seedToken({ scope: "account", preset: "minter" });
  });
  afterAll(() => emu.close());
  afterEach(() => emu.set({ propagationDelayMs: 0, revocationDelayMs: 0 }));

  async function mint(group = ITEM_WRITE, bucket = "granted", jurisdiction = "default") {
    const res = await api("POST", `/accounts/${emu.accountId}/tokens`, minter.value, {
      name: "s3 test",
      policies: [bucketPolicy(emu, group, bucket, jurisdiction)],
      expires_on: inAnHour(),
    });
    expect(res.status).toBe(200);
    return { id: res.body.result.id as string, value: res.body.result.value as string };
  }

  it("token credentials put, get, list and delete on the granted bucket only", async () => {
    const s3 = s3For(emu, tokenCreds(await mint()));
    await s3.send(
      new PutObjectCommand({
        Bucket: "granted",
        Key: "dir/a b+c.txt",
        Body: "hello",
        ContentType: "text/plain",
      }),
    );
    expect(new TextDecoder().decode(emu.getObject("granted", "dir/a b+c.txt"))).toBe("hello");
    const got = await s3.send(new GetObjectCommand({ Bucket: "granted", Key: "dir/a b+c.txt" }));
    expect(await got.Body?.transformToString()).toBe("hello");
    expect(got.ContentType).toBe("text/plain");
    expect(got.ETag).toBe(`"${createHash("md5").update("hello").digest("hex")}"`);
    const ranged = await s3.send(
      new GetObjectCommand({ Bucket: "granted", Key: "dir/a b+c.txt", Range: "bytes=1-3" }),
    );
    expect(await ranged.Body?.transformToString()).toBe("ell");
    const head = await s3.send(new HeadObjectCommand({ Bucket: "granted", Key: "dir/a b+c.txt" }));
    expect(head.ContentLength).toBe(5);
    const list = await s3.send(new ListObjectsV2Command({ Bucket: "granted", Prefix: "dir/" }));
    expect(list.Contents?.map((c) => c.Key)).toEqual(["dir/a b+c.txt"]);
    await s3.send(new DeleteObjectCommand({ Bucket: "granted", Key: "dir/a b+c.txt" }));
    expect(
      await s3Status(s3.send(new GetObjectCommand({ Bucket: "granted", Key: "dir/a b+c.txt" }))),
    ).toEqual({
      status: 404,
      name: "NoSuchKey",
    });
    expect(
      await s3Status(s3.send(new HeadObjectCommand({ Bucket: "granted", Key: "missing" }))),
    ).toMatchObject({ status: 404 });
    expect(await s3Status(s3.send(new PutObjectCommand({ Bucket: "other", Key: "x", Body: "x" })))).toEqual({
      status: 403,
      name: "AccessDenied",
    });
    expect((await s3Status(s3.send(new HeadBucketCommand({ Bucket: "granted" })))).status).toBe(200);
    // The bucket key names the default jurisdiction: the eu endpoint refuses it.
    const eu = s3For(emu, tokenCreds(await mint()), "eu");
    expect((await s3Status(eu.send(new GetObjectCommand({ Bucket: "granted", Key: "x" })))).status).toBe(403);
  });

  it("read-only tokens cannot write; wrong secrets and unknown keys are refused", async () => {
    const reader = await mint(ITEM_READ);
    emu.putObject("granted", "r.txt", "r");
    const s3 = s3For(emu, tokenCreds(reader));
    expect((await s3Status(s3.send(new GetObjectCommand({ Bucket: "granted", Key: "r.txt" })))).status).toBe(
      200,
    );
    expect(await s3Status(s3.send(new PutObjectCommand({ Bucket: "granted", Key: "w", Body: "w" })))).toEqual(
      {
        status: 403,
        name: "AccessDenied",
      },
    );
    const wrong = s3For(emu, { accessKeyId: reader.id, secretAccessKey: sha256("not the value") });
    expect(await s3Status(wrong.send(new GetObjectCommand({ Bucket: "granted", Key: "r.txt" })))).toEqual({
      status: 403,
      name: "SignatureDoesNotMatch",
    });
    const unknown = s3For(emu, { accessKeyId: "0".repeat(32), secretAccessKey: sha256("x") });
    expect(
      (await s3Status(unknown.send(new GetObjectCommand({ Bucket: "granted", Key: "r.txt" })))).status,
    ).toBe(401);
  });

  it("deleted tokens are refused, after the revocation delay", async () => {
    emu.set({ revocationDelayMs: 300 });
    const t = await mint();
    const s3 = s3For(emu, tokenCreds(t));
    emu.putObject("granted", "d.txt", "d");
    expect((await s3Status(s3.send(new GetObjectCommand({ Bucket: "granted", Key: "d.txt" })))).status).toBe(
      200,
    );
    await api("DELETE", `/accounts/${emu.accountId}/tokens/${t.id}`, minter.value);
    expect((await s3Status(s3.send(new GetObjectCommand({ Bucket: "granted", Key: "d.txt" })))).status).toBe(
      200,
    );
    await new Promise((r) => setTimeout(r, 350));
    expect(await s3Status(s3.send(new GetObjectCommand({ Bucket: "granted", Key: "d.txt" })))).toEqual({
      status: 403,
      name: "AccessDenied",
    });
  });

  it("new tokens are refused until the propagation delay passed", async () => {
    emu.set({ propagationDelayMs: 300 });
    const s3 = s3For(emu, tokenCreds(await mint()));
    emu.putObject("granted", "p.txt", "p");
    expect(await s3Status(s3.send(new HeadObjectCommand({ Bucket: "granted", Key: "p.txt" })))).toMatchObject(
      { status: 403 },
    );
    await new Promise((r) => setTimeout(r, 350));
    expect((await s3Status(s3.send(new HeadObjectCommand({ Bucket: "granted", Key: "p.txt" })))).status).toBe(
      200,
    );
  });

  it("verifies presigned GET URLs", async () => {
    const t = await mint();
    emu.putObject("granted", "pre/signed.txt", "presigned body");
    const endpoint = new URL(emu.s3Endpoint());
    const signer = new SignatureV4({
      service: "s3",
      region: "auto",
      credentials: tokenCreds(t),
      sha256: NodeHash,
      uriEscapePath: false,
    });
    const signed = await signer.presign(
      {
        method: "GET",
        protocol: "http:",
        hostname: endpoint.hostname,
        port: Number(endpoint.port),
        path: "/granted/pre/signed.txt",
        query: {},
        headers: { host: endpoint.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
      },
      { expiresIn: 60 },
    );
    const qs = Object.entries(signed.query ?? {})
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join("&");
    const ok = await fetch(`${emu.s3Endpoint()}${signed.path}?${qs}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("presigned body");
    const tampered = await fetch(`${emu.s3Endpoint()}/granted/pre/other.txt?${qs}`);
    expect(tampered.status).toBe(403);
    expect(await tampered.text()).toContain("<Code>SignatureDoesNotMatch</Code>");
  });
});

describe("R2 temporary credentials", () => {
  let emu: Emulator;
  let api: ReturnType<typeof client>;
  let minter: { id: string; value: string };
  let path: string;
  beforeAll(async () => {
    emu = await startEmulator();
    api = client(emu);
    emu.createBucket("tmp-bucket");
    emu.createBucket("only-eu", "eu");
    minter = emu.seedToken({ scope: "account", preset: "minter" });
    path = `/accounts/${emu.accountId}/r2/temp-access-credentials`;
  });
  afterAll(() => emu.close());
  afterEach(() => emu.set({ propagationDelayMs: 0, tempCredentialCallers: "parent-or-storage-write" }));

  const valid = () => ({
    bucket: "tmp-bucket",
    parentAccessKeyId: minter.id,
    permission: "object-read-write",
    ttlSeconds: 900,
  });

  it.each([
    ["valid", {}, 200, undefined],
    ["maximum ttl", { ttlSeconds: 604800 }, 200, undefined],
    ["ttl over the maximum", { ttlSeconds: 604801 }, 400, 1001],
    ["ttl zero", { ttlSeconds: 0 }, 400, 1001],
    ["negative ttl", { ttlSeconds: -5 }, 400, 1001],
    ["fractional ttl", { ttlSeconds: 1.5 }, 400, 1001],
    ["ttl as a string", { ttlSeconds: "900" }, 400, 1001],
    ["unknown field", { actions: ["GetObject"] }, 400, 1001],
    ["unknown permission", { permission: "read" }, 400, 1001],
    ["missing bucket", { bucket: undefined }, 400, 1001],
    ["invalid bucket name", { bucket: "Bad_Name" }, 400, 10005],
    ["unknown bucket", { bucket: "no-such-bucket" }, 404, 10006],
    ["parent id not hex", { parentAccessKeyId: "not-an-id" }, 400, 1001],
    ["unknown parent", { parentAccessKeyId: "0".repeat(32) }, 400, 1001],
    ["prefixes not an array", { prefixes: "a/" }, 400, 1001],
    ["objects with a number", { objects: [1] }, 400, 1001],
  ])("%s", async (_label, patch, status, code) => {
    const body = JSON.parse(JSON.stringify({ ...valid(), ...patch }));
    const res = await api("POST", path, minter.value, body);
    expect(res.status).toBe(status);
    if (code === undefined) {
      expect(Object.keys(res.body.result).sort()).toEqual(["accessKeyId", "secretAccessKey", "sessionToken"]);
      expect(res.body.result.accessKeyId).toMatch(/^[0-9a-f]{32}$/);
    } else {
      expect(res.body.errors[0]?.code).toBe(code);
      expect(res.body.result).toBeNull();
    }
  });

  it("checks who calls and what the parent holds", async () => {
    const reader = emu.seedToken({
      scope: "account",
      policies: [
        {
          effect: "allow",
          permission_groups: [{ id: ITEM_READ }],
          resources: { [`com.cloudflare.edge.r2.bucket.${emu.accountId}_default_tmp-bucket`]: "*" },
        },
      ],
    });
    // The parent itself may mint within what it holds, but not beyond.
    const own = await api("POST", path, reader.value, {
      ...valid(),
      parentAccessKeyId: reader.id,
      permission: "object-read-only",
    });
    expect(own.status).toBe(200);
    const beyond = await api("POST", path, reader.value, { ...valid(), parentAccessKeyId: reader.id });
    expect([beyond.status, beyond.body.errors[0]?.code]).toEqual([403, 9109]);
    const admin = await api("POST", path, minter.value, {
      ...valid(),
      parentAccessKeyId: reader.id,
      permission: "admin-read-only",
    });
    expect([admin.status, admin.body.errors[0]?.code]).toEqual([403, 9109]);
    // A storage writer may mint from another parent; a bucket-scoped token may not.
    expect(
      (
        await api("POST", path, minter.value, {
          ...valid(),
          parentAccessKeyId: reader.id,
          permission: "object-read-only",
        })
      ).status,
    ).toBe(200);
    const other = await api("POST", path, reader.value, valid());
    expect([other.status, other.body.errors[0]?.code]).toEqual([403, 10000]);
    emu.set({ tempCredentialCallers: "parent" });
    expect(
      (
        await api("POST", path, minter.value, {
          ...valid(),
          parentAccessKeyId: reader.id,
          permission: "object-read-only",
        })
      ).body.errors[0]?.code,
    ).toBe(10000);
    emu.set({ tempCredentialCallers: "storage-write" });
    expect(
      (
        await api("POST", path, reader.value, {
          ...valid(),
          parentAccessKeyId: reader.id,
          permission: "object-read-only",
        })
      ).body.errors[0]?.code,
    ).toBe(10000);
  });

  it("scopes S3 access to the bucket, permission and prefixes", async () => {
    emu.putObject("tmp-bucket", "ci/run-1/in.txt", "in");
    emu.putObject("tmp-bucket", "elsewhere.txt", "out");
    const res = await api("POST", path, minter.value, {
      ...valid(),
      prefixes: ["ci/run-1/"],
      objects: ["exact.txt"],
    });
    const creds = res.body.result as { accessKeyId: string; secretAccessKey: string; sessionToken: string };
    const s3 = s3For(emu, creds);
    expect(
      (await s3Status(s3.send(new GetObjectCommand({ Bucket: "tmp-bucket", Key: "ci/run-1/in.txt" }))))
        .status,
    ).toBe(200);
    expect(
      (
        await s3Status(
          s3.send(new PutObjectCommand({ Bucket: "tmp-bucket", Key: "ci/run-1/new", Body: "n" })),
        )
      ).status,
    ).toBe(200);
    expect(
      (await s3Status(s3.send(new PutObjectCommand({ Bucket: "tmp-bucket", Key: "exact.txt", Body: "e" }))))
        .status,
    ).toBe(200);
    expect(
      (await s3Status(s3.send(new GetObjectCommand({ Bucket: "tmp-bucket", Key: "elsewhere.txt" })))).status,
    ).toBe(403);
    expect(
      (await s3Status(s3.send(new PutObjectCommand({ Bucket: "tmp-bucket", Key: "exact.txt2", Body: "e" }))))
        .status,
    ).toBe(403);
    expect(
      (await s3Status(s3.send(new ListObjectsV2Command({ Bucket: "tmp-bucket", Prefix: "ci/run-1/" }))))
        .status,
    ).toBe(200);
    expect((await s3Status(s3.send(new ListObjectsV2Command({ Bucket: "tmp-bucket" })))).status).toBe(403);
    expect((await s3Status(s3.send(new GetObjectCommand({ Bucket: "only-eu", Key: "x" })))).status).toBe(403);
    // Without the session token the signature matches but the credentials are refused.
    const noSession = s3For(emu, { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey });
    expect(
      await s3Status(noSession.send(new GetObjectCommand({ Bucket: "tmp-bucket", Key: "ci/run-1/in.txt" }))),
    ).toEqual({
      status: 403,
      name: "AccessDenied",
    });

    const ro = await api("POST", path, minter.value, { ...valid(), permission: "object-read-only" });
    const roS3 = s3For(emu, ro.body.result);
    // Bucket configuration needs an admin permission.
    expect((await s3Status(roS3.send(new GetBucketCorsCommand({ Bucket: "tmp-bucket" })))).status).toBe(403);
    const adm = await api("POST", path, minter.value, { ...valid(), permission: "admin-read-only" });
    const admS3 = s3For(emu, adm.body.result);
    expect(await s3Status(admS3.send(new GetBucketCorsCommand({ Bucket: "tmp-bucket" })))).toEqual({
      status: 404,
      name: "NoSuchCORSConfiguration",
    });
    expect(
      (await s3Status(admS3.send(new PutObjectCommand({ Bucket: "tmp-bucket", Key: "w", Body: "w" }))))
        .status,
    ).toBe(403);
    expect(
      (await s3Status(roS3.send(new GetObjectCommand({ Bucket: "tmp-bucket", Key: "elsewhere.txt" }))))
        .status,
    ).toBe(200);
    expect(
      (await s3Status(roS3.send(new PutObjectCommand({ Bucket: "tmp-bucket", Key: "w", Body: "w" })))).status,
    ).toBe(403);
  });

  it("finds the bucket in its jurisdiction, and dies with its parent or its ttl", async () => {
    emu.putObject("only-eu", "e.txt", "eu", "eu");
    const eu = await api("POST", path, minter.value, { ...valid(), bucket: "only-eu" });
    expect(eu.status).toBe(200);
    expect(
      (
        await s3Status(
          s3For(emu, eu.body.result, "eu").send(new GetObjectCommand({ Bucket: "only-eu", Key: "e.txt" })),
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await s3Status(
          s3For(emu, eu.body.result).send(new GetObjectCommand({ Bucket: "only-eu", Key: "e.txt" })),
        )
      ).status,
    ).toBe(403);

    const parent = emu.seedToken({ scope: "account", preset: "r2-bucket-write", buckets: ["tmp-bucket"] });
    emu.putObject("tmp-bucket", "p.txt", "p");
    const child = await api("POST", path, parent.value, { ...valid(), parentAccessKeyId: parent.id });
    expect(child.status).toBe(200);
    const s3 = s3For(emu, child.body.result);
    expect(
      (await s3Status(s3.send(new GetObjectCommand({ Bucket: "tmp-bucket", Key: "p.txt" })))).status,
    ).toBe(200);
    await api("DELETE", `/accounts/${emu.accountId}/tokens/${parent.id}`, minter.value);
    expect(
      (await s3Status(s3.send(new GetObjectCommand({ Bucket: "tmp-bucket", Key: "p.txt" })))).status,
    ).toBe(403);

    const short = await api("POST", path, minter.value, { ...valid(), ttlSeconds: 1 });
    emu.set({ propagationDelayMs: 200 });
    const shortS3 = s3For(emu, short.body.result);
    expect(
      (await s3Status(shortS3.send(new GetObjectCommand({ Bucket: "tmp-bucket", Key: "p.txt" })))).status,
    ).toBe(403);
    await new Promise((r) => setTimeout(r, 250));
    expect(
      (await s3Status(shortS3.send(new GetObjectCommand({ Bucket: "tmp-bucket", Key: "p.txt" })))).status,
    ).toBe(200);
    await new Promise((r) => setTimeout(r, 800));
    expect(
      await s3Status(shortS3.send(new GetObjectCommand({ Bucket: "tmp-bucket", Key: "p.txt" }))),
    ).toEqual({
      status: 403,
      name: "AccessDenied",
    });
  });
});

describe("R2 buckets API", () => {
  let emu: Emulator;
  let api: ReturnType<typeof client>;
  let admin: { id: string; value: string };
  let base: string;
  beforeAll(async () => {
    emu = await startEmulator();
    api = client(emu);
    admin = emu.seedToken({ scope: "account", preset: "r2-admin" });
    base = `/accounts/${emu.accountId}/r2/buckets`;
  });
  afterAll(() => emu.close());

  it("creates, lists, gets and deletes buckets per jurisdiction", async () => {
    const created = await api("POST", base, admin.value, { name: "alpha" });
    expect(created.status).toBe(200);
    expect(created.body.result).toMatchObject({
      name: "alpha",
      jurisdiction: "default",
      storage_class: "Standard",
    });
    expect(created.body.messages).toEqual([]);
    const eu = await api("POST", base, admin.value, { name: "beta" }, { "cf-r2-jurisdiction": "eu" });
    expect(eu.body.result.jurisdiction).toBe("eu");
    for (const n of ["gamma", "delta"]) await api("POST", base, admin.value, { name: n });

    const dup = await api("POST", base, admin.value, { name: "alpha" });
    expect([dup.status, dup.body.errors[0]?.code]).toEqual([409, 10073]);
    const bad = await api("POST", base, admin.value, { name: "Not_Valid" });
    expect([bad.status, bad.body.errors[0]?.code]).toEqual([400, 10005]);
    // NOTES §5: without the header a jurisdictional bucket does not exist.
    const missing = await api("GET", `${base}/beta`, admin.value);
    expect([missing.status, missing.body.errors[0]?.code]).toEqual([404, 10006]);
    expect(
      (await api("GET", `${base}/beta`, admin.value, undefined, { "cf-r2-jurisdiction": "eu" })).status,
    ).toBe(200);

    const page1 = await api("GET", `${base}?per_page=2`, admin.value);
    expect(page1.body.result.buckets.map((b: { name: string }) => b.name)).toEqual(["alpha", "delta"]);
    expect(page1.body.result_info.cursor).toBeTruthy();
    const page2 = await api("GET", `${base}?per_page=2&cursor=${page1.body.result_info.cursor}`, admin.value);
    expect(page2.body.result.buckets.map((b: { name: string }) => b.name)).toEqual(["gamma"]);
    expect(page2.body.result_info.cursor).toBeUndefined();
    const euList = await api("GET", base, admin.value, undefined, { "cf-r2-jurisdiction": "eu" });
    expect(euList.body.result.buckets.map((b: { name: string }) => b.name)).toEqual(["beta"]);

    emu.putObject("gamma", "k", "v");
    const notEmpty = await api("DELETE", `${base}/gamma`, admin.value);
    expect([notEmpty.status, notEmpty.body.errors[0]?.code]).toEqual([409, 10008]);
    const del = await api("DELETE", `${base}/alpha`, admin.value);
    expect(del.body).toEqual({ success: true, errors: [], messages: [], result: {} });
    expect((await api("GET", `${base}/alpha`, admin.value)).status).toBe(404);
    expect((await api("GET", base, admin.value, undefined, { "cf-r2-jurisdiction": "mars" })).status).toBe(
      400,
    );
  });

  it("refuses bucket-scoped tokens with 10000", async () => {
    emu.createBucket("scoped");
    const scoped = emu.seedToken({ scope: "account", preset: "r2-bucket-write", buckets: ["scoped"] });
    const res = await api("GET", `${base}/scoped`, scoped.value);
    expect([res.status, res.body.errors[0]?.code]).toEqual([403, 10000]);
    expect((await api("GET", base, scoped.value)).body.errors[0]?.code).toBe(10000);
  });
});

describe("S3 operations with @aws-sdk/client-s3", () => {
  let emu: Emulator;
  let s3: S3Client;
  beforeAll(async () => {
    emu = await startEmulator();
    emu.createBucket("ops");
    s3 = s3For(
      emu,
      tokenCreds(emu.seedToken({ scope: "account", preset: "r2-bucket-write", buckets: ["ops"] })),
    );
  });
  afterAll(() => emu.close());

  it("lists with delimiter, max-keys and continuation tokens", async () => {
    for (const k of ["a/1", "a/2", "b/1", "c", "d", "e/x/y"]) emu.putObject("ops", `list/${k}`, k);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({
          Bucket: "ops",
          Prefix: "list/",
          Delimiter: "/",
          MaxKeys: 2,
          ContinuationToken: token,
        }),
      );
      seen.push(
        ...(page.CommonPrefixes ?? []).map((p) => `P:${p.Prefix}`),
        ...(page.Contents ?? []).map((c) => `K:${c.Key}`),
      );
      token = page.NextContinuationToken;
      expect(page.IsTruncated).toBe(token !== undefined);
    } while (token);
    expect(seen.sort()).toEqual(["K:list/c", "K:list/d", "P:list/a/", "P:list/b/", "P:list/e/"]);
  });

  it("copies, deletes in batches and uploads in parts", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "ops", Key: "src.txt", Body: "copy me" }));
    await s3.send(new CopyObjectCommand({ Bucket: "ops", Key: "dst.txt", CopySource: "ops/src.txt" }));
    expect(new TextDecoder().decode(emu.getObject("ops", "dst.txt"))).toBe("copy me");
    const del = await s3.send(
      new DeleteObjectsCommand({
        Bucket: "ops",
        Delete: { Objects: [{ Key: "src.txt" }, { Key: "dst.txt" }] },
      }),
    );
    expect(del.Deleted?.map((d) => d.Key).sort()).toEqual(["dst.txt", "src.txt"]);
    expect(emu.getObject("ops", "src.txt")).toBeUndefined();

    const big = Buffer.alloc(5 * 1024 * 1024 + 3, 7);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "ops", Key: "mp.bin" }));
    const p1 = await s3.send(
      new UploadPartCommand({ Bucket: "ops", Key: "mp.bin", UploadId, PartNumber: 1, Body: big }),
    );
    const p2 = await s3.send(
      new UploadPartCommand({ Bucket: "ops", Key: "mp.bin", UploadId, PartNumber: 2, Body: "tail" }),
    );
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: "ops",
        Key: "mp.bin",
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag },
            { PartNumber: 2, ETag: p2.ETag },
          ],
        },
      }),
    );
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-2"$/);
    expect(emu.getObject("ops", "mp.bin")?.length).toBe(big.length + 4);
  });
});

describe("faults, latency and rate limit", () => {
  let emu: Emulator;
  let api: ReturnType<typeof client>;
  let minter: { id: string; value: string };
  let base: string;
  const body = () => ({ name: "f", policies: [bucketPolicy(emu, ITEM_READ, "fault-bucket")] });
  beforeAll(async () => {
    emu = await startEmulator();
    api = client(emu);
    minter = emu.seedToken({ scope: "account", preset: "minter" });
    base = `/accounts/${emu.accountId}/tokens`;
  });
  afterAll(() => emu.close());
  afterEach(() => {
    emu.clearFaults();
    emu.set({ latencyMs: 0, rateLimit: undefined });
  });

  it("status faults hit the nth call for the given number of times", async () => {
    emu.injectFault({ route: "tokens.verify", nth: 2, times: 2, kind: { type: "status", status: 503 } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await api("GET", `${base}/verify`, minter.value)).status);
    expect(statuses).toEqual([200, 503, 503, 200]);
    emu.injectFault({ route: "tokens.create", kind: { type: "status", status: 429, retryAfter: "7" } });
    const limited = await api("POST", base, minter.value, body());
    expect([limited.status, limited.headers.get("retry-after"), limited.body.errors[0]?.code]).toEqual([
      429,
      "7",
      971,
    ]);
    expect(emu.liveChildTokens()).toEqual([]);
    // Scoped faults leave the other scope alone.
    emu.injectFault({ route: "tokens.verify", scope: "user", kind: { type: "status", status: 500 } });
    expect((await api("GET", `${base}/verify`, minter.value)).status).toBe(200);
  });

  it("drop-after performs the operation, drop-before does not", async () => {
    emu.injectFault({ route: "tokens.create", kind: { type: "drop-after" } });
    await expect(api("POST", base, minter.value, body())).rejects.toThrow();
    expect(emu.liveChildTokens()).toHaveLength(1);
    expect(emu.calls.at(-1)).toMatchObject({ route: "tokens.create", status: 0, tokenId: minter.id });
    const id = emu.liveChildTokens()[0]?.id;
    emu.injectFault({ route: "tokens.delete", kind: { type: "drop-before" } });
    await expect(api("DELETE", `${base}/${id}`, minter.value)).rejects.toThrow();
    expect(emu.liveChildTokens()).toHaveLength(1);
    expect((await api("DELETE", `${base}/${id}`, minter.value)).status).toBe(200);
  });

  it("malformed and success-false bodies", async () => {
    emu.injectFault({ route: "tokens.create", kind: { type: "malformed" } });
    const res = await fetch(`${emu.apiUrl}${base}`, {
      method: "POST",
      headers: { authorization: `Bearer ${minter.value}`, "content-type": "application/json" },
      body: JSON.stringify(body()),
    });
    expect(res.status).toBe(200);
    await expect(res.json()).rejects.toThrow();
    expect(emu.liveChildTokens()).toHaveLength(1);
    emu.injectFault({ route: "tokens.list", kind: { type: "success-false" } });
    const sf = await api("GET", base, minter.value);
    expect([sf.status, sf.body.success, sf.body.result]).toEqual([200, false, null]);
    expect(sf.body.errors).toHaveLength(1);
  });

  it("adds latency globally and per fault", async () => {
    emu.set({ latencyMs: 120 });
    let t = Date.now();
    await api("GET", `${base}/verify`, minter.value);
    expect(Date.now() - t).toBeGreaterThanOrEqual(110);
    emu.set({ latencyMs: 0 });
    emu.injectFault({ route: "tokens.verify", kind: { type: "latency", ms: 150 } });
    t = Date.now();
    expect((await api("GET", `${base}/verify`, minter.value)).status).toBe(200);
    expect(Date.now() - t).toBeGreaterThanOrEqual(140);
  });

  it("rate-limits per calling token with 429, code 971 and Retry-After", async () => {
    emu.set({ rateLimit: { requests: 3, windowMs: 1500 } });
    const other = emu.seedToken({ scope: "account", preset: "minter" });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await api("GET", `${base}/verify`, minter.value)).status);
    const limited = await api("GET", `${base}/verify`, minter.value);
    expect(statuses).toEqual([200, 200, 200]);
    expect([limited.status, limited.body.errors[0]?.code, limited.headers.get("retry-after")]).toEqual([
      429,
      971,
      "2",
    ]);
    expect((await api("GET", `${base}/verify`, other.value)).status).toBe(200);
    emu.set({ rateLimit: undefined });
    expect((await api("GET", `${base}/verify`, minter.value)).status).toBe(200);
  });

  it("refuses well-known IDs after Cloudflare rotated them", async () => {
    const rotated = await startEmulator({
      permissionGroupIds: { "Workers R2 Storage Bucket Item Write": "f".repeat(32) },
    });
    try {
      const a = client(rotated);
      const m = rotated.seedToken({ scope: "account", preset: "minter" });
      const old = await a("POST", `/accounts/${rotated.accountId}/tokens`, m.value, {
        name: "x",
        policies: [bucketPolicy(rotated, ITEM_WRITE, "b-1")],
      });
      expect([old.status, old.body.errors[0]?.code]).toEqual([400, 1001]);
      const name = encodeURIComponent("Workers R2 Storage Bucket Item Write");
      const found = await a(
        "GET",
        `/accounts/${rotated.accountId}/tokens/permission_groups?name=${name}`,
        m.value,
      );
      expect(found.body.result[0].id).toBe("f".repeat(32));
      const ok = await a("POST", `/accounts/${rotated.accountId}/tokens`, m.value, {
        name: "x",
        policies: [bucketPolicy(rotated, "f".repeat(32), "b-1")],
      });
      expect(ok.status).toBe(200);
    } finally {
      await rotated.close();
    }
  });
});

describe("inspection over HTTP", () => {
  it("seeds, creates buckets, injects faults, sets options and reports state", async () => {
    const emu = await startEmulator();
    try {
      const post = (p: string, b: unknown) =>
        fetch(`${emu.inspectUrl}${p}`, { method: "POST", body: JSON.stringify(b) }).then(async (r) => ({
          status: r.status,
          body: (await r.json()) as Record<string, unknown>,
        }));
      const seeded = await post("/seed", { scope: "account", preset: "minter" });
      expect(seeded.body.value).toMatch(/^cfat_/);
      expect((await post("/buckets", { name: "inspected", jurisdiction: "eu" })).status).toBe(200);
      expect(
        (await post("/faults", { route: "tokens.verify", kind: { type: "status", status: 502 } })).status,
      ).toBe(200);
      expect((await post("/faults", { route: "nope", kind: { type: "status", status: 502 } })).status).toBe(
        400,
      );
      expect((await post("/set", { latencyMs: 1 })).status).toBe(200);
      const api = client(emu);
      expect(
        (await api("GET", `/accounts/${emu.accountId}/tokens/verify`, String(seeded.body.value))).status,
      ).toBe(502);
      const tokens = (await (await fetch(`${emu.inspectUrl}/tokens`)).json()) as {
        id: string;
        seeded: boolean;
      }[];
      expect(tokens).toEqual([expect.objectContaining({ id: seeded.body.id, seeded: true })]);
      expect(JSON.stringify(tokens)).not.toContain(String(seeded.body.value));
      const calls = (await (await fetch(`${emu.inspectUrl}/calls`)).json()) as {
        route: string;
        status: number;
      }[];
      expect(calls).toEqual([expect.objectContaining({ route: "tokens.verify", status: 502 })]);
      expect(await (await fetch(`${emu.inspectUrl}/s3-calls`)).json()).toEqual([]);
      expect((await fetch(`${emu.inspectUrl}/faults`, { method: "DELETE" })).status).toBe(200);
      expect(emu.getObject("inspected", "nothing", "eu")).toBeUndefined();
    } finally {
      await emu.close();
    }
  });
});

describe("OpenAPI contract (fixtures/cloudflare-openapi-subset.json)", () => {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema(openapi as object, "cf");
  const pointer = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");
  const responseSchema = (path: string, method: string, status: string) =>
    `cf#/paths/${pointer(path)}/${method}/responses/${status}/content/application~1json/schema`;
  function expectValid(ref: string, body: unknown) {
    const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
    const ok = validate(body);
    expect(ok, `${ref}: ${ajv.errorsText(validate.errors)}`).toBe(true);
  }
  // The IAM 4XX schemas are allOf(success schema, failure schema), which nothing can satisfy
  // (success must be both true and false), so IAM failures are checked against the failure part.
  const IAM_FAILURE = "cf#/components/schemas/iam_api-response-common-failure";

  let emu: Emulator;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    emu = await startEmulator();
    api = client(emu);
    emu.createBucket("contract");
  });

  it("the validator is not vacuous", () => {
    const validate = ajv.compile({ $ref: responseSchema("/user/tokens/verify", "get", "200") });
    expect(validate({ success: true, errors: [], messages: [], result: { id: "x" } })).toBe(false);
    expect(validate({ success: true, errors: [], messages: [], result: { id: "x", status: "active" } })).toBe(
      true,
    );
    expect(ajv.validate(IAM_FAILURE, { success: false, errors: [], messages: [], result: null })).toBe(true);
    expect(
      ajv.validate(IAM_FAILURE, { success: false, errors: [{ code: 5 }], messages: [], result: null }),
    ).toBe(false);
  });
  afterAll(() => emu.close());

  it("user token responses match the schema", async () => {
    const m = emu.seedToken({ scope: "user", preset: "user-minter" });
    const created = await api("POST", "/user/tokens", m.value, {
      name: "contract",
      policies: [bucketPolicy(emu, ITEM_WRITE, "contract")],
      expires_on: inAnHour(),
      not_before: "2020-01-01T00:00:00Z",
    });
    expectValid(responseSchema("/user/tokens", "post", "200"), created.body);
    const id = created.body.result.id;
    expectValid(
      responseSchema("/user/tokens", "get", "200"),
      (await api("GET", "/user/tokens", m.value)).body,
    );
    expectValid(
      responseSchema("/user/tokens/{token_id}", "get", "200"),
      (await api("GET", `/user/tokens/${id}`, m.value)).body,
    );
    const updated = await api("PUT", `/user/tokens/${id}`, m.value, {
      name: "c2",
      policies: [bucketPolicy(emu, ITEM_READ, "contract")],
    });
    expectValid(responseSchema("/user/tokens/{token_id}", "put", "200"), updated.body);
    const rolled = await api("PUT", `/user/tokens/${id}/value`, m.value, {});
    expectValid(responseSchema("/user/tokens/{token_id}/value", "put", "200"), rolled.body);
    expectValid(
      responseSchema("/user/tokens/verify", "get", "200"),
      (await api("GET", "/user/tokens/verify", rolled.body.result)).body,
    );
    expectValid(
      responseSchema("/user/tokens/permission_groups", "get", "200"),
      (await api("GET", "/user/tokens/permission_groups", m.value)).body,
    );
    expectValid(
      responseSchema("/user/tokens/{token_id}", "delete", "200"),
      (await api("DELETE", `/user/tokens/${id}`, m.value)).body,
    );
    expectValid(IAM_FAILURE, (await api("GET", "/user/tokens/verify", "cfut_unknown")).body);
    expectValid(
      IAM_FAILURE,
      (await api("GET", "/user/tokens/verify", undefined, undefined, { authorization: "Basic x" })).body,
    );
    expectValid(IAM_FAILURE, (await api("POST", "/user/tokens", m.value, { name: "" })).body);
  });

  it("bucket and temporary-credential responses match the schema", async () => {
    const m = emu.seedToken({ scope: "account", preset: "minter" });
    const buckets = "/accounts/{account_id}/r2/buckets";
    const bucket = "/accounts/{account_id}/r2/buckets/{bucket_name}";
    const base = `/accounts/${emu.accountId}/r2/buckets`;
    expectValid(
      responseSchema(buckets, "post", "200"),
      (await api("POST", base, m.value, { name: "made", locationHint: "weur" })).body,
    );
    expectValid(
      responseSchema(buckets, "post", "4XX"),
      (await api("POST", base, m.value, { name: "made" })).body,
    );
    expectValid(responseSchema(bucket, "get", "200"), (await api("GET", `${base}/made`, m.value)).body);
    expectValid(responseSchema(bucket, "get", "4XX"), (await api("GET", `${base}/nothing`, m.value)).body);
    expectValid(responseSchema(bucket, "delete", "200"), (await api("DELETE", `${base}/made`, m.value)).body);
    const temp = "/accounts/{account_id}/r2/temp-access-credentials";
    const tpath = `/accounts/${emu.accountId}/r2/temp-access-credentials`;
    const req = {
      bucket: "contract",
      parentAccessKeyId: m.id,
      permission: "object-read-only",
      ttlSeconds: 60,
    };
    expectValid(responseSchema(temp, "post", "200"), (await api("POST", tpath, m.value, req)).body);
    expectValid(
      responseSchema(temp, "post", "4XX"),
      (await api("POST", tpath, m.value, { ...req, ttlSeconds: 0 })).body,
    );
    // Our request bodies are valid requests per the schema, too.
    expectValid(`cf#/components/schemas/r2_temp_access_creds_request`, req);
  });
});

describe("cli", () => {
  it("prints one JSON line with --json, serves it, and stops on SIGTERM", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "emulator/cli.ts", "--json", "--bucket", "cli-bucket"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("\n")) resolve(out.split("\n")[0] ?? "");
        });
        child.once("exit", (code) => reject(new Error(`cli exited with ${code}`)));
      });
      const info = JSON.parse(line) as {
        apiUrl: string;
        accountId: string;
        token: string;
        bucket: string;
        inspectUrl: string;
      };
      expect(info.bucket).toBe("cli-bucket");
      const verify = await fetch(`${info.apiUrl}/accounts/${info.accountId}/tokens/verify`, {
        headers: { authorization: `Bearer ${info.token}` },
      });
      expect(verify.status).toBe(200);
    } finally {
      const exited = child.exitCode === null ? new Promise((r) => child.once("exit", r)) : Promise.resolve();
      child.kill("SIGTERM");
      await exited;
    }
  });
});
