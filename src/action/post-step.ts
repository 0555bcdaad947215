import * as z from "zod/mini";
import { CloudflareClient, type HttpDeps } from "../cloudflare/client.js";
import { revokeToken, tokensPath } from "../cloudflare/tokens.js";
import { type ConfigEnv, TOKEN_SCOPES } from "../config.js";
import { describeError } from "../errors.js";
import { revokeKeyless } from "../keyless/mint.js";
import { appendSummary } from "./publish.js";
import { type ActionIO, maskSecret, STATE } from "./runner.js";

const tokenId = z.string().check(z.regex(/^[0-9a-f]{32}$/));
const common = { tokenId, expiresAt: z.string(), revoke: z.enum(["true", "false"]) };

/** What main saved, per way of minting: identifiers only, validated before anything is called. */
const directState = z.object({
  ...common,
  scope: z.enum(TOKEN_SCOPES),
  accountId: z.string().check(z.regex(/^[0-9a-f]{32}$/)),
  apiUrl: z.url(),
});
const keylessState = z.object({ ...common, vendingUrl: z.url(), audience: z.string().check(z.minLength(1)) });

export interface PostDeps extends HttpDeps {
  env: ConfigEnv;
}

function summary(io: ActionIO, line: string): Promise<void> {
  return appendSummary(io, `**Revocation:** ${line}\n`);
}

/** One way of revoking: how, and what to tell a user who must finish the job by hand. */
interface Revoker {
  tokenId: string;
  expiresAt: string;
  revoke: boolean;
  manual: string;
  run(): Promise<"deleted" | "already-gone">;
}

function directRevoker(io: ActionIO, deps: PostDeps): Revoker | string {
  const state = directState.safeParse({
    tokenId: io.getState(STATE.tokenId),
    scope: io.getState(STATE.tokenScope),
    accountId: io.getState(STATE.accountId),
    apiUrl: io.getState(STATE.apiUrl),
    expiresAt: io.getState(STATE.expiresAt),
    revoke: io.getState(STATE.revoke),
  });
  if (!state.success) return "the main step's state is incomplete or invalid";
  const child = state.data;
  const manual = `Delete it by hand: curl -X DELETE -H "Authorization: Bearer $CLOUDFLARE_API_TOKEN" ${child.apiUrl}${tokensPath(child.scope, child.accountId)}/${child.tokenId} (it expires on its own at ${child.expiresAt}).`;
  return {
    ...child,
    revoke: child.revoke === "true",
    manual,
    async run() {
      const apiToken = (io.getInput("api-token") || deps.env.CLOUDFLARE_API_TOKEN || "").trim();
      if (apiToken === "") throw new Error("api-token is empty and CLOUDFLARE_API_TOKEN is not set.");
      maskSecret(io, apiToken);
      // Never let an unusable header value reach fetch, whose error would quote it.
      if (/[\s\p{Cc}]/u.test(apiToken))
        throw new Error("api-token contains whitespace or control characters.");
      const client = new CloudflareClient({ apiUrl: child.apiUrl, deps, log: (m) => io.info(m) });
      return revokeToken(
        client,
        { scope: child.scope, accountId: child.accountId, token: apiToken },
        child.tokenId,
      );
    },
  };
}

function keylessRevoker(io: ActionIO, deps: PostDeps): Revoker | string {
  const state = keylessState.safeParse({
    tokenId: io.getState(STATE.tokenId),
    vendingUrl: io.getState(STATE.vendingUrl),
    audience: io.getState(STATE.audience),
    expiresAt: io.getState(STATE.expiresAt),
    revoke: io.getState(STATE.revoke),
  });
  if (!state.success) return "the main step's state is incomplete or invalid";
  const child = state.data;
  return {
    ...child,
    revoke: child.revoke === "true",
    manual: `Ask the vending Worker's owner to delete it, or run \`r2-ephemeral-credentials revoke --token-id ${child.tokenId}\` with the account token (it expires on its own at ${child.expiresAt}).`,
    run: () =>
      revokeKeyless(
        { ...deps, idToken: (audience) => io.getIDToken(audience), mask: (s) => io.setSecret(s) },
        child.vendingUrl,
        child.audience,
        child.tokenId,
      ),
  };
}

/**
 * The post step, a ladder of early returns: temporary credentials → cannot be revoked; nothing
 * minted → nothing; revoke: false → skipped; otherwise delete the child token. It never fails the job.
 */
export async function runPost(io: ActionIO, deps: PostDeps): Promise<void> {
  const mode = io.getState(STATE.mode);
  const expiresAt = io.getState(STATE.expiresAt);
  if (mode === "temporary") {
    io.info(`Temporary credentials cannot be revoked one by one; they expire at ${expiresAt}.`);
    await summary(io, `not possible for temporary credentials; they expire at ${expiresAt}.`);
    return;
  }
  const id = io.getState(STATE.tokenId);
  if (id === "") {
    io.info("Nothing to revoke: the main step left no child token.");
    return;
  }
  const revoker = mode === "keyless" ? keylessRevoker(io, deps) : directRevoker(io, deps);
  if (typeof revoker === "string") {
    io.warning(
      `Child token ${id} was not revoked: ${revoker}; it expires on its own at ${expiresAt || "its expiry"}.`,
    );
    return;
  }
  if (!revoker.revoke) {
    io.info(`Revocation skipped (revoke: false): child token ${id} stays valid until ${revoker.expiresAt}.`);
    await summary(io, `skipped (revoke: false); token \`${id}\` expires at ${revoker.expiresAt}.`);
    return;
  }
  try {
    const outcome = await revoker.run();
    io.info(outcome === "deleted" ? `Revoked child token ${id}.` : `Child token ${id} was already gone.`);
    await summary(
      io,
      outcome === "deleted" ? `token \`${id}\` revoked.` : `token \`${id}\` was already gone.`,
    );
  } catch (error) {
    io.warning(`Could not revoke child token ${id}: ${describeError(error)} ${revoker.manual}`);
    await summary(io, `failed for token \`${id}\`: ${describeError(error)}`);
  }
}
