// The emulator's S3 endpoint with token credentials: SigV4 (header and presigned), what a token
// may do on which bucket, and the propagation and revocation delays.
import { createHash } from "node:crypto";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";
import { describe, expect, it } from "vitest";
import { useEmulator } from "../helpers/use-emulator.js";
import {
  bucketPolicy,
  client,
  ITEM_READ,
  ITEM_WRITE,
  inAnHour,
  NodeHash,
  s3For,
  s3Status,
  sha256,
  tokenCreds,
} from "./support.js";

const emu = useEmulator({ buckets: ["granted", "other", ["euro", "eu"]], leftovers: "keep" });
const api = client(() => emu.emulator);

describe("S3 endpoint", () => {
  async function mint(group = ITEM_WRITE, bucket = "granted", jurisdiction = "default") {
    const res = await api("POST", `/accounts/${emu.emulator.accountId}/tokens`, emu.minter.value, {
      name: "s3 test",
      policies: [bucketPolicy(emu.emulator, group, bucket, jurisdiction)],
      expires_on: inAnHour(),
    });
    expect(res.status).toBe(200);
    return { id: res.body.result.id as string, value: res.body.result.value as string };
  }

  it("token credentials put, get, list and delete on the granted bucket only", async () => {
    const s3 = s3For(emu.emulator, tokenCreds(await mint()));
    await s3.send(
      new PutObjectCommand({
        Bucket: "granted",
        Key: "dir/a b+c.txt",
        Body: "hello",
        ContentType: "text/plain",
      }),
    );
    expect(new TextDecoder().decode(emu.emulator.getObject("granted", "dir/a b+c.txt"))).toBe("hello");
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
    const eu = s3For(emu.emulator, tokenCreds(await mint()), "eu");
    expect((await s3Status(eu.send(new GetObjectCommand({ Bucket: "granted", Key: "x" })))).status).toBe(403);
  });

  it("read-only tokens cannot write; wrong secrets and unknown keys are refused", async () => {
    const reader = await mint(ITEM_READ);
    emu.emulator.putObject("granted", "r.txt", "r");
    const s3 = s3For(emu.emulator, tokenCreds(reader));
    expect((await s3Status(s3.send(new GetObjectCommand({ Bucket: "granted", Key: "r.txt" })))).status).toBe(
      200,
    );
    expect(await s3Status(s3.send(new PutObjectCommand({ Bucket: "granted", Key: "w", Body: "w" })))).toEqual(
      {
        status: 403,
        name: "AccessDenied",
      },
    );
    const wrong = s3For(emu.emulator, { accessKeyId: reader.id, secretAccessKey: sha256("not the value") });
    expect(await s3Status(wrong.send(new GetObjectCommand({ Bucket: "granted", Key: "r.txt" })))).toEqual({
      status: 403,
      name: "SignatureDoesNotMatch",
    });
    const unknown = s3For(emu.emulator, { accessKeyId: "0".repeat(32), secretAccessKey: sha256("x") });
    expect(
      (await s3Status(unknown.send(new GetObjectCommand({ Bucket: "granted", Key: "r.txt" })))).status,
    ).toBe(401);
  });

  it("deleted tokens are refused, after the revocation delay", async () => {
    emu.emulator.set({ revocationDelayMs: 300 });
    const t = await mint();
    const s3 = s3For(emu.emulator, tokenCreds(t));
    emu.emulator.putObject("granted", "d.txt", "d");
    expect((await s3Status(s3.send(new GetObjectCommand({ Bucket: "granted", Key: "d.txt" })))).status).toBe(
      200,
    );
    await api("DELETE", `/accounts/${emu.emulator.accountId}/tokens/${t.id}`, emu.minter.value);
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
    emu.emulator.set({ propagationDelayMs: 300 });
    const s3 = s3For(emu.emulator, tokenCreds(await mint()));
    emu.emulator.putObject("granted", "p.txt", "p");
    expect(await s3Status(s3.send(new HeadObjectCommand({ Bucket: "granted", Key: "p.txt" })))).toMatchObject(
      { status: 403 },
    );
    await new Promise((r) => setTimeout(r, 350));
    expect((await s3Status(s3.send(new HeadObjectCommand({ Bucket: "granted", Key: "p.txt" })))).status).toBe(
      200,
    );
  });

  /** A GET URL for `key` in bucket `granted`, presigned with `t`'s S3 credentials by the AWS signer. */
  async function presignedGet(t: { id: string; value: string }, key: string, expiresIn: number) {
    const endpoint = new URL(emu.emulator.s3Endpoint());
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
        path: `/granted/${key}`,
        query: {},
        headers: { host: endpoint.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
      },
      { expiresIn },
    );
    const qs = new URLSearchParams(signed.query as Record<string, string>).toString();
    return { url: `${endpoint.origin}${signed.path}?${qs}`, qs };
  }

  it("verifies presigned GET URLs", async () => {
    const t = await mint();
    emu.emulator.putObject("granted", "pre/signed.txt", "presigned body");
    const { url, qs } = await presignedGet(t, "pre/signed.txt", 60);
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("presigned body");
    const tampered = await fetch(`${emu.emulator.s3Endpoint()}/granted/pre/other.txt?${qs}`);
    expect(tampered.status).toBe(403);
    expect(await tampered.text()).toContain("<Code>SignatureDoesNotMatch</Code>");
  });

  it("answers a presigned URL past its X-Amz-Expires 403 ExpiredRequest once the clock moves on", async () => {
    const t = await mint();
    emu.emulator.putObject("granted", "pre/late.txt", "late");
    const { url } = await presignedGet(t, "pre/late.txt", 120);
    emu.emulator.set({ clockOffsetMs: 110_000 });
    expect((await fetch(url)).status).toBe(200);
    // POST /set moves it too, for the demo and other processes.
    await fetch(`${emu.emulator.inspectUrl}/set`, {
      method: "POST",
      body: JSON.stringify({ clockOffsetMs: 121_000 }),
    });
    const late = await fetch(url);
    expect(late.status).toBe(403);
    expect(await late.text()).toContain("<Code>ExpiredRequest</Code>");
  });
});
