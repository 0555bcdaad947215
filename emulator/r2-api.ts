// R2 REST endpoints: buckets (docs/cloudflare-api.md §5) and temporary access credentials
// (docs/cloudflare-api.md §2).
import { z } from "zod";
import type { Handler, RequestContext } from "./context.js";
import { apiError, errors } from "./envelope.js";
import { hexId, sessionToken } from "./ids.js";
import { type Action, holdsAll, targets } from "./policy.js";
import type { Bucket, CorsRule, State, TempCredRecord, TempPermission, TokenRecord } from "./state.js";
import { zodMessage } from "./tokens.js";
import { JURISDICTIONS, type Jurisdiction } from "./types.js";

// [DOCS r2 error codes] 10005: 3–63 characters, lowercase letters, digits and "-", starting and
// ending with a letter or digit.
const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

export function isValidBucketName(name: string): boolean {
  return BUCKET_NAME.test(name);
}

const r2Errors = {
  invalidName: () => apiError(400, 10005, "The specified bucket name is not valid."),
  noSuchBucket: () => apiError(404, 10006, "The specified bucket does not exist."),
  // [3P] two independent REST clients see 10004 on `POST …/r2/buckets` and call 10073 its S3
  // counterpart; a [WRANGLER] comment says the status is 400 (docs/cloudflare-api.md §8.3).
  // Assumption (conformance: bucket-create-conflict; switch assumptions.bucketCreateConflictStatus):
  // 10004 with HTTP 409 by default.
  conflict: (status: number) =>
    apiError(status, 10004, "The bucket you tried to create already exists, and you own it."),
  // [DOCS r2 error codes] BucketNotEmpty.
  notEmpty: () => apiError(409, 10008, "The bucket you tried to delete is not empty."),
  // Assumption (conformance: cors-unset): a bucket without a CORS policy answers 404 with 10059.
  noCors: () => apiError(404, 10059, "The CORS configuration does not exist."),
  // Assumption (conformance: cors-invalid-body): a CORS body of another shape (the S3 one, say) is
  // 400/10040, as [3P] wrangler users report for pasting the S3 shape.
  corsMalformed: () => apiError(400, 10040, "The JSON you provided was not well formed."),
};

/**
 * `cf-r2-jurisdiction`; a missing header means the default jurisdiction, so a bucket in `eu` is
 * 10006 without it (docs/cloudflare-api.md §5, jurisdiction on REST calls).
 * Assumption (conformance: jurisdiction-header-unknown): an unknown value is 400/1001.
 * `fedramp-high` is an SDK value with no documented S3 endpoint or resource key, which the emulator
 * does not model (conformance: fedramp-high); it says so rather than pretending to know the answer.
 */
function jurisdictionOf(ctx: RequestContext): Jurisdiction {
  const raw = ctx.headers["cf-r2-jurisdiction"];
  if (raw === undefined || raw === "") return "default";
  const value = String(raw).toLowerCase();
  if (value === "fedramp-high") {
    throw errors.invalid(
      "cf-r2-jurisdiction fedramp-high is not modelled by this emulator: Cloudflare documents no S3 endpoint or resource key for it",
    );
  }
  if (!(JURISDICTIONS as readonly string[]).includes(value)) {
    throw errors.invalid(`Unsupported cf-r2-jurisdiction header value ${JSON.stringify(value)}`);
  }
  return value as Jurisdiction;
}

/** Holds R2 item groups on buckets and no account-level R2 group (Storage Read or Write). */
function isBucketScoped(token: TokenRecord): boolean {
  const groups = token.policies.filter((p) => p.effect === "allow").flatMap((p) => p.groups);
  return groups.some((g) => g.startsWith("r2.bucket.")) && !groups.some((g) => g.startsWith("r2.storage."));
}

