// The emulator's S3 operations as the AWS SDK drives them: listing with delimiters and paging,
// copies, batch deletes and multipart uploads.
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { useEmulator } from "../helpers/use-emulator.js";
import { s3For, tokenCreds } from "./support.js";

const emu = useEmulator({ minters: [], buckets: ["ops"], leftovers: "keep" });

describe("S3 operations with @aws-sdk/client-s3", () => {
  let s3: S3Client;
  beforeAll(() => {
    s3 = s3For(
      emu.emulator,
      tokenCreds(emu.emulator.seedToken({ scope: "account", preset: "r2-bucket-write", buckets: ["ops"] })),
    );
  });

  it("lists with delimiter, max-keys and continuation tokens", async () => {
    for (const k of ["a/1", "a/2", "b/1", "c", "d", "e/x/y"]) emu.emulator.putObject("ops", `list/${k}`, k);
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
    expect(new TextDecoder().decode(emu.emulator.getObject("ops", "dst.txt"))).toBe("copy me");
    const del = await s3.send(
      new DeleteObjectsCommand({
        Bucket: "ops",
        Delete: { Objects: [{ Key: "src.txt" }, { Key: "dst.txt" }] },
      }),
    );
    expect(del.Deleted?.map((d) => d.Key).sort()).toEqual(["dst.txt", "src.txt"]);
    expect(emu.emulator.getObject("ops", "src.txt")).toBeUndefined();

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
    expect(emu.emulator.getObject("ops", "mp.bin")?.length).toBe(big.length + 4);
  });
});
