import * as z from "zod/mini";
import type { Jurisdiction, LocationHint, Permission } from "../terms.js";
import type { CloudflareClient } from "./client.js";

const nonEmpty = z.string().check(z.minLength(1));

const tempCredentialsSchema = z.looseObject({
  // Typed optional in Cloudflare's schema and SDK: insist on all three.
  accessKeyId: nonEmpty,
  secretAccessKey: nonEmpty,
  sessionToken: nonEmpty,
});
export type TempCredentials = z.infer<typeof tempCredentialsSchema>;

export interface TempCredentialsRequest {
  bucket: string;
  parentAccessKeyId: string;
  permission: Permission;
  ttlSeconds: number;
  prefixes?: string[];
  objects?: string[];
}

/**
 * POST /accounts/{a}/r2/temp-access-credentials: credentials for one bucket, optionally narrowed to
 * prefixes/objects.
 * Assumption (conformance: temp-creds-jurisdiction): the endpoint, like every other R2 bucket
 * endpoint, finds a bucket outside the default jurisdiction only with cf-r2-jurisdiction; Cloudflare's
 * SDK sends no such header and the docs are silent, so it is sent for non-default jurisdictions.
 */
export function createTempCredentials(
  client: CloudflareClient,
  target: BucketTarget,
  body: TempCredentialsRequest,
): Promise<TempCredentials> {
  return client.request({
    method: "POST",
    path: `/accounts/${target.accountId}/r2/temp-access-credentials`,
    subject: `bucket ${body.bucket}`,
    token: target.token,
    headers: jurisdictionHeader(target.jurisdiction),
    body,
    result: tempCredentialsSchema,
  });
}

/** Every field is optional in Cloudflare's SDK, and an older create answered `{}`: the caller knows the name. */
const bucketSchema = z.looseObject({
  name: z.optional(z.string()),
  location: z.optional(z.string()),
  jurisdiction: z.optional(z.string()),
});
export type Bucket = z.infer<typeof bucketSchema>;

export interface BucketTarget {
  accountId: string;
  token: string;
  jurisdiction: Jurisdiction;
}

/** Jurisdictional buckets are invisible without this header: Cloudflare answers 10006 as if they did not exist. */
function jurisdictionHeader(jurisdiction: Jurisdiction): Record<string, string> {
  return jurisdiction === "default" ? {} : { "cf-r2-jurisdiction": jurisdiction };
}

export function getBucket(client: CloudflareClient, target: BucketTarget, name: string): Promise<Bucket> {
  return client.request({
    method: "GET",
    path: `/accounts/${target.accountId}/r2/buckets/${encodeURIComponent(name)}`,
    token: target.token,
    headers: jurisdictionHeader(target.jurisdiction),
    result: bucketSchema,
  });
}

export function createBucket(
  client: CloudflareClient,
  target: BucketTarget,
  name: string,
  locationHint: LocationHint | undefined,
): Promise<Bucket> {
  return client.request({
    method: "POST",
    path: `/accounts/${target.accountId}/r2/buckets`,
    subject: `bucket ${name}`,
    token: target.token,
    headers: jurisdictionHeader(target.jurisdiction),
    body: { name, ...(locationHint ? { locationHint } : {}) },
    result: bucketSchema,
  });
}