/**
 * [3P] a live probe of a token holding only Bucket Item Write got 403/10000 on every R2 REST endpoint
 * it tried (docs/cloudflare-api.md §6, pitfall 5).
 * Assumption (conformance: bucket-scoped-rest-callers; switch assumptions.bucketScopedRestCallers):
 * every R2 REST endpoint (buckets, temp-access-credentials, cors) refuses such a token before looking
 * at the request. With "allowed" it gets through, and each endpoint checks what it holds.
 */
function r2Gate(ctx: RequestContext): void {
  if (ctx.state.options.assumptions.bucketScopedRestCallers === "refused" && isBucketScoped(ctx.caller)) {
    throw errors.authenticationError();
  }
}

/** Account-level R2 permissions; R2 answers a token that lacks them 403/10000 (ibid.). */
function holdsOnAccount(ctx: RequestContext, actions: Action[]): boolean {
  return holdsAll(ctx.state.grantsOf(ctx.caller), actions, targets.account(ctx.state.accountId));
}

function requireAccount(ctx: RequestContext, actions: Action[]): void {
  if (!holdsOnAccount(ctx, actions)) throw errors.authenticationError();
}

/**
 * With bucket-scoped callers allowed (the switch above), one may read its own buckets: those where
 * it holds an item group.
 */
function readsOwnBucket(ctx: RequestContext, b: Bucket): boolean {
  return (
    ctx.state.options.assumptions.bucketScopedRestCallers === "allowed" &&
    holdsAll(
      ctx.state.grantsOf(ctx.caller),
      ["object.read"],
      targets.bucket(ctx.state.accountId, b.jurisdiction, b.name),
    )
  );
}

function bucketObject(b: Bucket): Record<string, unknown> {
  return {
    name: b.name,
    creation_date: new Date(b.creationDate).toISOString(),
    location: b.location,
    storage_class: b.storageClass,
    jurisdiction: b.jurisdiction,
  };
}

const DEFAULT_LOCATION: Record<Jurisdiction, string> = {
  default: "enam",
  eu: "weur",
  us: "enam",
  fedramp: "enam",
};

export function newBucket(
  state: State,
  name: string,
  jurisdiction: Jurisdiction,
  opts: { location?: string | undefined; storageClass?: "Standard" | "InfrequentAccess" | undefined } = {},
): Bucket {
  if (!isValidBucketName(name)) throw r2Errors.invalidName();
  // Assumption (conformance: bucket-name-per-jurisdiction): names are unique per jurisdiction (the
  // resource key names both), so "logs" may exist in default and in eu at the same time.
  if (state.bucket(name, jurisdiction)) {
    throw r2Errors.conflict(state.options.assumptions.bucketCreateConflictStatus);
  }
  const b: Bucket = {
    name,
    jurisdiction,
    creationDate: state.now(),
    location: opts.location ?? DEFAULT_LOCATION[jurisdiction],
    storageClass: opts.storageClass ?? "Standard",
    objects: new Map(),
    uploads: new Map(),
  };
  state.addBucket(b);
  return b;
}

const createBucketSchema = z.object({
  name: z.string(),
  // [SDK] lists the hints in lower case; [TF] acceptance tests create real buckets with `ENAM`, and the
  // data-location docs write `WNAM` (docs/cloudflare-api.md §8.9).
  // Assumption (conformance: location-hint-case): any case is accepted and stored in lower case.
  locationHint: z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.enum(["apac", "eeur", "enam", "weur", "wnam", "oc"]))
    .optional(),
  storageClass: z.enum(["Standard", "InfrequentAccess"]).optional(),
});

export const createBucket: Handler = (ctx) => {
  r2Gate(ctx);
  requireAccount(ctx, ["bucket.read", "bucket.write"]);
  const jurisdiction = jurisdictionOf(ctx);
  const parsed = createBucketSchema.safeParse(ctx.body);
  if (!parsed.success) throw errors.invalid(`Invalid request: ${zodMessage(parsed.error)}`);
  const b = newBucket(ctx.state, parsed.data.name, jurisdiction, {
    location: parsed.data.locationHint,
    storageClass: parsed.data.storageClass,
  });
  return { result: bucketObject(b) };
};

