/**
 * Presigned URLs: SigV4 query signing by aws4fetch, offline, from an S3 key pair. A presigned URL is a
 * bearer credential for one method on one key until it expires, or until the token behind the key
 * pair is revoked or rolled (docs/cloudflare-api.md §5, presigned URLs).
 */
import { AwsV4Signer } from "aws4fetch";
import { ActionError } from "./errors.js";
import { objectUrl, type S3Credentials } from "./readiness.js";
import type { Permission } from "./terms.js";

/** What R2 presigns; POST (HTML form uploads) is not supported. */
export const PRESIGN_METHODS = ["GET", "HEAD", "PUT", "DELETE"] as const;
export type PresignMethod = (typeof PRESIGN_METHODS)[number];

/** The least a token needs for the URLs of a method. */
export function permissionFor(method: PresignMethod): Permission {
  return method === "GET" || method === "HEAD" ? "object-read-only" : "object-read-write";
}

/** S3's limit on a key: 1 to 1024 bytes of UTF-8. */
export function isObjectKey(key: string): boolean {
  const bytes = new TextEncoder().encode(key).length;
  return bytes >= 1 && bytes <= 1024;
}

export interface PresignRequest {
  endpoint: string;
  bucket: string;
  keys: readonly string[];
  method: PresignMethod;
  expiresSeconds: number;
  credentials: S3Credentials;
  /** When the credentials die (epoch ms): a URL is useless after that, so none claims to live longer. */
  notAfter?: number | undefined;
}

export interface PresignedUrl {
  key: string;
  method: PresignMethod;
  url: string;
  /** ISO 8601, as Date#toISOString writes it. */
  expiresAt: string;
}

/**
 * One URL per key, signed at `nowMs` for `expiresSeconds`, or less when the credentials expire first.
 * Nothing but the host is signed and no checksum is added: a presigned PUT that pins
 * `x-amz-checksum-crc32` makes R2 refuse a browser's real upload.
 */
export async function presignUrls(request: PresignRequest, nowMs: number): Promise<PresignedUrl[]> {
  // X-Amz-Date has whole seconds; the expiry counts from there.
  const signedAt = Math.floor(nowMs / 1000) * 1000;
  const left =
    request.notAfter === undefined
      ? Number.POSITIVE_INFINITY
      : Math.floor((request.notAfter - signedAt) / 1000);
  const expiresSeconds = Math.min(request.expiresSeconds, left);
  if (expiresSeconds < 1) {
    throw new ActionError(
      "input",
      `The credentials expire at ${new Date(request.notAfter ?? signedAt).toISOString()}, before a URL signed now could be used.`,
      "Sign with credentials that live at least as long as the URLs should.",
    );
  }
  const datetime = new Date(signedAt).toISOString().replace(/[:-]|\.\d{3}/g, "");
  const { accessKeyId, secretAccessKey, sessionToken } = request.credentials;
  const urls: PresignedUrl[] = [];
  for (const key of request.keys) {
    const url = new URL(objectUrl(request.endpoint, request.bucket, key));
    url.searchParams.set("X-Amz-Expires", String(expiresSeconds));
    const signer = new AwsV4Signer({
      method: request.method,
      url: url.toString(),
      accessKeyId,
      secretAccessKey,
      ...(sessionToken ? { sessionToken } : {}),
      service: "s3",
      region: "auto",
      datetime,
      signQuery: true,
    });
    const signed = await signer.sign();
    urls.push({
      key,
      method: request.method,
      url: signed.url.toString(),
      expiresAt: new Date(signedAt + expiresSeconds * 1000).toISOString(),
    });
  }
  return urls;
}
