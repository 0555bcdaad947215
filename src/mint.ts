import { bucketTarget, ensureBuckets } from "./buckets.js";
import {
  type CloudflareClient,
  type CloudflareError,
  type HttpDeps,
  refusesCaller,
} from "./cloudflare/client.js";
import {
  accountResourceKey,
  bucketResourceKey,
  PERMISSION_GROUPS,
  SCOPE_BUCKET,
  withPermissionGroup,
} from "./cloudflare/permission-groups.js";
import { createTempCredentials, type TempCredentials } from "./cloudflare/r2.js";
import {
  type CreatedToken,
  createToken,
  listTokens,
  type NewToken,
  revokeToken,
  type TokenTarget,
  verifyToken,
} from "./cloudflare/tokens.js";
import type { Config } from "./config.js";
import { randomHex, sha256Hex } from "./crypto.js";
import { ActionError, describeError } from "./errors.js";
import { childTokenName, type RunContext } from "./naming.js";
import { type Readiness, readinessScope, type S3Credentials, waitForReadiness } from "./readiness.js";
import { isAdmin, isNarrowed, type TokenScope } from "./terms.js";
import { answeredExpiry, expiresAt as expiryOf, wholeSecondsIso } from "./time.js";

export type MintMode = "token" | "hybrid" | "temporary";

/** What a revocation needs: identifiers only, never a secret. This is what main saves to state. */
export interface ChildToken {
  tokenId: string;
  scope: TokenScope;
  accountId: string;
  apiUrl: string;
  expiresAt: string;
}

export interface Minted {
  mode: MintMode;
  credentials: S3Credentials;
  endpoint: string;
  region: "auto";
  buckets: string[];
  /** ISO 8601 as Date#toISOString writes it. */
  expiresAt: string;
  /** The child token the post step revokes (also in keyless mode, where the Worker holds the rest). */
  tokenId: string | undefined;
  /** What a direct revocation needs; undefined for temporary credentials and in keyless mode. */
  child: ChildToken | undefined;
  readiness: Readiness | undefined;
  /** What the credentials are narrowed to: the request's, or what the vending Worker granted. */
  prefixes: readonly string[];
  objects: readonly string[];
  /** The vending Worker's policy narrowed further than the request asked (a rule's prefixes). */
  narrowedByWorker?: boolean;
}

export interface MintDeps extends HttpDeps {
  client: CloudflareClient;
  /** Registers a secret with the log masker; called before the value can reach anything else. */
  mask: (secret: string) => void;
  /** Called as soon as a child token exists, so a cancelled job can still revoke it. */
  onChildCreated: (child: ChildToken) => void | Promise<void>;
  /** Called when a failing step has deleted its child itself, so the post step has nothing left to do. */
  onChildDiscarded?: (child: ChildToken) => void | Promise<void>;
  log: (message: string) => void;
  /** A token that could not be cleaned up: shown even where progress is silenced. */
  warn: (message: string) => void;
  debug: (message: string) => void;
  run?: RunContext | undefined;
  /** Where a mint outside GitHub Actions comes from (e.g. "cli user@host"), for the child's name. */
  origin?: string | undefined;
}

function target(config: Config): TokenTarget {
  return { scope: config.tokenScope, accountId: config.accountId, token: config.apiToken };
}

/** object-* grants the item group on each bucket; admin-* the storage group on the account (narrowed later). */
function childTokenBody(config: Config, name: string, groupId: string, expiresOn: string): NewToken {
  const resources =
    PERMISSION_GROUPS[config.permission].scope === SCOPE_BUCKET
      ? Object.fromEntries(
          config.buckets.map((bucket) => [
            bucketResourceKey(config.accountId, config.jurisdiction, bucket),
            "*",
          ]),
        )
      : { [accountResourceKey(config.accountId)]: "*" };
  return {
    name,
    policies: [{ effect: "allow", permission_groups: [{ id: groupId }], resources }],
    expires_on: expiresOn,
  };
}

/**
 * Creates the child token (permission-group ids: known first, looked up only on a 400). After an
 * ambiguous failure the token is looked up by its unique name and deleted before retrying or giving up.
 */
