// The emulator's switchable assumptions (emulator/assumptions.ts, emulator/README.md): each default,
// each other value, and how tests and other processes switch them.
import { Readable } from "node:stream";
import {
  CreateBucketCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { AwsClient } from "aws4fetch";
import { describe, expect, it } from "vitest";
import { DEFAULT_ASSUMPTIONS, startEmulator } from "../../emulator/index.js";
import { useEmulator } from "../helpers/use-emulator.js";
import { bucketPolicy, client, ITEM_WRITE, inAnHour, s3Status, tokenCreds } from "./support.js";

const emu = useEmulator({ buckets: ["mine", "theirs", ["euro", "eu"]], leftovers: "keep" });
const api = client(() => emu.emulator);
const account = () => `/accounts/${emu.emulator.accountId}`;

function bucketWriter(bucket = "mine") {
  return emu.emulator.seedToken({ scope: "account", preset: "r2-bucket-write", buckets: [bucket] });
}

async function codeOf(p: ReturnType<typeof api>) {
  const res = await p;
  return [res.status, res.body.errors[0]?.code ?? "ok"];
}

describe("defaults and switching", () => {
  it("starts with the defaults, and set() changes only what it names", () => {
    expect(emu.emulator.assumptions).toEqual(DEFAULT_ASSUMPTIONS);
    emu.emulator.set({ assumptions: { queryPlus: "space" } });
    expect(emu.emulator.assumptions).toEqual({ ...DEFAULT_ASSUMPTIONS, queryPlus: "space" });
  });

  it("useEmulator restores them before the next test", () => {
    expect(emu.emulator.assumptions).toEqual(DEFAULT_ASSUMPTIONS);
  });

  it("POST /set switches them from another process and refuses unknown names and values", async () => {
    const set = (body: unknown) =>
      fetch(`${emu.emulator.inspectUrl}/set`, { method: "POST", body: JSON.stringify(body) });
    expect(
      (await set({ assumptions: { bucketCreateConflictStatus: 400, checksumTrailer: "accepted" } })).status,
    ).toBe(200);
    expect(emu.emulator.assumptions).toMatchObject({
      bucketCreateConflictStatus: 400,
      checksumTrailer: "accepted",
    });
    expect((await set({ assumptions: { bucketCreateConflictStatus: 418 } })).status).toBe(400);
    expect((await set({ assumptions: { noSuchThing: "x" } })).status).toBe(400);
    expect((await set({ tempAccessKeyId: "parent", tempCredentialCallers: "parent" })).status).toBe(200);
    const info = (await (await fetch(`${emu.emulator.inspectUrl}/info`)).json()) as { assumptions: unknown };
    expect(info.assumptions).toEqual(emu.emulator.assumptions);
  });

  it("startEmulator refuses an unknown value", async () => {
    await expect(startEmulator({ assumptions: { queryPlus: "maybe" as "space" } })).rejects.toThrow(
      /assumptions.queryPlus/,
    );
  });
});

describe("a file's own assumptions", () => {
  const own = useEmulator({ assumptions: { deleteGoneToken: "403/9109" }, leftovers: "keep" });

  it("are what each of its tests starts with", () => {
    expect(own.emulator.assumptions).toEqual({ ...DEFAULT_ASSUMPTIONS, deleteGoneToken: "403/9109" });
    own.emulator.set({ assumptions: { deleteGoneToken: "404/7003" } });
  });

  it("even after a test changed them", () => {
    expect(own.emulator.assumptions.deleteGoneToken).toBe("403/9109");
  });
});

describe("bucketScopedRestCallers", () => {
  it("refused (default): a token with only bucket item groups gets 403/10000 on every R2 REST endpoint", async () => {
    const t = bucketWriter();
    const temp = { bucket: "mine", parentAccessKeyId: t.id, permission: "object-read-only", ttlSeconds: 60 };
    emu.emulator.set({ tempCredentialCallers: "parent-or-storage-write" });
    for (const [method, path, body] of [
      ["GET", "/r2/buckets", undefined],
      ["GET", "/r2/buckets/mine", undefined],
      ["POST", "/r2/buckets", { name: "new-one" }],
      ["DELETE", "/r2/buckets/mine", undefined],
      ["POST", "/r2/temp-access-credentials", temp],
      ["GET", "/r2/buckets/mine/cors", undefined],
      ["PUT", "/r2/buckets/mine/cors", { rules: [] }],
      ["DELETE", "/r2/buckets/mine/cors", undefined],
    ] as const) {
      expect(await codeOf(api(method, `${account()}${path}`, t.value, body)), `${method} ${path}`).toEqual([
        403, 10000,
      ]);
    }
  });

  it("allowed: such a token reads its own buckets and mints for itself if tempCredentialCallers lets it", async () => {
    emu.emulator.set({ assumptions: { bucketScopedRestCallers: "allowed" } });
    const t = bucketWriter();
    expect(await codeOf(api("GET", `${account()}/r2/buckets/mine`, t.value))).toEqual([200, "ok"]);
    expect(await codeOf(api("GET", `${account()}/r2/buckets/theirs`, t.value))).toEqual([403, 10000]);
    const list = await api("GET", `${account()}/r2/buckets`, t.value);
    expect(list.body.result.buckets.map((b: { name: string }) => b.name)).toEqual(["mine"]);
    // What needs account-level groups stays refused.
    expect(await codeOf(api("POST", `${account()}/r2/buckets`, t.value, { name: "new-one" }))).toEqual([
      403, 10000,
    ]);
    expect(await codeOf(api("GET", `${account()}/r2/buckets/mine/cors`, t.value))).toEqual([403, 10000]);
    const temp = { bucket: "mine", parentAccessKeyId: t.id, permission: "object-read-only", ttlSeconds: 60 };
    expect(await codeOf(api("POST", `${account()}/r2/temp-access-credentials`, t.value, temp))).toEqual([
      403, 10000,
    ]);
    emu.emulator.set({ tempCredentialCallers: "parent-or-storage-write" });
    expect(await codeOf(api("POST", `${account()}/r2/temp-access-credentials`, t.value, temp))).toEqual([
      200,
      "ok",
    ]);
  });
});

describe("bucketCreateConflictStatus", () => {
  it.each([409, 400] as const)(
    "%i with code 10004 on the REST create; S3 CreateBucket stays 409",
    async (status) => {
      emu.emulator.set({ assumptions: { bucketCreateConflictStatus: status } });
      const res = await api("POST", `${account()}/r2/buckets`, emu.minter.value, { name: "mine" });
      expect([res.status, res.body.errors]).toEqual([
        status,
        [{ code: 10004, message: "The bucket you tried to create already exists, and you own it." }],
      ]);
      const s3 = new S3Client({
        endpoint: emu.emulator.s3Endpoint(),
        region: "auto",
        forcePathStyle: true,
        maxAttempts: 1,
        credentials: tokenCreds(emu.minter),
      });
      expect(await s3Status(s3.send(new CreateBucketCommand({ Bucket: "mine" })))).toEqual({
        status: 409,
        name: "BucketAlreadyOwnedByYou",
      });
    },
  );
});

describe("unknownPermissionGroup", () => {
  it.each([
    ["400/1001", 400, 1001],
    ["403/9109", 403, 9109],
    ["404/7003", 404, 7003],
  ] as const)("%s on create and on update", async (value, status, code) => {
    emu.emulator.set({ assumptions: { unknownPermissionGroup: value } });
    const body = (group: string) => ({
      name: "x",
      policies: [bucketPolicy(emu.emulator, group, "mine")],
      expires_on: inAnHour(),
    });
    expect(await codeOf(api("POST", `${account()}/tokens`, emu.minter.value, body("f".repeat(32))))).toEqual([
      status,
      code,
    ]);
    const made = await api("POST", `${account()}/tokens`, emu.minter.value, body(ITEM_WRITE));
    const id = made.body.result.id as string;
    expect(
      await codeOf(api("PUT", `${account()}/tokens/${id}`, emu.minter.value, body("f".repeat(32)))),
    ).toEqual([status, code]);
    await api("DELETE", `${account()}/tokens/${id}`, emu.minter.value);
  });
});

describe("queryPlus", () => {
  const lookup = (query: string) =>
    api("GET", `${account()}/tokens/permission_groups?${query}`, emu.minter.value).then(
      (r) => r.body.result.map((g: { id: string }) => g.id) as string[],
    );

  it("literal (default): a + is a plus, %20 a space", async () => {
    expect(await lookup("name=Workers+R2+Storage+Bucket+Item+Write")).toEqual([]);
    expect(await lookup("name=Workers%20R2%20Storage%20Bucket%20Item%20Write")).toEqual([ITEM_WRITE]);
    expect(await lookup(`name=${encodeURIComponent("Workers R2 Storage Bucket Item Write")}`)).toEqual([
      ITEM_WRITE,
    ]);
  });

  it("space: a + is a space too", async () => {
    emu.emulator.set({ assumptions: { queryPlus: "space" } });
    expect(await lookup("name=Workers+R2+Storage+Bucket+Item+Write")).toEqual([ITEM_WRITE]);
    expect(await lookup("name=Workers%20R2%20Storage%20Bucket%20Item%20Write")).toEqual([ITEM_WRITE]);
  });
});

describe("checksumTrailer", () => {
  // The AWS SDK for JavaScript sends a streamed body as aws-chunked with a CRC32 trailer unless told
  // `requestChecksumCalculation: "WHEN_REQUIRED"` (docs/cloudflare-api.md §8.13).
  function sdk(extra: Partial<S3ClientConfig> = {}) {
    return new S3Client({
      endpoint: emu.emulator.s3Endpoint(),
      region: "auto",
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: tokenCreds(emu.minter),
      ...extra,
    });
  }
  const streamed = (key: string) =>
    new PutObjectCommand({
      Bucket: "mine",
      Key: key,
      Body: Readable.from([Buffer.from("streamed")]),
      ContentLength: 8,
    });

  it("refused (default): the SDK at its default settings gets 501 NotImplemented naming the header", async () => {
    const error = await sdk()
      .send(streamed("trailer.txt"))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(S3ServiceException);
    expect((error as S3ServiceException).name).toBe("NotImplemented");
    expect((error as S3ServiceException).$metadata.httpStatusCode).toBe(501);
    expect((error as S3ServiceException).message).toMatch(/x-amz-checksum-crc32/);
    expect(emu.emulator.getObject("mine", "trailer.txt")).toBeUndefined();
    // The setting Cloudflare's docs prescribe avoids the trailer.
    const fixed = sdk({
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    await fixed.send(streamed("fixed.txt"));
    expect(new TextDecoder().decode(emu.emulator.getObject("mine", "fixed.txt"))).toBe("streamed");
    // A body the SDK holds in memory carries its checksum in a header, not a trailer.
    await sdk().send(new PutObjectCommand({ Bucket: "mine", Key: "buffered.txt", Body: "in memory" }));
    expect(new TextDecoder().decode(emu.emulator.getObject("mine", "buffered.txt"))).toBe("in memory");
  });

  const chunked = (data: string, trailer: string) =>
    `${Buffer.byteLength(data).toString(16)}\r\n${data}\r\n0\r\n${trailer}\r\n\r\n`;

  it.each(["STREAMING-UNSIGNED-PAYLOAD-TRAILER", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"])(
    "%s: refused by default, stored with checksumTrailer accepted",
    async (payload) => {
      const aws = new AwsClient({ ...tokenCreds(emu.minter), service: "s3", region: "auto", retries: 0 });
      const put = (key: string) =>
        aws.fetch(`${emu.emulator.s3Endpoint()}/mine/${key}`, {
          method: "PUT",
          headers: {
            "x-amz-content-sha256": payload,
            "content-encoding": "aws-chunked",
            "x-amz-decoded-content-length": "5",
            "x-amz-trailer": "x-amz-checksum-crc32",
          },
          // CRC32 of "hello".
          body: chunked("hello", "x-amz-checksum-crc32:NhCmhg=="),
        });
      const refused = await put("raw.txt");
      expect(refused.status).toBe(501);
      expect(await refused.text()).toMatch(
        /<Code>NotImplemented<\/Code><Message>Header &apos;x-amz-checksum-crc32&apos; not implemented/,
      );
      emu.emulator.set({ assumptions: { checksumTrailer: "accepted" } });
      expect((await put("raw.txt")).status).toBe(200);
      expect(new TextDecoder().decode(emu.emulator.getObject("mine", "raw.txt"))).toBe("hello");
    },
  );

  it("accepted: the SDK at its default settings uploads a stream", async () => {
    emu.emulator.set({ assumptions: { checksumTrailer: "accepted" } });
    await sdk().send(streamed("accepted.txt"));
    expect(new TextDecoder().decode(emu.emulator.getObject("mine", "accepted.txt"))).toBe("streamed");
  });
});

describe("deleteGoneToken", () => {
  it.each([
    ["404/7003", 404, 7003],
    ["403/9109", 403, 9109],
  ] as const)(
    "%s for a second DELETE; an id that never existed stays 404/7003",
    async (value, status, code) => {
      emu.emulator.set({ assumptions: { deleteGoneToken: value } });
      const made = await api("POST", `${account()}/tokens`, emu.minter.value, {
        name: "gone",
        policies: [bucketPolicy(emu.emulator, ITEM_WRITE, "mine")],
      });
      const path = `${account()}/tokens/${made.body.result.id}`;
      expect(await codeOf(api("DELETE", path, emu.minter.value))).toEqual([200, "ok"]);
      expect(await codeOf(api("DELETE", path, emu.minter.value))).toEqual([status, code]);
      expect(await codeOf(api("GET", path, emu.minter.value))).toEqual([404, 7003]);
      expect(await codeOf(api("DELETE", `${account()}/tokens/${"0".repeat(32)}`, emu.minter.value))).toEqual([
        404, 7003,
      ]);
    },
  );
});

describe("tempCredentialJurisdiction and S3", () => {
  it("credentials minted with the eu header work on the eu endpoint only", async () => {
    emu.emulator.putObject("euro", "e.txt", "eu", "eu");
    const res = await api(
      "POST",
      `${account()}/r2/temp-access-credentials`,
      emu.minter.value,
      { bucket: "euro", parentAccessKeyId: emu.minter.id, permission: "object-read-only", ttlSeconds: 60 },
      { "cf-r2-jurisdiction": "eu" },
    );
    const creds = res.body.result as { accessKeyId: string; secretAccessKey: string; sessionToken: string };
    const aws = new AwsClient({ ...creds, service: "s3", region: "auto", retries: 0 });
    expect((await aws.fetch(`${emu.emulator.s3Endpoint("eu")}/euro/e.txt`)).status).toBe(200);
    expect((await aws.fetch(`${emu.emulator.s3Endpoint()}/euro/e.txt`)).status).toBe(403);
  });
});
