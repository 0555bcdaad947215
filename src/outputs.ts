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

/** The variables every S3 tool reads. AWS_SESSION_TOKEN is always written so a stale one cannot leak into signing. */
export function environmentOf(minted: Minted): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: minted.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: minted.credentials.secretAccessKey,
    AWS_SESSION_TOKEN: minted.credentials.sessionToken,
    AWS_ENDPOINT_URL_S3: minted.endpoint.replace(/\/+$/, ""),
    AWS_REGION: minted.region,
    AWS_DEFAULT_REGION: minted.region,
  };
}
