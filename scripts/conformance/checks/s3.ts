// Checks of the R2 S3 endpoint, and the measured propagation delay of a new token.
import { type Check, confirmed, holds, refuted } from "../check.js";
import { GROUP } from "../context.js";
import { describeS3, randomHex, tokenS3Credentials } from "../http.js";

/** An aws-chunked body with one data chunk and a trailing checksum (unsigned chunks). */
function awsChunked(data: string, trailer: string): string {
  return `${Buffer.byteLength(data).toString(16)}\r\n${data}\r\n0\r\n${trailer}\r\n\r\n`;
}

/** CRC32 (IEEE), base64 of the big-endian value, as x-amz-checksum-crc32 carries it. */
function crc32Base64(data: string): string {
  let crc = 0xffffffff;
  for (const byte of Buffer.from(data)) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  const out = Buffer.alloc(4);
  out.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
  return out.toString("base64");
}

export const s3Checks: Check[] = [
  {
    id: "propagation-delay",
    assumption:
      "A new token is refused at S3 with 403 until it has propagated; the run measures how long that takes.",
    async run(ctx) {
      const bucket = await ctx.bucketAtS3();
      const token = await ctx.mustCreateToken("propagation", [
        await ctx.policy(GROUP.itemRead, { [ctx.bucketKey(bucket)]: "*" }),
      ]);
      const missing = `conformance/missing-${randomHex(4)}`;
      const ready = await ctx.waitAccepted(`token ${token.name} (propagation)`, () =>
        ctx.s3(`/${bucket}/${missing}`, tokenS3Credentials(token)),
      );
      if (!ready) return refuted(`not accepted within ${Math.round(ctx.readyTimeoutMs / 1000)} s`);
      ctx.propagation = ready;
      const other = [...ready.refusals.keys()].filter((k) => !k.startsWith("403"));
      return holds(other.length === 0, `refused with ${other.join(", ")} before it was accepted`);
    },
  },
  {
    id: "s3-anonymous",
    assumption: "An anonymous S3 request is refused with 403.",
    async run(ctx) {
      const { bucket, key } = await ctx.probeObject();
      const res = await ctx.s3(`/${bucket}/${key}`, undefined);
      return holds(res.status === 403, describeS3(res));
    },
  },
  {
    id: "s3-unknown-key",
    assumption: "An access key id S3 does not know is answered 401 Unauthorized.",
    async run(ctx) {
      const bucket = await ctx.bucket();
      const res = await ctx.s3(`/${bucket}/conformance/x`, {
        accessKeyId: randomHex(16),
        secretAccessKey: randomHex(32),
      });
      return holds(res.status === 401 && res.code === "Unauthorized", describeS3(res));
    },
  },
  {
    id: "s3-session-token-on-token-creds",
    assumption: "A session token sent with an API token's own S3 credentials is refused with 403.",
    async run(ctx) {
      const { bucket, key } = await ctx.probeObject();
      const res = await ctx.s3(`/${bucket}/${key}`, { ...(await ctx.selfS3()), sessionToken: randomHex(32) });
      return holds(res.status === 403, describeS3(res));
    },
  },
  {
    id: "s3-head-bucket-item-scope",
    assumption: "HeadBucket needs only object read on the bucket: an Item Write token may probe its bucket.",
    async run(ctx) {
      const [bucket, writer] = await Promise.all([ctx.bucketAtS3(), ctx.itemWriter()]);
      await ctx.tokenReady(writer);
      const res = await ctx.s3(`/${bucket}`, tokenS3Credentials(writer), { method: "HEAD" });
      return holds(res.status === 200, describeS3(res));
    },
  },
  {
    id: "checksum-trailer",
    assumption:
      "An upload whose checksum is an aws-chunked trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER) is refused with 501 NotImplemented.",
    async run(ctx) {
      const bucket = await ctx.bucketAtS3();
      const data = "checksum trailer";
      const res = await ctx.s3(`/${bucket}/conformance/trailer.txt`, await ctx.selfS3(), {
        method: "PUT",
        headers: {
          "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
          "content-encoding": "aws-chunked",
          "x-amz-decoded-content-length": String(Buffer.byteLength(data)),
          "x-amz-trailer": "x-amz-checksum-crc32",
        },
        body: awsChunked(data, `x-amz-checksum-crc32:${crc32Base64(data)}`),
      });
      if (res.status === 501 && res.code === "NotImplemented") return confirmed();
      return refuted(res.status === 200 ? "HTTP 200: the upload was stored" : describeS3(res));
    },
  },
];