function existingBucket(ctx: RequestContext): Bucket {
  const name = ctx.params.bucket ?? "";
  const jurisdiction = jurisdictionOf(ctx);
  if (!isValidBucketName(name)) throw r2Errors.invalidName();
  const b = ctx.state.bucket(name, jurisdiction);
  if (!b) throw r2Errors.noSuchBucket();
  return b;
}

export const getBucket: Handler = (ctx) => {
  r2Gate(ctx);
  if (holdsOnAccount(ctx, ["bucket.read"])) return { result: bucketObject(existingBucket(ctx)) };
  const own = ctx.state.bucket(ctx.params.bucket ?? "", jurisdictionOf(ctx));
  if (own && readsOwnBucket(ctx, own)) return { result: bucketObject(own) };
  throw errors.authenticationError();
};

export const deleteBucket: Handler = (ctx) => {
  r2Gate(ctx);
  requireAccount(ctx, ["bucket.read", "bucket.write"]);
  const b = existingBucket(ctx);
  if (b.objects.size > 0 || b.uploads.size > 0) throw r2Errors.notEmpty();
  ctx.state.removeBucket(b.name, b.jurisdiction);
  return { result: {} };
};

// The cursor is opaque to clients; ours is the base64url of the last name returned.
export const listBuckets: Handler = (ctx) => {
  r2Gate(ctx);
  const all = holdsOnAccount(ctx, ["bucket.read"]);
  if (!all && ctx.state.options.assumptions.bucketScopedRestCallers !== "allowed") {
    throw errors.authenticationError();
  }
  const jurisdiction = jurisdictionOf(ctx);
  const q = ctx.query;
  const perPageRaw = q.get("per_page");
  const perPage = perPageRaw === null ? 20 : Number(perPageRaw);
  if (!Number.isInteger(perPage) || perPage < 1 || perPage > 1000) {
    throw errors.invalid("Invalid request: per_page must be an integer from 1 to 1000");
  }
  const desc = q.get("direction") === "desc";
  const contains = q.get("name_contains");
  const cursor = q.get("cursor");
  const after = cursor ? Buffer.from(cursor, "base64url").toString("utf8") : q.get("start_after");
  const sorted = ctx.state
    .bucketsIn(jurisdiction)
    .filter((b) => all || readsOwnBucket(ctx, b))
    .filter((b) => contains === null || b.name.includes(contains))
    .sort((a, b) => (desc ? b.name.localeCompare(a.name) : a.name.localeCompare(b.name)));
  const rest = after === null ? sorted : sorted.filter((b) => (desc ? b.name < after : b.name > after));
  const page = rest.slice(0, perPage);
  const last = page.at(-1);
  const resultInfo: Record<string, unknown> = { per_page: perPage };
  if (rest.length > perPage && last) resultInfo.cursor = Buffer.from(last.name).toString("base64url");
  // The SDK's shape `{ buckets: [...] }`, not the 2024 schema's bare array (docs/cloudflare-api.md §5).
  return { result: { buckets: page.map(bucketObject) }, result_info: resultInfo };
};

// --- temporary credentials -------------------------------------------------------------------

// Assumption (conformance: temp-creds-unknown-fields): unknown body fields are ignored ([3P] callers
// that send an extra `parentSecretAccessKey` succeed), hence z.object rather than z.strictObject.
const tempSchema = z.object({
  bucket: z.string(),
  parentAccessKeyId: z.string(),
  permission: z.enum(["admin-read-write", "admin-read-only", "object-read-write", "object-read-only"]),
  // [SCHEMA] maximum 604800. Assumption (conformance: temp-creds-ttl-bounds): whole seconds and at
  // least 1 (no minimum is documented).
  ttlSeconds: z.number().int().min(1).max(604800),
  prefixes: z.array(z.string().min(1)).optional(),
  objects: z.array(z.string().min(1)).optional(),
});

