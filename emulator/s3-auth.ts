// Who is calling the S3 endpoint and what they may do: API-token credentials
// (docs/cloudflare-api.md §4) and temporary credentials (docs/cloudflare-api.md §2), with
// propagation and revocation delays (docs/cloudflare-api.md §6, pitfall 1).
import { type Action, holds, holdsAll, targets } from "./policy.js";
import { TEMP_PERMISSION_NEEDS } from "./r2-api.js";
import type { State, TempCredRecord, TempPermission, TokenRecord } from "./state.js";
import type { Jurisdiction } from "./types.js";

export type Principal = { kind: "token"; token: TokenRecord } | { kind: "temp"; temp: TempCredRecord };

/**
 * The credential a request names. Temporary credentials are found by their session token, since
 * Cloudflare may hand out the parent's access key id again (docs/cloudflare-api.md §8.10), so an
 * access key id alone need not name one credential. Without a matching session token the id is an
 * API token's or, failing that, a temporary credential's (whose refusal then names the missing
 * session token).
 */
export function findCredential(
  state: State,
  accessKeyId: string,
  sessionToken: string | undefined,
): { secret: string; principal: Principal } | undefined {
  if (sessionToken !== undefined) {
    const temp = state.temps.get(sessionToken);
    if (temp && temp.accessKeyId === accessKeyId)
      return { secret: temp.secret, principal: { kind: "temp", temp } };
  }
  const token = state.tokens.get(accessKeyId);
  if (token) return { secret: token.secret, principal: { kind: "token", token } };
  const temp = state.tempWithKey(accessKeyId);
  if (temp) return { secret: temp.secret, principal: { kind: "temp", temp } };
  return undefined;
}

/**
 * Why a token cannot be used at S3 right now, or undefined when it can. The delays are read at
 * request time, so `set()` applies to existing credentials.
 * Assumption (conformance: token-update-at-s3): policy changes by PUT and rolled values take effect
 * at once; only creation and deletion propagate slowly.
 * Not modelled: an IP `condition` is stored but not enforced.
 */
function tokenRefusal(state: State, t: TokenRecord | undefined): string | undefined {
  const now = state.now();
  if (!t) return "The parent API token does not exist";
  if (t.deletedAt !== undefined && now >= t.deletedAt + state.options.revocationDelayMs) {
    return "The API token has been revoked";
  }
  // Assumption (conformance: propagation-delay): until then S3 answers 403 AccessDenied.
  if (now < t.issuedOn + state.options.propagationDelayMs) {
    return "The credentials have not propagated yet";
  }
  const status = state.statusOf(t);
  if (status !== "active") return `The API token is ${status}`;
  if (t.notBefore !== undefined && now < t.notBefore) return "The API token is not valid yet";
  return undefined;
}

/** Refusal reason for a credential whose signature already matched, or undefined when usable. */
export function credentialRefusal(
  state: State,
  p: Principal,
  sessionToken: string | undefined,
): string | undefined {
  if (p.kind === "token") {
    // Assumption (conformance: s3-session-token-on-token-creds): a session token sent with API-token
    // credentials is refused, so a client that mixes up two credential sets fails loudly.
    if (sessionToken !== undefined) return "A session token was sent with non-temporary credentials";
    return tokenRefusal(state, p.token);
  }
  const { temp } = p;
  const now = state.now();
  if (sessionToken !== temp.sessionToken) return "The session token is missing or does not match";
  if (now >= temp.expiresAt) return "The temporary credentials have expired";
  if (now < temp.createdAt + state.options.propagationDelayMs)
    return "The credentials have not propagated yet";
  // Children die with their parent (docs/cloudflare-api.md §2, revocation), subject to the same
  // revocation delay.
  // Propagation of the parent itself is not re-checked: it was usable when the child was minted.
  const parent = state.tokens.get(temp.parentId);
  if (!parent) return "The parent API token does not exist";
  if (parent.deletedAt !== undefined && now >= parent.deletedAt + state.options.revocationDelayMs) {
    return "The parent API token has been revoked";
  }
  if (state.statusOf(parent) !== "active") return `The parent API token is ${state.statusOf(parent)}`;
  return undefined;
}

/** What one S3 request needs. `key`/`listPrefix` matter for prefix/object-scoped temp creds. */
export interface S3Need {
  action: Action;
  /** Absent for account-level operations (ListBuckets, CreateBucket). */
  bucket?: { name: string; jurisdiction: Jurisdiction };
  key?: string;
  listPrefix?: string;
}

const TEMP_ACTIONS: Record<TempPermission, Action[]> = {
  "object-read-only": ["object.read"],
  "object-read-write": ["object.read", "object.write"],
  "admin-read-only": ["object.read", "bucket.read"],
  "admin-read-write": ["object.read", "object.write", "bucket.read", "bucket.write"],
};

function keyInScope(temp: TempCredRecord, need: S3Need): boolean {
  if (!temp.prefixes && !temp.objects) return true;
  const prefixes = temp.prefixes ?? [];
  const objects = temp.objects ?? [];
  if (need.key !== undefined)
    return objects.includes(need.key) || prefixes.some((p) => need.key?.startsWith(p));
  if (need.listPrefix !== undefined) {
    // Assumption (conformance: temp-creds-prefix-listing): a scoped credential may list only inside a
    // granted prefix, so ListObjects must carry a `prefix` that starts with one of them; object-only
    // grants cannot list.
    return prefixes.some((p) => need.listPrefix?.startsWith(p));
  }
  // Bucket-level operations (HeadBucket, config reads) are allowed for scoped credentials.
  return true;
}

function tokenAllows(state: State, t: TokenRecord, need: S3Need): boolean {
  const grants = state.grantsOf(t);
  const acct = state.accountId;
  if (need.action === "bucket.read" || need.action === "bucket.write" || !need.bucket) {
    return holds(grants, need.action, targets.account(acct));
  }
  // A bucket key names its jurisdiction, so it only matches on that jurisdiction's endpoint.
  return holds(grants, need.action, targets.bucket(acct, need.bucket.jurisdiction, need.bucket.name));
}

export function allows(state: State, p: Principal, need: S3Need): boolean {
  if (p.kind === "token") return tokenAllows(state, p.token, need);
  const { temp } = p;
  if (!need.bucket || need.bucket.name !== temp.bucket || need.bucket.jurisdiction !== temp.jurisdiction) {
    return false;
  }
  if (!TEMP_ACTIONS[temp.permission].includes(need.action)) return false;
  if (!keyInScope(temp, need)) return false;
  // "The temporary credentials cannot exceed this token's permissions": re-checked on every
  // request, so narrowing the parent with PUT narrows its children too.
  const parent = state.tokens.get(temp.parentId);
  if (!parent) return false;
  const needs = TEMP_PERMISSION_NEEDS[temp.permission];
  const grants = state.grantsOf(parent);
  return (
    holdsAll(grants, needs.bucket, targets.bucket(state.accountId, temp.jurisdiction, temp.bucket)) &&
    holdsAll(grants, needs.account, targets.account(state.accountId))
  );
}
