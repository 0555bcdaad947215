// Permission evaluation, as pure functions over data (docs/cloudflare-api.md §3, docs/design.md §7).
//
// A token's policies are expanded into grants: (effect, action, resource pattern). A question
// "may this token do ACTION on TARGET?" is answered by: some allow grant covers the target and no
// deny grant overlaps it (explicit deny beats allow; everything else is implicitly denied).
import type { GroupKey } from "./permission-groups.js";

export type Action =
  | "object.read"
  | "object.write"
  | "bucket.read"
  | "bucket.write"
  | "account.tokens.read"
  | "account.tokens.write"
  | "user.tokens.read"
  | "user.tokens.write";

type ResourceKind = "account" | "bucket" | "user";

/**
 * A resource or a set of resources. `parts` are [account] for accounts, [account, jurisdiction,
 * bucket] for buckets and [user] for users; "*" in a part matches anything.
 */
export interface Pattern {
  kind: ResourceKind;
  parts: string[];
}

type Effect = "allow" | "deny";

export interface Grant {
  effect: Effect;
  action: Action;
  pattern: Pattern;
}

/** A policy after its permission-group ids were resolved to group keys. */
export interface ResolvedPolicy {
  effect: Effect;
  groups: GroupKey[];
  resources: Record<string, unknown>;
}

interface GroupRule {
  /** The resource kind the group is scoped to; patterns of other kinds are ignored for it. */
  accepts: ResourceKind;
  /** What the group allows on an accepted pattern. */
  yields: { actions: Action[]; on: (p: Pattern) => Pattern }[];
}

const same = (p: Pattern): Pattern => p;
const bucketsOfAccount = (p: Pattern): Pattern => ({ kind: "bucket", parts: [p.parts[0] ?? "*", "*", "*"] });

// Assumption (conformance: storage-write-covers-items; docs/design.md §7): account-level Storage
// Write ⊇ Storage Read ⊇ Item Read on every
// bucket of the account, and Storage Write ⊇ Item Write ⊇ Item Read. Cloudflare documents the group
// descriptions (docs/cloudflare-api.md §3) but not this containment as a rule.
export const GROUP_RULES: Record<GroupKey, GroupRule> = {
  "r2.storage.write": {
    accepts: "account",
    yields: [
      { actions: ["bucket.read", "bucket.write"], on: same },
      { actions: ["object.read", "object.write"], on: bucketsOfAccount },
    ],
  },
  "r2.storage.read": {
    accepts: "account",
    yields: [
      { actions: ["bucket.read"], on: same },
      { actions: ["object.read"], on: bucketsOfAccount },
    ],
  },
  "r2.bucket.item.write": {
    accepts: "bucket",
    yields: [{ actions: ["object.read", "object.write"], on: same }],
  },
  "r2.bucket.item.read": { accepts: "bucket", yields: [{ actions: ["object.read"], on: same }] },
  // Assumption (conformance: tokens-write-covers-read): API Tokens Write includes reading tokens, so
  // a token that may create children may also list them (orphan clean-up and sweep rely on it).
  "account.tokens.write": {
    accepts: "account",
    yields: [{ actions: ["account.tokens.read", "account.tokens.write"], on: same }],
  },
  "account.tokens.read": { accepts: "account", yields: [{ actions: ["account.tokens.read"], on: same }] },
  "user.tokens.write": {
    accepts: "user",
    yields: [{ actions: ["user.tokens.read", "user.tokens.write"], on: same }],
  },
  "user.tokens.read": { accepts: "user", yields: [{ actions: ["user.tokens.read"], on: same }] },
};

const ACCOUNT_KEY = "com.cloudflare.api.account.";
const BUCKET_KEY = "com.cloudflare.edge.r2.bucket.";
const USER_KEY = "com.cloudflare.api.user.";

export function accountKey(account: string): string {
  return `${ACCOUNT_KEY}${account}`;
}
export function bucketKey(account: string, jurisdiction: string, bucket: string): string {
  return `${BUCKET_KEY}${account}_${jurisdiction}_${bucket}`;
}
export function userKey(user: string): string {
  return `${USER_KEY}${user}`;
}

/** `<account>_<jurisdiction>_<bucket>`; bucket names never contain "_", so the split is exact. */
function parseBucketKey(rest: string): Pattern | undefined {
  if (rest === "*") return { kind: "bucket", parts: ["*", "*", "*"] };
  const [account, jurisdiction, ...bucket] = rest.split("_");
  if (!account || !jurisdiction || bucket.length === 0) return undefined;
  return { kind: "bucket", parts: [account, jurisdiction, bucket.join("_")] };
}

export class ResourceError extends Error {}

/**
 * Resource maps are `{ "<key>": "*" }` or the nested `{ "com.cloudflare.api.account.<a>":
 * { "<child key>": "*" } }` (docs/cloudflare-api.md §3). Keys of resource types the emulator does not model
 * (zones, …) are accepted and match nothing.
 */
