// Request bodies as S3 clients send them: plain, hashed, or aws-chunked with trailing checksums.
import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import * as zlib from "node:zlib";

export class PayloadError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export function md5Hex(data: Uint8Array): string {
  return createHash("md5").update(data).digest("hex");
}

/**
 * Strips aws-chunked framing: `<hex size>[;chunk-signature=…]\r\n<data>\r\n` … `0\r\n<trailers>\r\n\r\n`.
 * Chunk signatures (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) are not re-verified; the seed signature
 * over the headers is.
 */
function decodeAwsChunked(body: Buffer): { data: Buffer; trailers: Record<string, string> } {
  const parts: Buffer[] = [];
  const trailers: Record<string, string> = {};
  let pos = 0;
  const line = (): string => {
    const end = body.indexOf("\r\n", pos);
    if (end === -1) throw new PayloadError("IncompleteBody", "Truncated aws-chunked body");
    const s = body.subarray(pos, end).toString("latin1");
    pos = end + 2;
    return s;
  };
  for (;;) {
    const header = line();
    const size = Number.parseInt(header.split(";")[0] ?? "", 16);
    if (!Number.isFinite(size) || size < 0)
      throw new PayloadError("InvalidRequest", "Malformed aws-chunked chunk size");
    if (size === 0) break;
    if (pos + size > body.length) throw new PayloadError("IncompleteBody", "Truncated aws-chunked body");
    parts.push(body.subarray(pos, pos + size));
    pos += size;
    if (body.subarray(pos, pos + 2).toString("latin1") !== "\r\n") {
      throw new PayloadError("InvalidRequest", "Malformed aws-chunked framing");
    }
    pos += 2;
  }
  while (pos < body.length) {
    const t = line();
    if (t === "") break;
    const colon = t.indexOf(":");
    if (colon > 0) trailers[t.slice(0, colon).trim().toLowerCase()] = t.slice(colon + 1).trim();
  }
  return { data: Buffer.concat(parts), trailers };
}

function crc32Base64(data: Uint8Array): string | undefined {
  // zlib.crc32 exists from Node 22.2; older runtimes skip the check.
  const crc32 = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
  if (typeof crc32 !== "function") return undefined;
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data) >>> 0);
  return out.toString("base64");
}

/** The stored bytes of a request, after checking what the client declared about them. */
export function decodePayload(raw: Buffer, declaredHash: string, headers: IncomingHttpHeaders): Buffer {
  let data = raw;
  let trailers: Record<string, string> = {};
  if (declaredHash.startsWith("STREAMING-")) {
    ({ data, trailers } = decodeAwsChunked(raw));
    const decodedLength = headers["x-amz-decoded-content-length"];
    if (decodedLength !== undefined && Number(decodedLength) !== data.length) {
      throw new PayloadError("IncompleteBody", "x-amz-decoded-content-length does not match the body");
    }
  } else if (/^[0-9a-f]{64}$/.test(declaredHash) && sha256Hex(raw) !== declaredHash) {
    throw new PayloadError(
      "XAmzContentSHA256Mismatch",
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
  }
  const crc = trailers["x-amz-checksum-crc32"] ?? headers["x-amz-checksum-crc32"];
  if (typeof crc === "string") {
    const actual = crc32Base64(data);
    if (actual !== undefined && actual !== crc) {
      throw new PayloadError("BadDigest", "The CRC32 you specified did not match the calculated checksum.");
    }
  }
  return data;
}
