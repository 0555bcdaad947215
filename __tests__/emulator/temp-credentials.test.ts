// The emulator's R2 temporary credentials: request validation, who may mint from which parent, and
// how S3 scopes, refuses and expires them.
import {
  GetBucketCorsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { useEmulator } from "../helpers/use-emulator.js";
import { accountPolicy, client, ITEM_READ, STORAGE_READ, s3For, s3Status, sha256 } from "./support.js";

const emu = useEmulator({ buckets: ["tmp-bucket", ["only-eu", "eu"]], leftovers: "keep" });
const api = client(() => emu.emulator);

describe("R2 temporary credentials", () => {
  let path: string;
  beforeAll(() => {
    path = `/accounts/${emu.emulator.accountId}/r2/temp-access-credentials`;
  });

  const valid = () => ({
    bucket: "tmp-bucket",
    parentAccessKeyId: emu.minter.id,
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
    ["unknown field (ignored)", { actions: ["GetObject"], parentSecretAccessKey: "x" }, 200, undefined],
    ["unknown permission", { permission: "read" }, 400, 1001],
    ["missing bucket", { bucket: undefined }, 400, 1001],
    ["invalid bucket name", { bucket: "Bad_Name" }, 400, 10005],
    ["unknown bucket", { bucket: "no-such-bucket" }, 404, 10006],
    ["parent id not hex (an unknown parent)", { parentAccessKeyId: "example-access-key-id" }, 400, 1001],
    ["unknown parent", { parentAccessKeyId: "0".repeat(32) }, 400, 1001],
    ["prefixes not an array", { prefixes: "a/" }, 400, 1001],
    ["objects with a number", { objects: [1] }, 400, 1001],
  ])("%s", async (_label, patch, status, code) => {
    const body = JSON.parse(JSON.stringify({ ...valid(), ...patch }));
    const res = await api("POST", path, emu.minter.value, body);
    expect(res.status).toBe(status);
    if (code === undefined) {
      expect(Object.keys(res.body.result).sort()).toEqual(["accessKeyId", "secretAccessKey", "sessionToken"]);
      expect(res.body.result.accessKeyId).toMatch(/^[0-9a-f]{32}$/);
    } else {
      expect(res.body.errors[0]?.code).toBe(code);
      expect(res.body.result).toBeNull();
    }
  });

  it("answers a parent id that is not 32 hex characters as it answers an unknown parent", async () => {
    const notHex = await api("POST", path, emu.minter.value, { ...valid(), parentAccessKeyId: "not-an-id" });
    const unknown = await api("POST", path, emu.minter.value, {
      ...valid(),
      parentAccessKeyId: "0".repeat(32),
    });
    expect([notHex.status, notHex.body.errors]).toEqual([unknown.status, unknown.body.errors]);
    expect(notHex.body.errors[0]?.message).not.toMatch(/hex/);
  });

  it("by default mints only for an account-level Storage Write caller, within what the parent holds", async () => {
    const reader = emu.emulator.seedToken({
      scope: "account",
      policies: [
        {
          effect: "allow",
          permission_groups: [{ id: ITEM_READ }],
          resources: { [`com.cloudflare.edge.r2.bucket.${emu.emulator.accountId}_default_tmp-bucket`]: "*" },
        },
      ],
    });
    const storageReader = emu.emulator.seedToken({
      scope: "account",
      policies: [accountPolicy(emu.emulator, STORAGE_READ)],
    });
    const forReader = { ...valid(), parentAccessKeyId: reader.id, permission: "object-read-only" };
    // The Storage Write minter mints for another parent, within what that parent holds.
    expect((await api("POST", path, emu.minter.value, forReader)).status).toBe(200);
    const beyond = await api("POST", path, emu.minter.value, {
      ...forReader,
      permission: "object-read-write",
    });
    expect([beyond.status, beyond.body.errors[0]?.code]).toEqual([403, 9109]);
    const admin = await api("POST", path, emu.minter.value, { ...forReader, permission: "admin-read-only" });
    expect([admin.status, admin.body.errors[0]?.code]).toEqual([403, 9109]);
    // A bucket-scoped token is refused on R2 REST endpoints, even for itself.
    const own = await api("POST", path, reader.value, forReader);
    expect([own.status, own.body.errors[0]?.code]).toEqual([403, 10000]);
    // An account-level token without Storage Write may not mint, not even for itself.
    const self = await api("POST", path, storageReader.value, {
      ...valid(),
      parentAccessKeyId: storageReader.id,
      permission: "object-read-only",
    });
    expect([self.status, self.body.errors[0]?.code]).toEqual([403, 10000]);
  });

  it("tempCredentialCallers: parent-or-storage-write and parent let a parent mint for itself", async () => {
    const storageReader = emu.emulator.seedToken({
      scope: "account",
      policies: [accountPolicy(emu.emulator, STORAGE_READ)],
    });
    const self = { ...valid(), parentAccessKeyId: storageReader.id, permission: "object-read-only" };
    const forOther = { ...self, parentAccessKeyId: storageReader.id };
    emu.emulator.set({ tempCredentialCallers: "parent-or-storage-write" });
    expect((await api("POST", path, storageReader.value, self)).status).toBe(200);
    expect((await api("POST", path, emu.minter.value, forOther)).status).toBe(200);
    emu.emulator.set({ tempCredentialCallers: "parent" });
    expect((await api("POST", path, storageReader.value, self)).status).toBe(200);
    const notParent = await api("POST", path, emu.minter.value, forOther);
    expect([notParent.status, notParent.body.errors[0]?.code]).toEqual([403, 10000]);
  });

  it("with bucket-scoped callers allowed, such a parent mints for itself as far as tempCredentialCallers lets it", async () => {
    const writer = emu.emulator.seedToken({
      scope: "account",
      preset: "r2-bucket-write",
      buckets: ["tmp-bucket"],
    });
    const self = { ...valid(), parentAccessKeyId: writer.id };
    emu.emulator.set({ assumptions: { bucketScopedRestCallers: "allowed" } });
    // storage-write (the default) still refuses it: it is not a Storage Write token.
    expect((await api("POST", path, writer.value, self)).body.errors[0]?.code).toBe(10000);
    emu.emulator.set({ tempCredentialCallers: "parent-or-storage-write" });
    expect((await api("POST", path, writer.value, self)).status).toBe(200);
    expect((await api("POST", path, writer.value, { ...self, permission: "admin-read-only" })).status).toBe(
      403,
    );
  });

  it("scopes S3 access to the bucket, permission and prefixes", async () => {
    emu.emulator.putObject("tmp-bucket", "ci/run-1/in.txt", "in");
    emu.emulator.putObject("tmp-bucket", "elsewhere.txt", "out");
    const res = await api("POST", path, emu.minter.value, {
      ...valid(),
      prefixes: ["ci/run-1/"],
      objects: ["exact.txt"],
    });
    const creds = res.body.result as { accessKeyId: string; secretAccessKey: string; sessionToken: string };
    const s3 = s3For(emu.emulator, creds);
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
    const noSession = s3For(emu.emulator, {
      accessKeyId: creds.accessKeyId,
      secretAccessKey: creds.secretAccessKey,
    });
    expect(
      await s3Status(noSession.send(new GetObjectCommand({ Bucket: "tmp-bucket", Key: "ci/run-1/in.txt" }))),
    ).toEqual({
      status: 403,
      name: "AccessDenied",
    });

    const ro = await api("POST", path, emu.minter.value, { ...valid(), permission: "object-read-only" });
    const roS3 = s3For(emu.emulator, ro.body.result);
    // Bucket configuration needs an admin permission.
    expect((await s3Status(roS3.send(new GetBucketCorsCommand({ Bucket: "tmp-bucket" })))).status).toBe(403);
    const adm = await api("POST", path, emu.minter.value, { ...valid(), permission: "admin-read-only" });
    const admS3 = s3For(emu.emulator, adm.body.result);
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

  it("finds the bucket in the jurisdiction of cf-r2-jurisdiction only, by default", async () => {
    const without = await api("POST", path, emu.minter.value, { ...valid(), bucket: "only-eu" });
    expect([without.status, without.body.errors[0]?.code]).toEqual([404, 10006]);
    const inDefault = await api("POST", path, emu.minter.value, valid(), { "cf-r2-jurisdiction": "eu" });
    expect([inDefault.status, inDefault.body.errors[0]?.code]).toEqual([404, 10006]);
    const mars = await api("POST", path, emu.minter.value, valid(), { "cf-r2-jurisdiction": "mars" });
    expect(mars.status).toBe(400);
    const high = await api("POST", path, emu.minter.value, valid(), { "cf-r2-jurisdiction": "fedramp-high" });
    expect([high.status, high.body.errors[0]?.message]).toEqual([400, expect.stringMatching(/not modelled/)]);
  });

  it("tempCredentialJurisdiction any: looks in every jurisdiction and ignores the header", async () => {
    emu.emulator.set({ assumptions: { tempCredentialJurisdiction: "any" } });
    const eu = await api("POST", path, emu.minter.value, { ...valid(), bucket: "only-eu" });
    expect(eu.status).toBe(200);
    const other = await api("POST", path, emu.minter.value, valid(), { "cf-r2-jurisdiction": "eu" });
    expect(other.status).toBe(200);
  });

  it("mints in the header's jurisdiction for its S3 endpoint, and dies with its parent or its ttl", async () => {
    emu.emulator.putObject("only-eu", "e.txt", "eu", "eu");
    const eu = await api(
      "POST",
      path,
      emu.minter.value,
      { ...valid(), bucket: "only-eu" },
      { "cf-r2-jurisdiction": "eu" },
    );
    expect(eu.status).toBe(200);
    expect(
      (
        await s3Status(
          s3For(emu.emulator, eu.body.result, "eu").send(
            new GetObjectCommand({ Bucket: "only-eu", Key: "e.txt" }),
          ),
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await s3Status(
          s3For(emu.emulator, eu.body.result).send(new GetObjectCommand({ Bucket: "only-eu", Key: "e.txt" })),
        )
      ).status,
    ).toBe(403);

    const parent = emu.emulator.seedToken({
      scope: "account",
      preset: "r2-bucket-write",
      buckets: ["tmp-bucket"],
    });
    emu.emulator.putObject("tmp-bucket", "p.txt", "p");
    const child = await api("POST", path, emu.minter.value, { ...valid(), parentAccessKeyId: parent.id });
    expect(child.status).toBe(200);
    const s3 = s3For(emu.emulator, child.body.result);
    expect(
      (await s3Status(s3.send(new GetObjectCommand({ Bucket: "tmp-bucket", Key: "p.txt" })))).status,
    ).toBe(200);
    await api("DELETE", `/accounts/${emu.emulator.accountId}/tokens/${parent.id}`, emu.minter.value);
    expect(
      (await s3Status(s3.send(new GetObjectCommand({ Bucket: "tmp-bucket", Key: "p.txt" })))).status,
    ).toBe(403);

    const short = await api("POST", path, emu.minter.value, { ...valid(), ttlSeconds: 1 });
    emu.emulator.set({ propagationDelayMs: 200 });
    const shortS3 = s3For(emu.emulator, short.body.result);
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

  it("tempAccessKeyId parent: credentials reuse the parent's key id and S3 tells them apart by session token", async () => {
    emu.emulator.set({ tempAccessKeyId: "parent" });
    const parent = emu.emulator.seedToken({
      scope: "account",
      preset: "r2-bucket-write",
      buckets: ["tmp-bucket"],
    });
    emu.emulator.putObject("tmp-bucket", "shared/a.txt", "a");
    emu.emulator.putObject("tmp-bucket", "other/b.txt", "b");
    const mint = async (body: Record<string, unknown>) =>
      (await api("POST", path, emu.minter.value, { ...valid(), parentAccessKeyId: parent.id, ...body })).body
        .result as { accessKeyId: string; secretAccessKey: string; sessionToken: string };
    const reader = await mint({ permission: "object-read-only", prefixes: ["shared/"] });
    const writer = await mint({ permission: "object-read-write" });
    expect([reader.accessKeyId, writer.accessKeyId]).toEqual([parent.id, parent.id]);
    const get = (creds: Parameters<typeof s3For>[1], Key: string) =>
      s3Status(s3For(emu.emulator, creds).send(new GetObjectCommand({ Bucket: "tmp-bucket", Key })));
    expect((await get(reader, "shared/a.txt")).status).toBe(200);
    expect((await get(reader, "other/b.txt")).status).toBe(403);
    expect((await get(writer, "other/b.txt")).status).toBe(200);
    expect(
      (
        await s3Status(
          s3For(emu.emulator, writer).send(
            new PutObjectCommand({ Bucket: "tmp-bucket", Key: "w", Body: "w" }),
          ),
        )
      ).status,
    ).toBe(200);
    // The parent's own credentials (same key id, no session token) still work as the token's.
    expect(
      (await get({ accessKeyId: parent.id, secretAccessKey: sha256(parent.value) }, "other/b.txt")).status,
    ).toBe(200);
    // A session token of another credential with this key id: the signature cannot match.
    expect(await get({ ...reader, sessionToken: writer.sessionToken }, "shared/a.txt")).toEqual({
      status: 403,
      name: "SignatureDoesNotMatch",
    });
  });

  it("tempAccessKeyId own (the default): each credential has a key id of its own", async () => {
    const a = await api("POST", path, emu.minter.value, valid());
    const b = await api("POST", path, emu.minter.value, valid());
    expect(a.body.result.accessKeyId).not.toBe(emu.minter.id);
    expect(a.body.result.accessKeyId).not.toBe(b.body.result.accessKeyId);
  });
});
