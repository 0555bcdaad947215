// Tests for the Cloudflare API + R2 S3 emulator (emulator/), over real HTTP on loopback.
import { createHash, createHmac } from "node:crypto";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, PERMISSION_GROUPS, startEmulator } from "../emulator/index.js";
import { expandPolicies, holds, missingToGrant, parsePatterns, targets } from "../emulator/policy.js";

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
