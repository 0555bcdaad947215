import type { CloudflareClient } from "./cloudflare/client.js";
import {
  accountResourceKey,
  bucketResourceKey,
  groupLabel,
  knownGroup,
  PERMISSION_GROUPS,
  SCOPE_ACCOUNT,
  SCOPE_BUCKET,
  withPermissionGroup,
} from "./cloudflare/permission-groups.js";
import {
  getToken,
  type Policy,
  type Token,
  type TokenTarget,
  updateToken,
  verifyToken,
} from "./cloudflare/tokens.js";
import { ActionError } from "./errors.js";
import { isAdmin, type Jurisdiction, type Permission } from "./terms.js";

export type RescopeChange =
  | { kind: "add"; bucket: string; permission: Permission }
  | { kind: "remove"; bucket: string };

export interface RescopeRequest {
  target: TokenTarget;
  /** A token id, or "self": the calling token, found through the verify endpoint of its scope. */
  tokenId: string;
  change: RescopeChange;
  jurisdiction: Jurisdiction;
  /** Work out the new policies and say what would change, without the PUT. */
  dryRun?: boolean;
}

export type RescopeOutcome = "added" | "already-granted" | "removed";

export interface RescopeResult {
  outcome: RescopeOutcome;
  /** True when nothing was written (a dry run, or nothing to change). */
  unchanged: boolean;
  tokenId: string;
  tokenName: string;
  /** One line per policy touched, for people. */
  changes: string[];
  /** The token's policies after the change (what was, or would be, PUT). */
  policies: NewPolicy[];
  /** Removing: the policies that still reach the bucket through an account-wide grant. */
  stillCoveredBy: string[];
}

/** A policy as sent back in a PUT (Cloudflare generates the ids). */
type NewPolicy = Pick<Policy, "effect" | "permission_groups" | "resources">;

function groupNames(policy: Policy | NewPolicy): string {
  return policy.permission_groups.map(groupLabel).join(", ");
}

function describePolicy(index: number, policy: Policy | NewPolicy): string {
  return `policy ${index + 1} (${policy.effect} ${groupNames(policy)})`;
}

function grantsGroup(policy: NewPolicy, groupId: string, groupName: string): boolean {
  return (
    policy.effect === "allow" &&
    policy.permission_groups.length === 1 &&
    policy.permission_groups.some((g) => g.id === groupId || (g as { name?: string }).name === groupName)
  );
}

function copyPolicies(token: Token): NewPolicy[] {
  return token.policies.map(({ id: _generated, ...policy }) => ({
    ...policy,
    resources: Object.fromEntries(
      Object.entries(policy.resources).map(([k, v]) => [k, typeof v === "string" ? v : { ...v }]),
    ),
  }));
}

/** The token with the bucket added: into an allow policy of the same single group, else as a new policy. */
function withBucket(
  token: Token,
  groupId: string,
  groupName: string,
  resourceKey: string,
): { policies: NewPolicy[]; changes: string[] } | undefined {
  const policies = copyPolicies(token);
  const index = policies.findIndex((p) => grantsGroup(p, groupId, groupName));
  const existing = policies[index];
  if (existing?.resources[resourceKey] === "*") return undefined;
  if (existing) {
    existing.resources = { ...existing.resources, [resourceKey]: "*" };
    return { policies, changes: [`${describePolicy(index, existing)}: + ${resourceKey}`] };
  }
  const added: NewPolicy = {
    effect: "allow",
    permission_groups: [{ id: groupId }],
    resources: { [resourceKey]: "*" },
  };
  return {
    policies: [...policies, added],
    changes: [
      `new ${describePolicy(policies.length, { ...added, permission_groups: [{ id: groupId, name: groupName } as { id: string }] })}: + ${resourceKey}`,
    ],
  };
}

const isR2Group = (g: { id: string; name?: string }) => knownGroup(g) !== undefined;
const groupScope = (g: { id: string; name?: string }) => knownGroup(g)?.scope;

/**
 * Allow policies that still reach every bucket of the account: a storage group on the account, or
 * an item group on a bucket wildcard. (An item group on the bare account key grants nothing: a group
 * applies only to its own resource type.)
 */
function accountWideCover(policies: NewPolicy[], accountId: string): string[] {
  const account = accountResourceKey(accountId);
  const wildcard = (key: string) => key.startsWith(`${SCOPE_BUCKET}.`) && key.endsWith("*");
  return policies.flatMap((policy, index) => {
    if (policy.effect !== "allow" || !policy.permission_groups.some(isR2Group)) return [];
    const scopes = new Set(policy.permission_groups.map(groupScope));
    const entries = Object.entries(policy.resources);
    const onAccount = entries.some(
      ([key, value]) => (key === account || key === "com.cloudflare.api.account.*") && value === "*",
    );
    const onAllBuckets = entries.some(
      ([key, value]) => wildcard(key) || (typeof value !== "string" && Object.keys(value).some(wildcard)),
    );
    const covers = (scopes.has(SCOPE_ACCOUNT) && onAccount) || (scopes.has(SCOPE_BUCKET) && onAllBuckets);
    return covers ? [describePolicy(index, policy)] : [];
  });
}

