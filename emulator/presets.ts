// Seed presets: the token shapes tests and demos need, built from the instance's group table so
// they keep working when permission-group IDs are overridden.
import type { GroupKey } from "./permission-groups.js";
import { accountKey, bucketKey, userKey } from "./policy.js";
import type { State } from "./state.js";
import { JURISDICTIONS, type Jurisdiction, type PolicyInput, type SeedPreset } from "./types.js";

function groupRef(state: State, key: GroupKey): { id: string; name: string } {
  const g = state.groups.find((x) => x.key === key);
  if (!g) throw new Error(`no permission group ${key}`);
  return { id: g.id, name: g.name };
}

/** `name` or `<jurisdiction>:name`; a bare name uses the jurisdiction it exists in, else default. */
function bucketResource(state: State, spec: string): string {
  const colon = spec.indexOf(":");
  if (colon > 0) {
    const j = spec.slice(0, colon) as Jurisdiction;
    if (!JURISDICTIONS.includes(j)) throw new Error(`seed: unknown jurisdiction in ${JSON.stringify(spec)}`);
    return bucketKey(state.accountId, j, spec.slice(colon + 1));
  }
  const existing = JURISDICTIONS.find((j) => state.bucket(spec, j));
  return bucketKey(state.accountId, existing ?? "default", spec);
}

export function presetPolicies(state: State, preset: SeedPreset, buckets: string[] = []): PolicyInput[] {
  const account = { [accountKey(state.accountId)]: "*" };
  const allow = (groups: GroupKey[], resources: PolicyInput["resources"]): PolicyInput => ({
    effect: "allow",
    permission_groups: groups.map((g) => groupRef(state, g)),
    resources,
  });
  switch (preset) {
    case "minter":
      // What the action's users hold: token management plus R2 admin on the account.
      return [allow(["account.tokens.write", "r2.storage.write"], account)];
    case "user-minter":
      return [
        allow(["user.tokens.write"], { [userKey(state.userId)]: "*" }),
        allow(["r2.storage.write"], account),
      ];
    case "r2-admin":
      return [allow(["r2.storage.write"], account)];
    case "r2-bucket-write":
      if (buckets.length === 0) throw new Error("seed: preset r2-bucket-write needs `buckets`");
      return [
        allow(
          ["r2.bucket.item.write"],
          Object.fromEntries(buckets.map((b) => [bucketResource(state, b), "*"])),
        ),
      ];
    case "no-permissions":
      return [];
  }
}
