/**
 * The Worker's error answers: `{"error":{"status","code","message"}}` with stable codes that clients
 * (the action's `vending-url` mode) can branch on. Messages are human sentences and never carry a secret.
 */
export type ErrorCode =
  | "unauthenticated" // no Authorization: Bearer header
  | "invalid_token" // not a JWT, bad signature, unknown key, wrong algorithm, not yet valid, missing claims
  | "wrong_audience"
  | "wrong_issuer"
  | "expired"
  | "policy_denied" // the claims or the request are outside the policy
  | "not_owner" // revoke of a token minted for another repository or run
  | "bad_request" // the body is not JSON or a field is invalid (parseConfig's messages)
  | "not_found"
  | "method_not_allowed"
  | "payload_too_large"
  | "jwks_unavailable" // the issuer's JWKS could not be fetched
  | "cloudflare_error" // Cloudflare refused or failed
  | "server_misconfigured" // a var or the secret is missing or invalid
  | "internal";

export class HttpError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly headers: Record<string, string>;

  constructor(status: number, code: ErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

const JSON_HEADERS = {
  "content-type": "application/json; charset=utf-8",
  // Credentials and refusals alike are per caller: never cache them anywhere.
  "cache-control": "no-store",
};

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(`${JSON.stringify(body)}\n`, { status, headers: { ...JSON_HEADERS, ...headers } });
}

export function errorResponse(error: HttpError): Response {
  return json(
    error.status,
    { error: { status: error.status, code: error.code, message: error.message } },
    error.headers,
  );
}
