import * as z from "zod/mini";
import type { Jurisdiction, LocationHint, Permission } from "../terms.js";
import { type CloudflareClient, CloudflareError } from "./client.js";

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

/** The methods a bucket CORS rule may allow ([SDK] r2/buckets/cors.ts). */
export const CORS_METHODS = ["GET", "PUT", "POST", "DELETE", "HEAD"] as const;
export type CorsMethod = (typeof CORS_METHODS)[number];

/**
 * A bucket CORS rule as the REST API writes it: camelCase inside a `rules` wrapper, not S3's
 * PascalCase (docs/cloudflare-api.md §5). Loose, so a field Cloudflare adds later does not fail a
 * read; what users write is held to the strict rules of src/cors.ts.
 */
const corsRuleSchema = z.looseObject({
  id: z.optional(z.string()),
  allowed: z.looseObject({
    origins: z.array(z.string()),
    methods: z.array(z.string()),
    headers: z.optional(z.array(z.string())),
  }),
  exposeHeaders: z.optional(z.array(z.string())),
  maxAgeSeconds: z.optional(z.number()),
});
export type CorsRule = z.infer<typeof corsRuleSchema>;

const corsPolicySchema = z.looseObject({ rules: z.array(corsRuleSchema) });

function corsPath(target: BucketTarget, bucket: string): string {
  return `/accounts/${target.accountId}/r2/buckets/${encodeURIComponent(bucket)}/cors`;
}

/**
 * GET …/r2/buckets/{b}/cors: the bucket's rules, or none.
 * Assumption (conformance: cors-unset): a bucket without a policy answers 404 with code 10059.
 */
export async function getBucketCors(
  client: CloudflareClient,
  target: BucketTarget,
  bucket: string,
): Promise<CorsRule[]> {
  try {
    const policy = await client.request({
      method: "GET",
      path: corsPath(target, bucket),
      subject: `bucket ${bucket}`,
      token: target.token,
      headers: jurisdictionHeader(target.jurisdiction),
      result: corsPolicySchema,
    });
    return policy.rules;
  } catch (error) {
    if (error instanceof CloudflareError && error.status === 404 && error.hasCode(10059)) return [];
    throw error;
  }
}

/** A write to a bucket's CORS policy: PUT replaces it whole, DELETE removes it. */
async function writeBucketCors(
  client: CloudflareClient,
  target: BucketTarget,
  bucket: string,
  change: { method: "PUT"; body: { rules: readonly CorsRule[] } } | { method: "DELETE" },
): Promise<void> {
  await client.request({
    ...change,
    path: corsPath(target, bucket),
    subject: `bucket ${bucket}`,
    token: target.token,
    headers: jurisdictionHeader(target.jurisdiction),
    result: z.unknown(),
  });
}

/** PUT …/r2/buckets/{b}/cors: replaces the bucket's whole policy with these rules. */
export function putBucketCors(
  client: CloudflareClient,
  target: BucketTarget,
  bucket: string,
  rules: readonly CorsRule[],
): Promise<void> {
  return writeBucketCors(client, target, bucket, { method: "PUT", body: { rules } });
}

/** DELETE …/r2/buckets/{b}/cors: removes the policy (deleting none is no error either). */
export function deleteBucketCors(
  client: CloudflareClient,
  target: BucketTarget,
  bucket: string,
): Promise<void> {
  return writeBucketCors(client, target, bucket, { method: "DELETE" });
}
