/**
 * /v1/mint and /v1/revoke: authenticate the caller by its OIDC token, apply the policy, then run the
 * same core as the action (parseConfig, mint, revokeToken) against Cloudflare with the Worker's secret.
 */
import { CloudflareClient, CloudflareError, type HttpDeps } from "../../src/cloudflare/client.js";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "../../src/cloudflare/retry.js";
import { getToken, revokeToken } from "../../src/cloudflare/tokens.js";
import { type Config, parseConfig, type RawInputs } from "../../src/config.js";
import { ActionError, describeError, InputError } from "../../src/errors.js";
import { type Minted, mint } from "../../src/mint.js";
import { DEFAULT_NAME_PREFIX, type RunContext } from "../../src/naming.js";
import { outputsOf } from "../../src/outputs.js";
import { INPUT_NAMES, type InputName } from "../../src/terms.js";
import { HttpError, json } from "./errors.js";
import type { Logger } from "./log.js";
import { type Claims, verifyOidcToken } from "./oidc.js";
import { decide } from "./policy.js";
import { readMintRequest, readRevokeRequest } from "./request.js";
import type { Settings } from "./settings.js";

/** Inputs the Worker sets itself; a problem with one of them is the Worker's, not the caller's. */
const SERVER_INPUTS: InputName[] = [
  "api-token",
  "account-id",
  "token-scope",
  "api-url",
  "s3-endpoint",
  "wait-timeout",
];
/** Inputs a caller may send (request.ts maps the body onto these names). */
const CALLER_INPUTS = new Set<InputName>([
  "bucket",
  "permission",
  "prefixes",
  "objects",
  "ttl",
  "jurisdiction",
]);

const workerDeps = (): HttpDeps => ({
  fetch: (input, init) => fetch(input, init),
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random(),
});

/**
 * The core's retry policy with a shorter budget: the caller (the action) gives up on an answer after
 * 30 s, and a Worker that is still retrying then could mint for nobody (the child would live until it
 * expires). 429/5xx/network errors are still retried with full-jitter backoff and Retry-After.
 */
export const WORKER_RETRY_POLICY: RetryPolicy = {
  ...DEFAULT_RETRY_POLICY,
  maxAttempts: 5,
  totalBudgetMs: 15_000,
};

export function client(settings: Settings, log: Logger): CloudflareClient {
  return new CloudflareClient({
    apiUrl: settings.apiUrl,
    deps: workerDeps(),
    retry: WORKER_RETRY_POLICY,
    log: (message) => log.info("cloudflare.retry", { message }),
  });
}

/**
 * The child token is named like the action's: `r2-ephemeral <repository> run <run_id>.<run_attempt>
 * <workflow> <mint id>`. The job part is the `workflow` claim (GitHub's ID tokens carry no job id); it is
 * shortened first when the name would pass Cloudflare's 120 characters.
 */
export function runContext(claims: Claims): RunContext {
  return {
    repository: claims.repository,
    runId: claims.run_id,
    runAttempt: claims.run_attempt,
    // A workflow name is free text: one line, no control characters, in a token name.
    job: (claims.workflow ?? "")
      .replace(/\s+/g, " ")
      .replace(/\p{Cc}/gu, "")
      .trim(),
  };
}

/** Every child minted for a run starts with this; revoke checks it. The `.` ends the run id, so run 12 is not run 123. */
export function runPrefix(claims: Pick<Claims, "repository" | "run_id">): string {
  return `${DEFAULT_NAME_PREFIX} ${claims.repository} run ${claims.run_id}.`;
}

function identify(log: Logger, claims: Claims): void {
  log.set({ repository: claims.repository, run: `${claims.run_id}.${claims.run_attempt}` });
}

/** A Cloudflare failure: 502 with Cloudflare's status, codes, message and hint (never a secret: the core's messages carry none). */
function upstream(error: unknown): HttpError {
  if (error instanceof CloudflareError || error instanceof ActionError) {
    return new HttpError(502, "cloudflare_error", describeError(error));
  }
  return new HttpError(500, "internal", `Unexpected failure: ${describeError(error)}`);
}

function configFor(settings: Settings, raw: RawInputs): Config {
  const inputs: RawInputs = {
    ...raw,
    "api-token": settings.apiToken,
    "account-id": settings.accountId,
    "token-scope": settings.tokenScope,
    "api-url": settings.apiUrl,
    "s3-endpoint": settings.s3Endpoint ?? "",
    // The action (or whoever calls) waits for the S3 endpoint; the Worker answers as soon as Cloudflare has.
    "wait-timeout": "0",
  };
  for (const name of INPUT_NAMES) {
    if (!CALLER_INPUTS.has(name) && !SERVER_INPUTS.includes(name)) delete inputs[name];
  }
  try {
    return parseConfig(inputs);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    const server = error.problems.filter((p) =>
      p.inputs.some((input) => SERVER_INPUTS.includes(input as InputName)),
    );
    if (server.length > 0) {
      // Name the input, never its value: api-token is among them.
      const names = [...new Set(server.flatMap((p) => p.inputs))].join(", ");
      throw new HttpError(
        500,
        "server_misconfigured",
        `The vending Worker is misconfigured: its ${names} setting is not valid.`,
      );
    }
    throw new HttpError(400, "bad_request", describeError(error));
  }
}

