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
import { client, ITEM_READ, s3For, s3Status } from "./support.js";

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

  it("checks who calls and what the parent holds", async () => {
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
    // The parent itself may mint within what it holds, but not beyond.
    const own = await api("POST", path, reader.value, {
      ...valid(),
      parentAccessKeyId: reader.id,
      permission: "object-read-only",
    });
    expect(own.status).toBe(200);
    const beyond = await api("POST", path, reader.value, { ...valid(), parentAccessKeyId: reader.id });
    expect([beyond.status, beyond.body.errors[0]?.code]).toEqual([403, 9109]);
    const admin = await api("POST", path, emu.minter.value, {
      ...valid(),
      parentAccessKeyId: reader.id,
      permission: "admin-read-only",
    });
    expect([admin.status, admin.body.errors[0]?.code]).toEqual([403, 9109]);
    // A storage writer may mint from another parent; a bucket-scoped token may not.
    expect(
      (
        await api("POST", path, emu.minter.value, {
          ...valid(),
          parentAccessKeyId: reader.id,
          permission: "object-read-only",
        })
      ).status,
    ).toBe(200);
    const other = await api("POST", path, reader.value, valid());
    expect([other.status, other.body.errors[0]?.code]).toEqual([403, 10000]);
    emu.emulator.set({ tempCredentialCallers: "parent" });
    expect(
      (
        await api("POST", path, emu.minter.value, {
          ...valid(),
          parentAccessKeyId: reader.id,
          permission: "object-read-only",
        })
      ).body.errors[0]?.code,
    ).toBe(10000);
    emu.emulator.set({ tempCredentialCallers: "storage-write" });
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

  it("finds the bucket in its jurisdiction, and dies with its parent or its ttl", async () => {
    emu.emulator.putObject("only-eu", "e.txt", "eu", "eu");
    const eu = await api("POST", path, emu.minter.value, { ...valid(), bucket: "only-eu" });
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
    const child = await api("POST", path, parent.value, { ...valid(), parentAccessKeyId: parent.id });
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
});
