/**
 * Verifies a GitHub Actions OIDC token with jose: signature against the issuer's JWKS (RS256 only),
 * `iss`, `aud`, `exp` and `nbf` (with a small clock tolerance), then the claims the Worker relies on.
 * Every failure becomes a 401 (or a 502 when the JWKS cannot be fetched) that says what was wrong.
 */
import { createRemoteJWKSet, errors, jwtVerify } from "jose";
import { z } from "zod";
import { HttpError } from "./errors.js";
import type { Settings } from "./settings.js";

/** Seconds of clock skew tolerated on exp/nbf/iat between GitHub and the Worker. */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** The claims of a GitHub Actions ID token that the Worker uses (all strings in GitHub's tokens). */
const claimsSchema = z
  .object({
    repository: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/),
    // GitHub's ids are strings of digits; a rule pins them because, unlike names, they are never reused.
    repository_id: z.string().regex(/^\d+$/).optional(),
    repository_owner: z.string().optional(),
    repository_owner_id: z.string().regex(/^\d+$/).optional(),
    run_id: z.string().regex(/^\d+$/),
    run_attempt: z.string().regex(/^\d+$/).default("1"),
    ref: z.string().optional(),
    environment: z.string().optional(),
    job_workflow_ref: z.string().optional(),
    workflow: z.string().optional(),
    sub: z.string().optional(),
  })
  .loose();
export type Claims = z.infer<typeof claimsSchema>;

const WWW_AUTHENTICATE = { "www-authenticate": 'Bearer realm="r2-ephemeral-credentials"' };

function unauthorized(
  code: "unauthenticated" | "invalid_token" | "wrong_audience" | "wrong_issuer" | "expired",
  message: string,
): HttpError {
  return new HttpError(401, code, message, WWW_AUTHENTICATE);
}

// One key set per JWKS URL and isolate: jose caches the keys and refetches on an unknown kid (30 s cooldown).
const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function keySet(url: string): ReturnType<typeof createRemoteJWKSet> {
  let set = keySets.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { timeoutDuration: 5_000 });
    keySets.set(url, set);
  }
  return set;
}

export function bearerToken(header: string | null): string {
  if (header === null || header.trim() === "") {
    throw unauthorized(
      "unauthenticated",
      "The request has no Authorization header. Send Authorization: Bearer <GitHub OIDC token>; in a workflow, the job needs permissions: id-token: write.",
    );
  }
  const match = /^Bearer[ ]+([A-Za-z0-9_.~+/=-]+)\s*$/i.exec(header.trim());
  if (!match) {
    throw unauthorized(
      "unauthenticated",
      "The Authorization header is not of the form Bearer <GitHub OIDC token>.",
    );
  }
  return match[1] as string;
}

const describe = (value: unknown): string =>
  value === undefined ? "(none)" : Array.isArray(value) ? value.join(", ") : String(value);

function translate(error: unknown, settings: Settings): HttpError {
  if (error instanceof errors.JWTExpired) {
    const exp = error.payload.exp;
    const when = typeof exp === "number" ? ` at ${new Date(exp * 1000).toISOString()}` : "";
    return unauthorized(
      "expired",
      `The OIDC token expired${when}. Request a fresh one right before calling the Worker.`,
    );
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    const { claim, payload } = error;
    if (claim === "aud") {
      return unauthorized(
        "wrong_audience",
        `The OIDC token's audience is ${describe(payload.aud)}, but this Worker accepts only ${settings.audience}. Request the token for that audience (the action's audience input).`,
      );
    }
    if (claim === "iss") {
      return unauthorized(
        "wrong_issuer",
        `The OIDC token was issued by ${describe(payload.iss)}, but this Worker trusts only ${settings.issuer}.`,
      );
    }
    if (claim === "nbf") {
      return unauthorized("invalid_token", "The OIDC token is not valid yet (nbf is in the future).");
    }
    return unauthorized(
      "invalid_token",
      `The OIDC token's claim ${claim} is not acceptable (${error.message}).`,
    );
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return unauthorized(
      "invalid_token",
      `The OIDC token's signature does not verify against the keys of ${settings.issuer}: it was not issued there or was altered.`,
    );
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return unauthorized(
      "invalid_token",
      `No key of ${settings.issuer} matches the OIDC token's key id: it was not issued there.`,
    );
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return unauthorized(
      "invalid_token",
      "The OIDC token is not signed with RS256, the only algorithm accepted.",
    );
  }
  if (
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JOSENotSupported
  ) {
    return unauthorized("invalid_token", `The bearer token is not a valid signed JWT (${error.message}).`);
  }
  if (
    error instanceof errors.JWKSTimeout ||
    error instanceof errors.JWKSInvalid ||
    error instanceof errors.JOSEError ||
    error instanceof TypeError
  ) {
    return new HttpError(
      502,
      "jwks_unavailable",
      `The issuer's keys could not be fetched from ${settings.jwksUrl} (${(error as Error).message}); try again.`,
    );
  }
  return new HttpError(500, "internal", `Verifying the OIDC token failed unexpectedly: ${String(error)}`);
}

/** Verifies the bearer token and returns its claims; throws an HttpError saying what is wrong. */
export async function verifyOidcToken(authorization: string | null, settings: Settings): Promise<Claims> {
  const token = bearerToken(authorization);
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, keySet(settings.jwksUrl), {
      issuer: settings.issuer,
      audience: settings.audience,
      algorithms: ["RS256"],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ["exp", "iat"],
    }));
  } catch (error) {
    throw translate(error, settings);
  }
  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) {
    const missing = claims.error.issues.map((issue) => issue.path.join(".")).join(", ");
    throw unauthorized(
      "invalid_token",
      `The OIDC token lacks usable GitHub Actions claims (${missing}): only GitHub Actions ID tokens are accepted.`,
    );
  }
  return claims.data;
}
