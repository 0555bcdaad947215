import type { HttpDeps } from "../cloudflare/client.js";
import type { Config } from "../config.js";
import { ActionError, describeError } from "../errors.js";
import type { Minted } from "../mint.js";
import { readinessScope, waitForReadiness } from "../readiness.js";
import { answeredExpiry, expiresAt as expiryOf, formatDuration } from "../time.js";
import { mintedTokenIdOf, type Vended, vendMint, vendRevoke } from "./client.js";

export interface KeylessDeps extends HttpDeps {
  /** A GitHub OIDC token for the audience (core.getIDToken in the action). */
  idToken: (audience: string) => Promise<string>;
  mask: (secret: string) => void;
  /** Called as soon as the Worker answered with a child token, so a cancelled job still revokes it. */
  onMinted: (tokenId: string, expiresAt: string) => void | Promise<void>;
  /** Called when a failing step revoked its child itself, so the post step has nothing left to do. */
  onDiscarded?: () => void | Promise<void>;
  log: (message: string) => void;
  /** A token that could not be cleaned up: shown even where progress is silenced. */
  warn: (message: string) => void;
  debug: (message: string) => void;
}

/** Turns the runner's refusal into the fix: the workflow must grant the job an OIDC token. */
export async function oidcToken(
  deps: Pick<KeylessDeps, "idToken" | "mask">,
  audience: string,
): Promise<string> {
  let token: string;
  try {
    token = await deps.idToken(audience);
  } catch (error) {
    const reason = describeError(error).replace(/\s+/g, " ");
    // A missing request URL or a 401/403 means the job was given no OIDC token; anything else is the service failing.
    const notGranted = /ACTIONS_ID_TOKEN_REQUEST_(URL|TOKEN)|Error Code : 40[13]\b/.test(reason);
    throw new ActionError(
      notGranted ? "input" : "network",
      `Could not get a GitHub OIDC token for audience ${audience}: ${reason}`,
      notGranted
        ? "Keyless mode (vending-url) needs `permissions: id-token: write` in the workflow or job; pull requests from forks get no OIDC token."
        : "GitHub's token service failed; re-run the job.",
    );
  }
  deps.mask(token);
  return token;
}

/** Asks the vending Worker to revoke a child it minted for this run; 404-like answers mean already gone. */
export async function revokeKeyless(
  deps: Pick<KeylessDeps, keyof HttpDeps | "idToken" | "mask">,
  vendingUrl: string,
  audience: string,
  tokenId: string,
): Promise<"deleted" | "already-gone"> {
  return vendRevoke(deps, vendingUrl, await oidcToken(deps, audience), tokenId);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

/**
 * Keyless mode: the Worker mints with the account token it holds, for this run's OIDC token; the
 * action masks, proves the credentials at the S3 endpoint (inside the narrowing the Worker granted),
 * and revokes through the Worker on failure.
 */
export async function mintKeyless(config: Config, deps: KeylessDeps): Promise<Minted> {
  const vendingUrl = config.vendingUrl as string;
  const audience = config.audience as string;
  const idToken = await oidcToken(deps, audience);
  let vended: Vended;
  try {
    vended = await vendMint(deps, vendingUrl, idToken, {
      bucket: config.buckets,
      permission: config.permission,
      prefixes: config.prefixes,
      objects: config.objects,
      ttl: formatDuration(config.ttlSeconds),
      jurisdiction: config.jurisdiction,
    });
  } catch (error) {
    // A 200 we could not read still minted a token: revoke it before failing.
    const minted = mintedTokenIdOf(error);
    if (minted) await discardKeyless(deps, vendingUrl, audience, minted, error);
    throw error;
  }
  deps.mask(vended["secret-access-key"]);
  if (vended["session-token"]) deps.mask(vended["session-token"]);
  const tokenId = vended["token-id"];
  const expiresAt = answeredExpiry(vended["expires-at"], expiryOf(deps.now(), config.ttlSeconds));
  try {
    await deps.onMinted(tokenId, expiresAt);
    deps.log(
      `The vending Worker minted child token ${tokenId} (${vended.mode} mode), expiring at ${expiresAt}.`,
    );
    const prefixes = vended.prefixes ?? config.prefixes;
    const objects = vended.objects ?? config.objects;
    const narrowedByWorker = !sameList(prefixes, config.prefixes) || !sameList(objects, config.objects);
    if (narrowedByWorker) {
      const scope = [...prefixes.map((p) => `prefix ${p}`), ...objects.map((o) => `object ${o}`)].join(", ");
      deps.log(`The vending Worker's policy narrowed the credentials to ${scope || "the whole bucket"}.`);
    }
    const endpoint = (config.s3Endpoint || vended.endpoint).replace(/\/+$/, "");
    const credentials = {
      accessKeyId: vended["access-key-id"],
      secretAccessKey: vended["secret-access-key"],
      sessionToken: vended["session-token"],
    };
    // A probe outside a Worker-filled prefix would be refused until the wait times out.
    const readiness = await waitForReadiness(
      { ...readinessScope({ ...config, prefixes, objects }), endpoint },
      credentials,
      deps,
    );
    return {
      mode: vended.mode,
      credentials,
      endpoint,
      region: "auto",
      buckets: vended.bucket.split(","),
      expiresAt,
      tokenId,
      child: undefined,
      readiness,
      prefixes,
      objects,
      narrowedByWorker,
    };
  } catch (error) {
    if (await discardKeyless(deps, vendingUrl, audience, tokenId, error)) await deps.onDiscarded?.();
    throw error;
  }
}

/** Revokes through the Worker what a failing step minted; a failure here is reported, not thrown. */
export async function discardKeyless(
  deps: Pick<KeylessDeps, keyof HttpDeps | "idToken" | "mask" | "log" | "warn">,
  vendingUrl: string,
  audience: string,
  tokenId: string,
  cause: unknown,
): Promise<boolean> {
  try {
    await revokeKeyless(deps, vendingUrl, audience, tokenId);
    deps.log(`Revoked child token ${tokenId} through the vending Worker because the step failed.`);
    return true;
  } catch (error) {
    deps.warn(
      `Could not revoke child token ${tokenId} after the failure (${describeError(cause)}): ${describeError(error)}.`,
    );
    return false;
  }
}
