/**
 * r2-ephemeral-credentials vending Worker: GitHub Actions workflows trade their OIDC token for
 * short-lived, bucket-scoped R2 credentials, so no Cloudflare secret sits in any repository.
 *
 *   POST /v1/mint    Authorization: Bearer <OIDC token>, body {bucket, permission, prefixes, objects, ttl, jurisdiction}
 *   POST /v1/revoke  Authorization: Bearer <OIDC token>, body {"token-id": "..."}
 *
 * See worker/README.md for the vars, the policy and the threat model.
 */
import { errorResponse, HttpError } from "./errors.js";
import { handleMint, handleRevoke } from "./handlers.js";
import { Logger } from "./log.js";
import { type Env, settingsFrom } from "./settings.js";

export type { Env } from "./settings.js";

const ROUTES: Record<string, typeof handleMint> = {
  "/v1/mint": handleMint,
  "/v1/revoke": handleRevoke,
};

export async function handle(request: Request, env: Env): Promise<Response> {
  const { pathname } = new URL(request.url);
  const log = new Logger(pathname);
  try {
    const handler = ROUTES[pathname];
    if (!handler)
      throw new HttpError(404, "not_found", `No route ${pathname}: use POST /v1/mint or POST /v1/revoke.`);
    if (request.method !== "POST") {
      throw new HttpError(
        405,
        "method_not_allowed",
        `${pathname} accepts POST only, not ${request.method}.`,
        {
          allow: "POST",
        },
      );
    }
    return await handler(request, settingsFrom(env, log), log);
  } catch (error) {
    const failure =
      error instanceof HttpError
        ? error
        : new HttpError(
            500,
            "internal",
            `Unexpected failure: ${error instanceof Error ? error.message : String(error)}`,
          );
    log.line(failure.status >= 500 ? "error" : "warn", failure.status >= 500 ? "failed" : "refused", {
      status: failure.status,
      code: failure.code,
      message: failure.message,
    });
    return errorResponse(failure);
  }
}

export default {
  fetch: (request: Request, env: Env): Promise<Response> => handle(request, env),
};
