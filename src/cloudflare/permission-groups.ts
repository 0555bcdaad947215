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
 * Runs a token write with the group's known id first (one round trip). Only a 400 — Cloudflare
 * rejecting the id — triggers the lookup by name and scope and one more attempt; 401/403/429/5xx never do.
 */
export async function withPermissionGroup<T>(
  client: CloudflareClient,
  target: TokenTarget,
  permission: Permission,
  log: (message: string) => void,
  write: (groupId: string) => Promise<T>,
): Promise<T> {
  const group = PERMISSION_GROUPS[permission];
  try {
    return await write(group.knownId);
  } catch (error) {
    if (!(error instanceof CloudflareError) || error.status !== 400) throw error;
    log(`Cloudflare rejected the known id of "${group.name}" (${error.message}); looking it up by name.`);
    const found = await findPermissionGroups(client, target, { name: group.name, scope: group.scope });
    const match = found.find(
      (g) => g.name === group.name && (g.scopes.length === 0 || g.scopes.includes(group.scope)),
    );
    if (!match) {
      throw new ActionError(
        "cloudflare",
        `Cloudflare has no permission group named "${group.name}" for ${group.scope} (the request failed with: ${error.message}).`,
        "The {name:api-token} may not be allowed to read permission groups, or Cloudflare renamed the group: please report it.",
      );
    }
    // The known id was right, so the 400 had another cause: report the original error.
    if (match.id === group.knownId) throw error;
    return await write(match.id);
  }
}
