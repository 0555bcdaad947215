import { z } from "zod";
import { CloudflareClient, type HttpDeps } from "./cloudflare/client.js";
import { tokensPath } from "./cloudflare/tokens.js";
import { type ConfigEnv, TOKEN_SCOPES } from "./config.js";
import { describeError } from "./errors.js";
import { type ActionIO, maskSecret, STATE } from "./io.js";
import { revokeChild } from "./mint.js";
import { appendSummary } from "./report.js";

const childStateSchema = z.object({
  tokenId: z.string().regex(/^[0-9a-f]{32}$/),
  scope: z.enum(TOKEN_SCOPES),
  accountId: z.string().regex(/^[0-9a-f]{32}$/),
  apiUrl: z.url(),
  expiresAt: z.string(),
  revoke: z.enum(["true", "false"]),
});

export interface PostDeps extends HttpDeps {
  env: ConfigEnv;
}

function summary(io: ActionIO, line: string): Promise<void> {
  return appendSummary(io, `**Revocation:** ${line}\n`);
}

/**
 * The post step, a ladder of early returns: nothing minted → nothing; temporary credentials → cannot
 * be revoked; revoke: false → skipped; otherwise delete the child token. It never fails the job.
 */
export async function runPost(io: ActionIO, deps: PostDeps): Promise<void> {
  const mode = io.getState(STATE.mode);
  const expiresAt = io.getState(STATE.expiresAt);
  if (mode === "temporary") {
    io.info(`Temporary credentials cannot be revoked one by one; they expire at ${expiresAt}.`);
    await summary(io, `not possible for temporary credentials; they expire at ${expiresAt}.`);
    return;
  }
  const tokenId = io.getState(STATE.tokenId);
  if (tokenId === "") {
    io.info("Nothing to revoke: the main step left no child token.");
    return;
  }
  const state = childStateSchema.safeParse({
    tokenId,
    scope: io.getState(STATE.tokenScope),
    accountId: io.getState(STATE.accountId),
    apiUrl: io.getState(STATE.apiUrl),
    expiresAt,
    revoke: io.getState(STATE.revoke),
  });
  if (!state.success) {
    io.warning(
      `The main step's state is incomplete or invalid, so child token ${tokenId} was not revoked; it expires on its own at ${expiresAt || "its expiry"}.`,
    );
    return;
  }
  const child = state.data;
  if (child.revoke === "false") {
    io.info(
      `Revocation skipped (revoke: false): child token ${child.tokenId} stays valid until ${child.expiresAt}.`,
    );
    await summary(io, `skipped (revoke: false); token \`${child.tokenId}\` expires at ${child.expiresAt}.`);
    return;
  }

  const manual = `Delete it by hand: curl -X DELETE -H "Authorization: Bearer $CLOUDFLARE_API_TOKEN" ${child.apiUrl}${tokensPath(child.scope, child.accountId)}/${child.tokenId} (it expires on its own at ${child.expiresAt}).`;
  const apiToken = (io.getInput("api-token") || deps.env.CLOUDFLARE_API_TOKEN || "").trim();
  if (apiToken === "") {
    io.warning(
      `Could not revoke child token ${child.tokenId}: api-token is empty and CLOUDFLARE_API_TOKEN is not set. ${manual}`,
    );
    await summary(io, `failed for token \`${child.tokenId}\` (no api-token).`);
    return;
  }
  maskSecret(io, apiToken);
  if (/[\s\p{Cc}]/u.test(apiToken)) {
    // Never let an unusable header value reach fetch, whose error would quote it.
    io.warning(
      `Could not revoke child token ${child.tokenId}: api-token contains whitespace or control characters. ${manual}`,
    );
    await summary(io, `failed for token \`${child.tokenId}\` (unusable api-token).`);
    return;
  }
  const client = new CloudflareClient({ apiUrl: child.apiUrl, deps, log: (m) => io.info(m) });
  try {
    const outcome = await revokeChild(client, child, apiToken);
    const line =
      outcome === "deleted"
        ? `revoked child token ${child.tokenId}.`
        : `child token ${child.tokenId} was already gone.`;
    io.info(line.charAt(0).toUpperCase() + line.slice(1));
    await summary(
      io,
      outcome === "deleted"
        ? `token \`${child.tokenId}\` revoked.`
        : `token \`${child.tokenId}\` was already gone.`,
    );
  } catch (error) {
    io.warning(`Could not revoke child token ${child.tokenId}: ${describeError(error)} ${manual}`);
    await summary(io, `failed for token \`${child.tokenId}\`: ${describeError(error)}`);
  }
}
