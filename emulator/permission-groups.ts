// The permission groups the emulator knows, with the IDs Cloudflare uses (docs/cloudflare-api.md §3).
// `key` is the emulator's stable internal name; IDs can be overridden per emulator instance to
// simulate Cloudflare rotating them.

export type GroupKey =
  | "r2.storage.write"
  | "r2.storage.read"
  | "r2.bucket.item.write"
  | "r2.bucket.item.read"
  | "account.tokens.write"
  | "account.tokens.read"
  | "user.tokens.write"
  | "user.tokens.read";

export const SCOPE_ACCOUNT = "com.cloudflare.api.account";
export const SCOPE_BUCKET = "com.cloudflare.edge.r2.bucket";
const SCOPE_USER = "com.cloudflare.api.user";

export interface PermissionGroup {
  key: GroupKey;
  name: string;
  id: string;
  scopes: string[];
  /**
   * [SDK] an enum of slugs (`developer_platform`, `account_and_billing`, …).
   * Assumption (conformance: permission-group-categories): `developer_platform` for the R2 groups,
   * `account_and_billing` for the account token groups and `other` for the user token groups.
   */
  category: string;
}

export const PERMISSION_GROUPS: readonly PermissionGroup[] = [
  {
    key: "r2.storage.write",
    name: "Workers R2 Storage Write",
    id: "bf7481a1826f439697cb59a20b22293e",
    scopes: [SCOPE_ACCOUNT],
    category: "developer_platform",
  },
  {
    key: "r2.storage.read",
    name: "Workers R2 Storage Read",
    id: "b4992e1108244f5d8bfbd5744320c2e1",
    scopes: [SCOPE_ACCOUNT],
    category: "developer_platform",
  },
  {
    key: "r2.bucket.item.write",
    name: "Workers R2 Storage Bucket Item Write",
    id: "2efd5506f9c8494dacb1fa10a3e7d5b6",
    scopes: [SCOPE_BUCKET],
    category: "developer_platform",
  },
  {
    key: "r2.bucket.item.read",
    name: "Workers R2 Storage Bucket Item Read",
    id: "6a018a9f2fc74eb6b293b0c548f38b39",
    scopes: [SCOPE_BUCKET],
    category: "developer_platform",
  },
  // Assumption (conformance: token-group-names): Cloudflare has groups of these names; their IDs are
  // not in our sources, so the emulator uses IDs of its own (docs/design.md §7). Code must look these
  // up by name.
  {
    key: "account.tokens.write",
    name: "Account API Tokens Write",
    id: "e1e1e1e1000000000000000000000001",
    scopes: [SCOPE_ACCOUNT],
    category: "account_and_billing",
  },
  {
    key: "account.tokens.read",
    name: "Account API Tokens Read",
    id: "e1e1e1e1000000000000000000000002",
    scopes: [SCOPE_ACCOUNT],
    category: "account_and_billing",
  },
  {
    key: "user.tokens.write",
    name: "API Tokens Write",
    id: "e1e1e1e1000000000000000000000003",
    scopes: [SCOPE_USER],
    category: "other",
  },
  {
    key: "user.tokens.read",
    name: "API Tokens Read",
    id: "e1e1e1e1000000000000000000000004",
    scopes: [SCOPE_USER],
    category: "other",
  },
];

/** The table of one emulator instance, with name -> id overrides applied. */
export function permissionGroupTable(overrides: Partial<Record<string, string>> = {}): PermissionGroup[] {
  const known = new Set(PERMISSION_GROUPS.map((g) => g.name));
  for (const name of Object.keys(overrides)) {
    if (!known.has(name))
      throw new Error(`permissionGroupIds: unknown permission group name ${JSON.stringify(name)}`);
  }
  return PERMISSION_GROUPS.map((g) => ({ ...g, id: overrides[g.name] ?? g.id }));
}