export function parsePatterns(resources: Record<string, unknown>): Pattern[] {
  const out: Pattern[] = [];
  for (const [key, value] of Object.entries(resources)) {
    if (value !== "*" && (typeof value !== "object" || value === null || Array.isArray(value))) {
      throw new ResourceError(`resource ${key} must map to "*" or to an object of child resources`);
    }
    if (key.startsWith(ACCOUNT_KEY)) {
      const account = key.slice(ACCOUNT_KEY.length);
      if (!account || account.includes(".")) continue; // e.g. com.cloudflare.api.account.zone.<id>
      if (value === "*") {
        out.push({ kind: "account", parts: [account] });
        continue;
      }
      for (const [child, childValue] of Object.entries(value as Record<string, unknown>)) {
        if (childValue !== "*") throw new ResourceError(`child resource ${child} must map to "*"`);
        if (!child.startsWith(BUCKET_KEY)) continue;
        const p = parseBucketKey(child.slice(BUCKET_KEY.length));
        if (!p) throw new ResourceError(`malformed bucket resource ${child}`);
        // A nested child is confined to its parent account.
        const childAccount = p.parts[0];
        if (childAccount === "*" || childAccount === account) {
          out.push({ kind: "bucket", parts: [account, p.parts[1] ?? "*", p.parts[2] ?? "*"] });
        }
      }
    } else if (key.startsWith(BUCKET_KEY)) {
      if (value !== "*") throw new ResourceError(`resource ${key} must map to "*"`);
      const p = parseBucketKey(key.slice(BUCKET_KEY.length));
      if (!p) throw new ResourceError(`malformed bucket resource ${key}`);
      out.push(p);
    } else if (key.startsWith(USER_KEY)) {
      if (value !== "*") throw new ResourceError(`resource ${key} must map to "*"`);
      out.push({ kind: "user", parts: [key.slice(USER_KEY.length)] });
    }
  }
  return out;
}

// Assumption (conformance: group-resource-scope): a group only applies to resources of the type it
// is scoped for ("a permission
// group in a policy will only apply to the resource type it is scoped for", docs/cloudflare-api.md
// §3). So a bucket item group on a flat account key `com.cloudflare.api.account.<a>: "*"` grants
// nothing: use a bucket key or the nested all-buckets form.
export function expandPolicies(policies: readonly ResolvedPolicy[]): Grant[] {
  const grants: Grant[] = [];
  for (const policy of policies) {
    const patterns = parsePatterns(policy.resources);
    for (const group of policy.groups) {
      const rule = GROUP_RULES[group];
      for (const pattern of patterns) {
        if (pattern.kind !== rule.accepts) continue;
        for (const y of rule.yields) {
          for (const action of y.actions)
            grants.push({ effect: policy.effect, action, pattern: y.on(pattern) });
        }
      }
    }
  }
  return grants;
}

/** Every resource the target denotes is inside the pattern. */
export function covers(pattern: Pattern, target: Pattern): boolean {
  return (
    pattern.kind === target.kind && pattern.parts.every((part, i) => part === "*" || part === target.parts[i])
  );
}

/** The pattern and the target share at least one resource. */
export function overlaps(pattern: Pattern, target: Pattern): boolean {
  return (
    pattern.kind === target.kind &&
    pattern.parts.every((part, i) => part === "*" || target.parts[i] === "*" || part === target.parts[i])
  );
}

export function holds(grants: readonly Grant[], action: Action, target: Pattern): boolean {
  const relevant = grants.filter((g) => g.action === action);
  return (
    relevant.some((g) => g.effect === "allow" && covers(g.pattern, target)) &&
    !relevant.some((g) => g.effect === "deny" && overlaps(g.pattern, target))
  );
}

export function holdsAll(grants: readonly Grant[], actions: readonly Action[], target: Pattern): boolean {
  return actions.every((a) => holds(grants, a, target));
}

/**
 * What a creator lacks to hand out `requested`. Deny policies restrict, so they are always allowed.
 * Returns the missing (action, pattern) pairs; empty means allowed.
 * Assumption (conformance: grant-within-holdings): a token may grant a group only on resources where
 * it holds that group or a broader one (docs/design.md §7); Cloudflare's docs say a token cannot
 * grant more than its creator holds, but not how finely that is checked.
 */
export function missingToGrant(creator: readonly Grant[], requested: readonly ResolvedPolicy[]): Grant[] {
  return expandPolicies(requested.filter((p) => p.effect === "allow")).filter(
    (g) => !holds(creator, g.action, g.pattern),
  );
}

export const targets = {
  account: (account: string): Pattern => ({ kind: "account", parts: [account] }),
  bucket: (account: string, jurisdiction: string, bucket: string): Pattern => ({
    kind: "bucket",
    parts: [account, jurisdiction, bucket],
  }),
  user: (user: string): Pattern => ({ kind: "user", parts: [user] }),
};