async function createChildToken(
  config: Config,
  deps: MintDeps,
  name: string,
  expiresOn: string,
): Promise<CreatedToken> {
  const cleanupOrphan = async (failure: CloudflareError) => {
    deps.log(
      `Creating the child token gave no usable answer (${failure.message}); looking for "${name}" to delete it.`,
    );
    try {
      await deleteByName(config, deps, name);
    } catch (error) {
      // Retrying now could leave two tokens: stop, and tell the user exactly what may be left.
      throw new ActionError(
        "cloudflare",
        `Creating the child token gave no usable answer (${failure.message}), and looking it up to delete it failed too: ${error instanceof Error ? error.message : String(error)}`,
        `A token named "${name}" may exist; it expires at ${expiresOn}. Delete it by hand, or run \`r2-ephemeral-credentials sweep --older-than 0s --prefix "${name}"\`.`,
        { cause: error },
      );
    }
  };
  const options = { log: deps.log, onlyR2Groups: true };
  return withPermissionGroup(deps.client, target(config), config.permission, options, (groupId) =>
    createToken(deps.client, target(config), childTokenBody(config, name, groupId, expiresOn), cleanupOrphan),
  );
}

async function deleteByName(config: Config, deps: MintDeps, name: string): Promise<void> {
  const tokens = await listTokens(deps.client, target(config), (count) =>
    deps.debug(`Skipped ${count} listed token(s) whose shape this tool does not understand.`),
  );
  for (const token of tokens.filter((t) => t.name === name)) {
    await revokeToken(deps.client, target(config), token.id);
    deps.log(`Deleted the orphaned child token ${token.id}.`);
  }
}

/** Plain token mode exports the child's own S3 pair; narrowing or admin scope goes through temporary credentials. */
function modeOf(config: Config): MintMode {
  if (config.mode === "temporary") return "temporary";
  return isNarrowed(config) || isAdmin(config.permission) ? "hybrid" : "token";
}

function tempRequest(config: Config, parentAccessKeyId: string) {
  return {
    bucket: config.buckets[0] as string,
    parentAccessKeyId,
    permission: config.permission,
    ttlSeconds: config.ttlSeconds,
    ...(config.prefixes.length > 0 ? { prefixes: config.prefixes } : {}),
    ...(config.objects.length > 0 ? { objects: config.objects } : {}),
  };
}

function maskTemp(deps: MintDeps, temp: TempCredentials): S3Credentials {
  deps.mask(temp.secretAccessKey);
  deps.mask(temp.sessionToken);
  return {
    accessKeyId: temp.accessKeyId,
    secretAccessKey: temp.secretAccessKey,
    sessionToken: temp.sessionToken,
  };
}

/**
 * Hybrid mode: temporary credentials from the child, narrowed to the bucket and prefixes/objects.
 * The input token asks on the child's behalf (parentAccessKeyId = the child's id): a token holding
 * only bucket-scoped item groups is refused on R2's REST endpoints (403/10000, seen live), and
 * working integrations mint this way with an account-level token. Only if the input token is refused
 * does the child ask for itself, once.
 */
async function narrowChild(config: Config, deps: MintDeps, child: CreatedToken): Promise<S3Credentials> {
  const body = tempRequest(config, child.id);
  try {
    return maskTemp(
      deps,
      await createTempCredentials(deps.client, bucketTarget(config, config.apiToken), body),
    );
  } catch (error) {
    if (!refusesCaller(error)) throw error;
    deps.log(
      `api-token may not mint temporary credentials for the child (${error.message}); trying as the child itself.`,
    );
    return maskTemp(deps, await createTempCredentials(deps.client, bucketTarget(config, child.value), body));
  }
}

