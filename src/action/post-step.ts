import { CloudflareClient, type HttpDeps } from "../cloudflare/client.js";
import { revokeToken, tokensPath } from "../cloudflare/tokens.js";
import { type ConfigEnv, parseTokenAccess } from "../config.js";
import { describeError } from "../errors.js";
import { revokeKeyless } from "../keyless/mint.js";
import { removeProfile } from "./profile.js";
import { appendSummary } from "./publish.js";
import { type ActionIO, maskInputToken } from "./runner.js";
import { type CloudflareChild, readProfile, readState, type VendedChild } from "./state.js";

export interface PostDeps extends HttpDeps {
  env: ConfigEnv;
}

function summary(io: ActionIO, line: string): Promise<void> {
  return appendSummary(io, `**Revocation:** ${line}\n`);
}

/** One way of revoking: how, and what to tell a user who must finish the job by hand. */
interface Revoker {
  manual: string;
  run(): Promise<"deleted" | "already-gone">;
}

function cloudflareRevoker(io: ActionIO, deps: PostDeps, child: CloudflareChild): Revoker {
  return {
    manual: `Delete it by hand: curl -X DELETE -H "Authorization: Bearer $CLOUDFLARE_API_TOKEN" ${child.apiUrl}${tokensPath(child.scope, child.accountId)}/${child.tokenId} (it expires on its own at ${child.expiresAt}).`,
    async run() {
      // The token is read again (state holds no secret) and checked as main checked it.
      const apiToken = io.getInput("api-token");
      maskInputToken(io, apiToken, deps.env);
      const access = parseTokenAccess(
        {
          "api-token": apiToken,
          "account-id": child.accountId,
          "token-scope": child.scope,
          "api-url": child.apiUrl,
        },
        deps.env,
      );
      const client = new CloudflareClient({ apiUrl: access.apiUrl, deps, log: (m) => io.info(m) });
      const target = { scope: access.tokenScope, accountId: access.accountId, token: access.apiToken };
      return revokeToken(client, target, child.tokenId);
    },
  };
}

function vendingRevoker(io: ActionIO, deps: PostDeps, child: VendedChild): Revoker {
  return {
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

/** The profile main wrote goes in every case (temporary mode and revoke: false too): it names dead or dying credentials. */
function removeSavedProfile(io: ActionIO): void {
  const saved = readProfile(io);
  if (saved === undefined) return;
  if (saved === "invalid") {
    io.warning("The AWS profile the main step wrote was not removed: its state is incomplete or invalid.");
    return;
  }
  try {
    for (const line of removeProfile(saved)) io.info(line);
  } catch (error) {
    io.warning(`Could not remove AWS profile ${saved.profile}: ${describeError(error)}`);
  }
}

/**
 * The post step, a ladder of early returns: temporary credentials → cannot be revoked; nothing
 * minted → nothing; revoke: false → skipped; otherwise delete the child token. It never fails the job.
 */
export async function runPost(io: ActionIO, deps: PostDeps): Promise<void> {
  removeSavedProfile(io);
  const state = readState(io);
  if (state.kind === "temporary") {
    io.info(`Temporary credentials cannot be revoked one by one; they expire at ${state.expiresAt}.`);
    await summary(io, `not possible for temporary credentials; they expire at ${state.expiresAt}.`);
    return;
  }
  if (state.kind === "nothing") {
    io.info("Nothing to revoke: the main step left no child token.");
    return;
  }
  const id = state.tokenId;
  if (state.kind === "invalid") {
    io.warning(
      `Child token ${id} was not revoked: the main step's state is incomplete or invalid; it expires on its own at ${state.expiresAt || "its expiry"}.`,
    );
    return;
  }
  if (!state.revoke) {
    io.info(`Revocation skipped (revoke: false): child token ${id} stays valid until ${state.expiresAt}.`);
    await summary(io, `skipped (revoke: false); token \`${id}\` expires at ${state.expiresAt}.`);
    return;
  }
  const revoker =
    state.kind === "vending-worker" ? vendingRevoker(io, deps, state) : cloudflareRevoker(io, deps, state);
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
