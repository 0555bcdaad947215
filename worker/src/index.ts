/**
 * r2-ephemeral-credentials vending Worker: GitHub Actions workflows trade their OIDC token for
 * short-lived, bucket-scoped R2 credentials, so no Cloudflare secret sits in any repository.
 *
 *   POST /v1/mint    Authorization: Bearer <OIDC token>, body {bucket, permission, prefixes, objects, ttl, jurisdiction}
 *   POST /v1/revoke  Authorization: Bearer <OIDC token>, body {"token-id": "..."}
 *   cron trigger     deletes this tool's expired child tokens (scheduled.ts)
 *
 * See worker/README.md for the vars, the policy and the threat model.
 */
import { describeError } from "../../src/errors.js";
import { errorResponse, HttpError } from "./errors.js";
import { handleMint, handleRevoke } from "./handlers.js";
import { Logger } from "./log.js";
import { sweepExpired } from "./scheduled.js";
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

/** The cron trigger's sweep. A failure is logged as one line, then thrown so the cron event shows it failed. */
export async function scheduled(
  controller: { scheduledTime: number; cron: string },
  env: Env,
): Promise<void> {
  const log = new Logger("scheduled");
  try {
    // Expiry is judged at the sweep, not at the cron's scheduled time, which may be a while earlier.
    await sweepExpired(settingsFrom(env, log), log, Date.now());
  } catch (error) {
    const message = error instanceof HttpError ? error.message : describeError(error);
    log.error("sweep.failed", {
      cron: controller.cron,
      ...(error instanceof HttpError ? { status: error.status, code: error.code } : {}),
      message,
    });
    throw error;
  }
}

export default {
  fetch: (request: Request, env: Env): Promise<Response> => handle(request, env),
  scheduled: (controller: { scheduledTime: number; cron: string }, env: Env): Promise<void> =>
    scheduled(controller, env),
};