/** Temporary mode: the parent is parent-access-key-id, or the input token itself (its id from verify). */
async function mintTemporary(config: Config, deps: MintDeps): Promise<Minted> {
  const parent = config.parentAccessKeyId ?? (await verifyToken(deps.client, target(config))).id;
  const expiresAt = new Date(expiryOf(deps.now(), config.ttlSeconds)).toISOString();
  const credentials = maskTemp(
    deps,
    await createTempCredentials(
      deps.client,
      bucketTarget(config, config.apiToken),
      tempRequest(config, parent),
    ),
  );
  deps.log(
    `Minted temporary credentials ${credentials.accessKeyId} from parent ${parent}, expiring at ${expiresAt}; they cannot be revoked.`,
  );
  const readiness = await waitForReadiness(readinessScope(config), credentials, deps);
  return {
    mode: "temporary",
    credentials,
    endpoint: config.s3Endpoint,
    region: "auto",
    buckets: config.buckets,
    expiresAt,
    tokenId: undefined,
    child: undefined,
    readiness,
    prefixes: config.prefixes,
    objects: config.objects,
  };
}

/**
 * Mints credentials for the configured mode, proves them at the S3 endpoint and returns them.
 * Whatever fails after something was minted, what was minted is deleted before the error goes on.
 */
export async function mint(config: Config, deps: MintDeps): Promise<Minted> {
  if (config.createBucket) await ensureBuckets(deps.client, config, deps.log);
  const mode = modeOf(config);
  if (mode === "temporary") return mintTemporary(config, deps);

  const mintId = randomHex(4);
  const name = childTokenName(mintId, { tokenName: config.tokenName, run: deps.run, origin: deps.origin });
  const expiresOn = wholeSecondsIso(expiryOf(deps.now(), config.ttlSeconds));
  const created = await createChildToken(config, deps, name, expiresOn);
  // The child's value is a secret in every mode; in hybrid mode it never leaves this process.
  deps.mask(created.value);

  const child: ChildToken = {
    tokenId: created.id,
    scope: config.tokenScope,
    accountId: config.accountId,
    apiUrl: config.apiUrl,
    expiresAt: answeredExpiry(created.expires_on, Date.parse(expiresOn)),
  };
  try {
    await deps.onChildCreated(child);
    deps.log(`Created child token ${child.tokenId} ("${created.name}"), expiring at ${child.expiresAt}.`);
    let credentials: S3Credentials;
    let expiresAt = child.expiresAt;
    if (mode === "token") {
      const secretAccessKey = await sha256Hex(created.value);
      deps.mask(secretAccessKey);
      credentials = { accessKeyId: created.id, secretAccessKey, sessionToken: "" };
    } else {
      credentials = await narrowChild(config, deps, created);
      // Temporary credentials die with the child, so they expire at the earlier of the two.
      expiresAt = new Date(
        Math.min(expiryOf(deps.now(), config.ttlSeconds), Date.parse(child.expiresAt)),
      ).toISOString();
      deps.log(
        `Minted temporary credentials ${credentials.accessKeyId} from child token ${child.tokenId}, narrowed to ${config.buckets[0]}.`,
      );
    }
    const readiness = await waitForReadiness(readinessScope(config), credentials, deps);
    return {
      mode,
      credentials,
      endpoint: config.s3Endpoint,
      region: "auto",
      buckets: config.buckets,
      expiresAt,
      tokenId: child.tokenId,
      child,
      readiness,
      prefixes: config.prefixes,
      objects: config.objects,
    };
  } catch (error) {
    await discardChild(config, deps, child, error);
    throw error;
  }
}

/** Deletes a child token minted by a step that is failing anyway; a failure here is reported, not thrown. */
export async function discardChild(
  config: Config,
  deps: MintDeps,
  child: ChildToken,
  cause: unknown,
): Promise<void> {
  try {
    const outcome = await revokeToken(deps.client, target(config), child.tokenId);
    deps.log(
      `Deleted child token ${child.tokenId} because the step failed (${outcome === "deleted" ? "revoked" : "already gone"}).`,
    );
    await deps.onChildDiscarded?.(child);
  } catch (error) {
    deps.warn(
      `Could not delete child token ${child.tokenId} after the failure (${describeError(cause)}): ${describeError(error)}. It expires at ${child.expiresAt}; delete it by hand if it matters.`,
    );
  }
}
