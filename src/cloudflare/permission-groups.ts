import type { Permission } from "../config.js";

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
