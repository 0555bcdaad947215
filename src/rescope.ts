import type { CloudflareClient } from "./cloudflare/client.js";
import {
  bucketResourceKey,
  PERMISSION_GROUPS,
  R2_GROUP_IDS,
  withPermissionGroup,
} from "./cloudflare/permission-groups.js";
import { getToken, type Policy, type Token, type TokenTarget, updateToken } from "./cloudflare/tokens.js";
import { ActionError } from "./errors.js";
import { isAdmin, type Jurisdiction, type Permission } from "./terms.js";

export interface RescopeRequest {
  target: TokenTarget;
  tokenId: string;
  bucket: string;
  permission: Permission;
  jurisdiction: Jurisdiction;
}

export type RescopeOutcome = "added" | "already-granted";

function grantsGroup(policy: Policy, groupId: string, groupName: string): boolean {
  return (
    policy.effect === "allow" &&
    policy.permission_groups.length === 1 &&
    policy.permission_groups.some((g) => g.id === groupId || (g as { name?: string }).name === groupName)
  );
}

/** The token with the bucket added: into an allow policy of the same single group, else as a new policy. */
function withBucket(
  token: Token,
  groupId: string,
  groupName: string,
  resourceKey: string,
): Policy[] | undefined {
  const policies = token.policies.map(({ id: _generated, ...policy }) => policy);
  const existing = policies.find((p) => grantsGroup(p, groupId, groupName));
  if (existing?.resources[resourceKey] === "*") return undefined;
  if (existing) {
    existing.resources = { ...existing.resources, [resourceKey]: "*" };
    return policies;
  }
  return [
    ...policies,
    { effect: "allow", permission_groups: [{ id: groupId }], resources: { [resourceKey]: "*" } },
  ];
}

/**
 * Adds a bucket to an existing token: GET it, then PUT it back whole (Cloudflare replaces the token
 * on update) with the bucket's resource key under the permission's item group.
 */
export async function rescope(
  client: CloudflareClient,
  request: RescopeRequest,
  log: (message: string) => void,
): Promise<RescopeOutcome> {
  const group = PERMISSION_GROUPS[request.permission];
  if (isAdmin(request.permission)) {
    throw new ActionError(
      "input",
      `rescope adds buckets with object permissions only; ${request.permission} is account-wide, not per bucket.`,
      "Use --permission object-read-only or object-read-write.",
    );
  }
  const token = await getToken(client, request.target, request.tokenId);
  const key = bucketResourceKey(request.target.accountId, request.jurisdiction, request.bucket);
  const onlyR2Groups = token.policies.every((p) => p.permission_groups.every((g) => R2_GROUP_IDS.has(g.id)));
  return withPermissionGroup(
    client,
    request.target,
    request.permission,
    { log, onlyR2Groups },
    async (groupId) => {
      const policies = withBucket(token, groupId, group.name, key);
      if (policies === undefined) return "already-granted";
      await updateToken(client, request.target, token.id, {
        name: token.name,
        policies,
        ...(token.not_before ? { not_before: token.not_before } : {}),
        ...(token.expires_on ? { expires_on: token.expires_on } : {}),
        ...(token.condition ? { condition: token.condition } : {}),
        ...(token.status === "active" || token.status === "disabled" ? { status: token.status } : {}),
      });
      return "added";
    },
  );
}
