// Identifier and secret generation. Everything comes from node:crypto so values are unguessable
// even though the emulator is a local fake (tests must never pass because an id was predictable).
import { createHash, randomBytes, randomInt } from "node:crypto";

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** 32 lowercase hex characters: the shape of Cloudflare token, policy and account ids. */
export function hexId(): string {
  return randomBytes(16).toString("hex");
}

function randomAlphanumeric(length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

/**
 * Token value in the 2026 format: `cfat_`/`cfut_` + 40 alphanumerics + a checksum.
 * Assumption (conformance: token-value-format): Cloudflare does not document the checksum; we
 * append 8 hex characters of sha256(prefix + body) so values look realistic and callers cannot rely
 * on a fixed length.
 */
export function tokenValue(scope: "account" | "user"): string {
  const prefix = scope === "account" ? "cfat_" : "cfut_";
  const body = randomAlphanumeric(40);
  const checksum = createHash("sha256")
    .update(prefix + body)
    .digest("hex")
    .slice(0, 8);
  return `${prefix}${body}${checksum}`;
}

/** The S3 secret of an API token (docs/cloudflare-api.md §4): lowercase hex sha256 of the whole value. */
export function s3SecretOf(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

/** Opaque session token for temporary credentials. */
export function sessionToken(): string {
  return randomBytes(96).toString("base64");
}

/** Cloudflare-style timestamp: ISO 8601 in UTC without milliseconds. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
