// The Cloudflare v4 response envelope and the error type handlers throw (docs/cloudflare-api.md §1).

interface CfError {
  code: number;
  message: string;
  error_chain?: CfError[];
}

/** IAM (token) endpoints return message objects, R2 endpoints plain strings (docs/cloudflare-api.md §1). */
export type Product = "iam" | "r2";

/** A failure answered with the v4 envelope. Handlers throw it; the router turns it into a response. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errors: CfError[],
    readonly headers: Record<string, string> = {},
  ) {
    super(errors.map((e) => `${e.code} ${e.message}`).join("; "));
  }
}

export function apiError(
  status: number,
  code: number,
  message: string,
  headers?: Record<string, string>,
): ApiError {
  return new ApiError(status, [{ code, message }], headers);
}

interface SuccessBody {
  success: true;
  errors: [];
  messages: unknown[];
  result: unknown;
  result_info?: unknown;
}

export function successBody(
  result: unknown,
  extra: { messages?: unknown[]; result_info?: unknown } = {},
): SuccessBody {
  const body: SuccessBody = { success: true, errors: [], messages: extra.messages ?? [], result };
  if (extra.result_info !== undefined) body.result_info = extra.result_info;
  return body;
}

export function failureBody(errors: CfError[]): {
  success: false;
  errors: CfError[];
  messages: [];
  result: null;
} {
  return { success: false, errors, messages: [], result: null };
}

// Common errors, in one place so codes stay consistent.
export const errors = {
  // [3P] observed on Cloudflare for an unknown/revoked token. Assumption (conformance: invalid-token):
  // HTTP 401 for every unusable token (unknown, deleted, expired, disabled, not yet valid).
  invalidToken: () => apiError(401, 1000, "Invalid API Token"),
  // Assumption (conformance: auth-header-errors): a missing header is 400/1001 ([3P] `Missing
  // "Authorization" header`) and a header that is not `Bearer <token>` is 400/6003 with an
  // error_chain entry 6111 ([3P]).
  missingAuth: () => apiError(400, 1001, 'Missing "Authorization" header'),
  malformedAuth: () =>
    new ApiError(400, [
      {
        code: 6003,
        message: "Invalid request headers",
        error_chain: [{ code: 6111, message: "Invalid format for Authorization header" }],
      },
    ]),
  unauthorized: () => apiError(403, 9109, "Unauthorized to access requested resource"),
  authenticationError: () => apiError(403, 10000, "Authentication error"),
  // Assumption (conformance: malformed-json): Cloudflare's code for a JSON body that does not parse,
  // as seen on other v4 endpoints.
  malformedJson: () => apiError(400, 6007, "Malformed JSON in request body"),
  // Assumption (conformance: validation-code): validation failures are 400/1001.
  invalid: (message: string) => apiError(400, 1001, message),
  // Assumption (conformance: unknown-route): an unknown path is 404/7003 and a known path with the
  // wrong method 405/7000 (the schema's failure example uses 7003 "No route for the URI").
  noRoute: () => apiError(404, 7003, "No route for the URI"),
  methodNotAllowed: () => apiError(405, 7000, "No route for the URI"),
  rateLimited: (retryAfterSeconds: number) =>
    apiError(429, 971, "Please wait and consider throttling your request speed", {
      "retry-after": String(retryAfterSeconds),
    }),
};