/**
 * The action's own outputs, so the action publishes the answer unchanged, plus the mode and what the
 * credentials are narrowed to (a rule's prefixes may narrow a request that asked for none): the caller
 * probes readiness inside that scope.
 */
export function mintAnswer(minted: Minted): Record<string, string | readonly string[]> {
  return { mode: minted.mode, ...outputsOf(minted), prefixes: minted.prefixes, objects: minted.objects };
}

export async function handleMint(request: Request, settings: Settings, log: Logger): Promise<Response> {
  const claims = await verifyOidcToken(request.headers.get("authorization"), settings);
  identify(log, claims);
  const { raw, ttlText } = await readMintRequest(request);
  const config = configFor(settings, raw);
  log.set({ bucket: config.buckets.join(",") });

  const decision = decide(settings.policy, claims, {
    buckets: config.buckets,
    jurisdiction: config.jurisdiction,
    permission: config.permission,
    prefixes: config.prefixes,
    objects: config.objects,
    ttl: ttlText === undefined ? undefined : { seconds: config.ttlSeconds, text: ttlText },
  });
  if (!decision.allowed)
    throw new HttpError(403, "policy_denied", `Refused by the policy: ${decision.message}.`);
  const granted: Config = {
    ...config,
    ttlSeconds: decision.ttlSeconds,
    prefixes: decision.prefixes,
    objects: decision.objects,
  };
  log.info("mint.allowed", {
    rule: decision.rule,
    repository_id: claims.repository_id ?? null,
    repository_owner_id: claims.repository_owner_id ?? null,
    permission: granted.permission,
    ttl_seconds: granted.ttlSeconds,
    prefixes: granted.prefixes,
    objects: granted.objects,
    narrowed_by_policy: decision.narrowedByPolicy,
    jurisdiction: granted.jurisdiction,
  });

  let minted: Minted;
  try {
    minted = await mint(granted, {
      ...workerDeps(),
      client: client(settings, log),
      // Nothing to mask: the Worker logs identifiers only, and the credentials go to the caller alone.
      mask: () => {},
      onChildCreated: (child) => log.set({ token_id: child.tokenId }),
      log: (message) => log.info("mint.progress", { message }),
      warn: (message) => log.warn("mint.cleanup_failed", { message }),
      debug: () => {},
      run: runContext(claims),
    });
  } catch (error) {
    throw upstream(error);
  }
  log.set({ token_id: minted.child?.tokenId ?? null });
  log.info("mint.ok", {
    mode: minted.mode,
    access_key_id: minted.credentials.accessKeyId,
    expires_at: minted.expiresAt,
  });
  return json(200, mintAnswer(minted));
}

export async function handleRevoke(request: Request, settings: Settings, log: Logger): Promise<Response> {
  const claims = await verifyOidcToken(request.headers.get("authorization"), settings);
  identify(log, claims);
  const tokenId = await readRevokeRequest(request);
  log.set({ token_id: tokenId });

  const cf = client(settings, log);
  const target = { scope: settings.tokenScope, accountId: settings.accountId, token: settings.apiToken };
  let name: string;
  try {
    name = (await getToken(cf, target, tokenId)).name;
  } catch (error) {
    if (error instanceof CloudflareError && error.status === 404) {
      log.info("revoke.already_gone");
      return json(200, { revoked: false, reason: "already gone" });
    }
    throw upstream(error);
  }
  const own = runPrefix(claims);
  if (!name.startsWith(own)) {
    // Say whose it is not, never whose it is: another repository's name is not the caller's business.
    const sameRepository = name.startsWith(`${DEFAULT_NAME_PREFIX} ${claims.repository} run `);
    throw new HttpError(
      403,
      "not_owner",
      sameRepository
        ? `Token ${tokenId} was minted for another run of ${claims.repository}, not run ${claims.run_id}; nothing was deleted.`
        : `Token ${tokenId} was not minted for ${claims.repository}; nothing was deleted.`,
    );
  }
  let outcome: "deleted" | "already-gone";
  try {
    outcome = await revokeToken(cf, target, tokenId);
  } catch (error) {
    throw upstream(error);
  }
  log.info(outcome === "deleted" ? "revoke.ok" : "revoke.already_gone");
  return json(200, outcome === "deleted" ? { revoked: true } : { revoked: false, reason: "already gone" });
}