/** What the parent must hold for each permission: on the bucket, and on the account. */
export const TEMP_PERMISSION_NEEDS: Record<TempPermission, { bucket: Action[]; account: Action[] }> = {
  "object-read-only": { bucket: ["object.read"], account: [] },
  "object-read-write": { bucket: ["object.read", "object.write"], account: [] },
  "admin-read-only": { bucket: ["object.read"], account: ["bucket.read"] },
  "admin-read-write": { bucket: ["object.read", "object.write"], account: ["bucket.read", "bucket.write"] },
};

function parentCovers(
  state: State,
  parent: TokenRecord,
  permission: TempPermission,
  bucket: Bucket,
): boolean {
  const grants = state.grantsOf(parent);
  const needs = TEMP_PERMISSION_NEEDS[permission];
  return (
    holdsAll(grants, needs.bucket, targets.bucket(state.accountId, bucket.jurisdiction, bucket.name)) &&
    holdsAll(grants, needs.account, targets.account(state.accountId))
  );
}

function callerMayMint(ctx: RequestContext, parentId: string): boolean {
  const isParent = ctx.caller.id === parentId;
  const isStorageWriter = holdsOnAccount(ctx, ["bucket.read", "bucket.write"]);
  switch (ctx.state.options.tempCredentialCallers) {
    case "parent":
      return isParent;
    case "storage-write":
      return isStorageWriter;
    default:
      return isParent || isStorageWriter;
  }
}

/** Cloudflare token ids are 32 lowercase hex characters (docs/cloudflare-api.md §3). */
const TOKEN_ID = /^[0-9a-f]{32}$/;

export const tempCredentials: Handler = (ctx) => {
  r2Gate(ctx);
  const parsed = tempSchema.safeParse(ctx.body);
  if (!parsed.success) throw errors.invalid(`Invalid request: ${zodMessage(parsed.error)}`);
  const req = parsed.data;
  if (!isValidBucketName(req.bucket)) throw r2Errors.invalidName();
  // Assumption (conformance: temp-creds-callers; switch tempCredentialCallers): who may call is
  // undocumented (docs/cloudflare-api.md §7, question 1). By default only an account-level R2 Storage
  // Write token, for itself or for another parent: with bucket-scoped callers refused (r2Gate), that
  // is the pattern the working integrations use.
  if (!callerMayMint(ctx, req.parentAccessKeyId)) throw errors.authenticationError();
  // Assumption (conformance: temp-creds-unknown-parent): a parent that is unknown, deleted, disabled,
  // expired or not yet valid is 400/1001; an id that is not 32 hex characters is such an unknown
  // parent, not a validation error of its own.
  const parent = TOKEN_ID.test(req.parentAccessKeyId)
    ? ctx.state.tokens.get(req.parentAccessKeyId)
    : undefined;
  if (!ctx.state.usableForApi(parent)) {
    throw errors.invalid("parentAccessKeyId does not name an active API token");
  }
  // Assumption (conformance: temp-creds-jurisdiction; switch assumptions.tempCredentialJurisdiction):
  // the request body has no jurisdiction (docs/cloudflare-api.md §8.1), so, like every other R2 REST
  // call, the bucket is looked up in the jurisdiction of `cf-r2-jurisdiction` (default without it).
  // With "any" the header is ignored and the first jurisdiction (default, eu, us, fedramp) whose
  // bucket the parent covers wins. Either way the credentials work only on that jurisdiction's S3
  // endpoint.
  const candidates = (
    ctx.state.options.assumptions.tempCredentialJurisdiction === "header"
      ? [jurisdictionOf(ctx)]
      : JURISDICTIONS
  )
    .map((j) => ctx.state.bucket(req.bucket, j))
    .filter((b): b is Bucket => b !== undefined);
  if (candidates.length === 0) throw r2Errors.noSuchBucket();
  const bucket = candidates.find((b) => parentCovers(ctx.state, parent, req.permission, b));
  // Assumption (conformance: temp-creds-beyond-parent): a parent that does not cover the request is
  // 403 code 9109, like a token creator asking for more than it holds.
  if (!bucket) throw errors.unauthorized();
  const now = ctx.state.now();
  // Assumption (conformance: temp-creds-access-key-id; switch tempAccessKeyId): the key id the API
  // returns is undocumented; by default a fresh 32-hex id. Local signing reuses the parent's
  // (docs/cloudflare-api.md §8.10), which "parent" models. S3 finds the record by its session token
  // either way.
  const accessKeyId = ctx.state.options.tempAccessKeyId === "parent" ? parent.id : hexId();
  const record: TempCredRecord = {
    accessKeyId,
    secret: `${hexId()}${hexId()}`,
    sessionToken: sessionToken(),
    parentId: parent.id,
    bucket: bucket.name,
    jurisdiction: bucket.jurisdiction,
    permission: req.permission,
    // Assumption (conformance: temp-creds-empty-scopes): an empty prefixes/objects array is the same
    // as leaving it out.
    ...(req.prefixes?.length ? { prefixes: req.prefixes } : {}),
    ...(req.objects?.length ? { objects: req.objects } : {}),
    createdAt: now,
    expiresAt: now + req.ttlSeconds * 1000,
  };
  ctx.state.temps.set(record.sessionToken, record);
  return {
    result: { accessKeyId, secretAccessKey: record.secret, sessionToken: record.sessionToken },
  };
};

