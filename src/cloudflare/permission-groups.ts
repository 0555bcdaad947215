import { ActionError } from "../errors.js";
import type { Permission } from "../terms.js";
import { type CloudflareClient, CloudflareError } from "./client.js";
import { findPermissionGroups, type TokenTarget } from "./tokens.js";

export const SCOPE_BUCKET = "com.cloudflare.edge.r2.bucket";
export const SCOPE_ACCOUNT = "com.cloudflare.api.account";

export interface PermissionGroupRef {
  name: string;
  scope: typeof SCOPE_BUCKET | typeof SCOPE_ACCOUNT;
  /** Cloudflare's id as widely used; tried first, looked up by name only when Cloudflare rejects it. */
  knownId: string;
}

/**
 * The group each permission delegates. object-* goes on the bucket (item groups), admin-* on the
 * account (storage groups): Cloudflare applies a group only to the resource type it is scoped for.
 */
export const PERMISSION_GROUPS: Record<Permission, PermissionGroupRef> = {
  "object-read-only": {
    name: "Workers R2 Storage Bucket Item Read",
    scope: SCOPE_BUCKET,
    knownId: "6a018a9f2fc74eb6b293b0c548f38b39",
  },
  "object-read-write": {
    name: "Workers R2 Storage Bucket Item Write",
    scope: SCOPE_BUCKET,
    knownId: "2efd5506f9c8494dacb1fa10a3e7d5b6",
  },
  "admin-read-only": {
    name: "Workers R2 Storage Read",
    scope: SCOPE_ACCOUNT,
    knownId: "b4992e1108244f5d8bfbd5744320c2e1",
  },
  "admin-read-write": {
    name: "Workers R2 Storage Write",
    scope: SCOPE_ACCOUNT,
    knownId: "bf7481a1826f439697cb59a20b22293e",
  },
};

export function bucketResourceKey(accountId: string, jurisdiction: string, bucket: string): string {
  return `${SCOPE_BUCKET}.${accountId}_${jurisdiction}_${bucket}`;
}

export function accountResourceKey(accountId: string): string {
  return `${SCOPE_ACCOUNT}.${accountId}`;
}

/**
 * The R2 group of this tool that a policy's group entry is, by id, or by name when Cloudflare has
 * rotated the id (it answers the name with the id on reads).
 */
export function knownGroup(group: { id: string; name?: unknown }): PermissionGroupRef | undefined {
  return Object.values(PERMISSION_GROUPS).find((g) => g.knownId === group.id || g.name === group.name);
}

/** A group entry's name as people read it: Cloudflare's, else this tool's for a known id, else the id. */
export function groupLabel(group: { id: string; name?: unknown }): string {
  return typeof group.name === "string" ? group.name : (knownGroup(group)?.name ?? group.id);
}

/**
 * Whether a failed token write may mean Cloudflare no longer knows the group id we sent. A 400 says
 * so most plainly; Cloudflare also answers policy problems with 403/9109, and an unknown id might be
 * a 404. 401, 429 and 5xx never mean it.
 */
function mayBeUnknownGroup(error: CloudflareError, onlyR2Groups: boolean): boolean {
  if (error.status === 400) return true;
  return onlyR2Groups && ((error.status === 403 && error.hasCode(9109)) || error.status === 404);
}

/**
 * Runs a token write with the group's known id first (one round trip). When Cloudflare's answer
 * may mean the id is unknown, the group is looked up by name and scope and the write tried once
 * more with the id found; if that is the id already sent, the original failure stands.
 * `onlyR2Groups`: the written policy names no group but R2's, so a 403/9109 or 404 can only be
 * about them.
 */
export async function withPermissionGroup<T>(
  client: CloudflareClient,
  target: TokenTarget,
  permission: Permission,
  options: { log: (message: string) => void; onlyR2Groups: boolean },
  write: (groupId: string) => Promise<T>,
): Promise<T> {
  const group = PERMISSION_GROUPS[permission];
  try {
    return await write(group.knownId);
  } catch (error) {
    if (!(error instanceof CloudflareError) || !mayBeUnknownGroup(error, options.onlyR2Groups)) throw error;
    // Nothing is said until the lookup shows a new id: a 403/9109 is far more often a token without
    // API Tokens Write than a rotated id, and its own message (with the hint) is the one to read.
    let found: Awaited<ReturnType<typeof findPermissionGroups>>;
    try {
      found = await findPermissionGroups(client, target, { name: group.name, scope: group.scope });
    } catch (lookup) {
      // After a plain 400 the lookup was the way forward, so its failure is the news; after a
      // 403/9109 or 404 the lookup was a guess, and the original refusal is the one to explain.
      if (error.status === 400) throw lookup;
      throw error;
    }
    const match = found.find(
      (g) => g.name === group.name && (g.scopes.length === 0 || g.scopes.includes(group.scope)),
    );
    if (!match) {
      // After a 403/9109 or 404 an empty lookup most likely means the refusal was about something else.
      if (error.status !== 400) throw error;
      throw new ActionError(
        "cloudflare",
        `Cloudflare has no permission group named "${group.name}" for ${group.scope} (the request failed with: ${error.message}).`,
        "The {name:api-token} may not be allowed to read permission groups, or Cloudflare renamed the group: please report it.",
      );
    }
    // The known id was right, so the refusal had another cause: report the original error.
    if (match.id === group.knownId) throw error;
    options.log(
      `Cloudflare refused the known id of "${group.name}" (${error.message}); using ${match.id}, found by name.`,
    );
    return await write(match.id);
  }
}
