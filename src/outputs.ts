import type { Minted } from "./mint.js";

/** The action's outputs, from what was minted. Every declared output is set; empty where it does not apply. */
export function outputsOf(minted: Minted): Record<string, string> {
  return {
    "access-key-id": minted.credentials.accessKeyId,
    "secret-access-key": minted.credentials.secretAccessKey,
    "session-token": minted.credentials.sessionToken,
    endpoint: minted.endpoint.replace(/\/+$/, ""),
    region: minted.region,
    bucket: minted.buckets.join(","),
    "expires-at": minted.expiresAt,
    "token-id": minted.tokenId ?? "",
  };
}

/**
 * boto3 >= 1.36, AWS CLI >= 2.23 and the AWS SDK for JavaScript >= 3.729 compute and send checksums
 * by default (often as an aws-chunked trailer), which R2 refuses in ways that look like auth errors;
 * Cloudflare's own boto3 and AWS CLI pages prescribe `when_required`.
 */
export const CHECKSUM_SETTINGS = {
  AWS_REQUEST_CHECKSUM_CALCULATION: "when_required",
  AWS_RESPONSE_CHECKSUM_VALIDATION: "when_required",
} as const;

/**
 * The variables every S3 tool reads. AWS_SESSION_TOKEN is always written so a stale one cannot leak
 * into signing; a checksum setting the environment already has (`inherited`) is the user's choice
 * and is left alone.
 */
export function environmentOf(
  minted: Minted,
  inherited: Record<string, string | undefined> = {},
): Record<string, string> {
  const checksums = Object.entries(CHECKSUM_SETTINGS).filter(([name]) => !inherited[name]);
  return {
    AWS_ACCESS_KEY_ID: minted.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: minted.credentials.secretAccessKey,
    AWS_SESSION_TOKEN: minted.credentials.sessionToken,
    AWS_ENDPOINT_URL_S3: minted.endpoint.replace(/\/+$/, ""),
    AWS_REGION: minted.region,
    AWS_DEFAULT_REGION: minted.region,
    AWS_CREDENTIAL_EXPIRATION: minted.expiresAt,
    ...Object.fromEntries(checksums),
  };
}