// --- bucket CORS ------------------------------------------------------------------------------

// The body of [SDK] `r2/buckets/cors.ts` (docs/cloudflare-api.md §5): camelCase rules in a `rules`
// wrapper, not the S3 shape.
const corsRuleSchema = z.object({
  id: z.string().optional(),
  allowed: z.object({
    methods: z.array(z.enum(["GET", "PUT", "POST", "DELETE", "HEAD"])).min(1),
    origins: z.array(z.string().min(1)).min(1),
    headers: z.array(z.string()).optional(),
  }),
  exposeHeaders: z.array(z.string()).optional(),
  // [SDK] at most 86400.
  maxAgeSeconds: z.number().int().min(0).max(86400).optional(),
});
const corsBodySchema = z.object({ rules: z.array(corsRuleSchema) });

// Assumption (conformance: cors-permissions): CORS is bucket configuration, so only account-level
// R2 groups may touch it: Storage Read to read it, Storage Write to change it; others get 10000.
export const getCors: Handler = (ctx) => {
  r2Gate(ctx);
  requireAccount(ctx, ["bucket.read"]);
  const b = existingBucket(ctx);
  if (b.cors === undefined) throw r2Errors.noCors();
  // Assumption (conformance: cors-roundtrip): GET answers the rules as PUT stored them.
  return { result: { rules: b.cors } };
};

export const putCors: Handler = (ctx) => {
  r2Gate(ctx);
  requireAccount(ctx, ["bucket.read", "bucket.write"]);
  const b = existingBucket(ctx);
  const parsed = corsBodySchema.safeParse(ctx.body);
  if (!parsed.success) throw r2Errors.corsMalformed();
  // PUT replaces the whole policy.
  b.cors = parsed.data.rules as CorsRule[];
  return { result: {} };
};

// Assumption (conformance: cors-unset): DELETE of a bucket without a policy succeeds, as S3's
// DeleteBucketCors does.
export const deleteCors: Handler = (ctx) => {
  r2Gate(ctx);
  requireAccount(ctx, ["bucket.read", "bucket.write"]);
  const b = existingBucket(ctx);
  b.cors = undefined;
  return { result: {} };
};