/**
 * The token without the bucket: its key leaves every allow policy (a policy left empty goes). Deny
 * policies keep it: dropping a bucket from a deny would widen the token.
 */
function withoutBucket(
  token: Token,
  key: string,
): { policies: NewPolicy[]; changes: string[]; deniedOnly: boolean } {
  const policies: NewPolicy[] = [];
  const changes: string[] = [];
  let deniedOnly = false;
  copyPolicies(token).forEach((policy, index) => {
    const resources = policy.resources;
    let removed = false;
    if (policy.effect === "allow") {
      if (key in resources) {
        delete resources[key];
        removed = true;
      }
      for (const [parent, value] of Object.entries(resources)) {
        if (typeof value === "string" || !(key in value)) continue;
        delete value[key];
        removed = true;
        if (Object.keys(value).length === 0) delete resources[parent];
      }
    } else if (key in resources || Object.values(resources).some((v) => typeof v !== "string" && key in v)) {
      deniedOnly = true;
    }
    if (!removed) {
      policies.push(policy);
      return;
    }
    if (Object.keys(resources).length === 0)
      changes.push(`${describePolicy(index, policy)}: dropped (nothing left in it)`);
    else {
      policies.push(policy);
      changes.push(`${describePolicy(index, policy)}: - ${key}`);
    }
  });
  return { policies, changes, deniedOnly: deniedOnly && changes.length === 0 };
}

function update(client: CloudflareClient, target: TokenTarget, token: Token, policies: NewPolicy[]) {
  return updateToken(client, target, token.id, {
    name: token.name,
    policies,
    ...(token.not_before ? { not_before: token.not_before } : {}),
    ...(token.expires_on ? { expires_on: token.expires_on } : {}),
    ...(token.condition ? { condition: token.condition } : {}),
    ...(token.status === "active" || token.status === "disabled" ? { status: token.status } : {}),
  });
}

/**
 * Adds a bucket to an existing token, or removes one: GET it, then PUT it back whole (Cloudflare
 * replaces the token on update). A dry run stops before the PUT and says what it would send.
 */
export async function rescope(
  client: CloudflareClient,
  request: RescopeRequest,
  log: (message: string) => void,
): Promise<RescopeResult> {
  const { target, change } = request;
  if (change.kind === "add" && isAdmin(change.permission)) {
    throw new ActionError(
      "input",
      `rescope adds buckets with object permissions only; ${change.permission} is account-wide, not per bucket.`,
      "Use --permission object-read-only or object-read-write.",
    );
  }
  const tokenId = request.tokenId === "self" ? (await verifyToken(client, target)).id : request.tokenId;
  const token = await getToken(client, target, tokenId);
  const key = bucketResourceKey(target.accountId, request.jurisdiction, change.bucket);
  const base = { tokenId: token.id, tokenName: token.name };

  if (change.kind === "remove") {
    const { policies, changes, deniedOnly } = withoutBucket(token, key);
    if (changes.length === 0) {
      throw new ActionError(
        "refused",
        `Token ${token.id} does not grant bucket ${change.bucket} (jurisdiction ${request.jurisdiction}) in any allow policy${deniedOnly ? " (only a deny policy names it, and that stays)" : ""}: nothing to remove.`,
        "Check the bucket name and --jurisdiction.",
      );
    }
    if (policies.length === 0) {
      throw new ActionError(
        "refused",
        `Removing ${change.bucket} would leave token ${token.id} with no policy at all, and a token without a policy grants nothing.`,
        `Delete the token instead: r2-ephemeral-credentials revoke --token-id ${token.id}`,
      );
    }
    const stillCoveredBy = accountWideCover(policies, target.accountId);
    if (!request.dryRun) await update(client, target, token, policies);
    return {
      ...base,
      outcome: "removed",
      unchanged: request.dryRun === true,
      changes,
      policies,
      stillCoveredBy,
    };
  }

  const group = PERMISSION_GROUPS[change.permission];
  // By id or name: after Cloudflare rotates the ids (the case the self-heal exists for), the token's
  // own groups carry ids this table does not know.
  const onlyR2Groups = token.policies.every((p) => p.permission_groups.every(isR2Group));
  const alreadyGranted = (): RescopeResult => ({
    ...base,
    outcome: "already-granted",
    unchanged: true,
    changes: [],
    policies: copyPolicies(token),
    stillCoveredBy: [],
  });
  if (request.dryRun) {
    const planned = withBucket(token, group.knownId, group.name, key);
    return planned
      ? { ...base, outcome: "added", unchanged: true, ...planned, stillCoveredBy: [] }
      : alreadyGranted();
  }
  return withPermissionGroup(client, target, change.permission, { log, onlyR2Groups }, async (groupId) => {
    const planned = withBucket(token, groupId, group.name, key);
    if (planned === undefined) return alreadyGranted();
    await update(client, target, token, planned.policies);
    return { ...base, outcome: "added", unchanged: false, ...planned, stillCoveredBy: [] };
  });
}
