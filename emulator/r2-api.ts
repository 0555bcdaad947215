// R2 REST endpoints: buckets (docs/cloudflare-api.md §5) and temporary access credentials
// (docs/cloudflare-api.md §2).
import { z } from "zod";
import type { Handler, RequestContext } from "./context.js";
import { apiError, errors } from "./envelope.js";
import { hexId, sessionToken } from "./ids.js";
import { type Action, holdsAll, targets } from "./policy.js";
import type { Bucket, State, TempCredRecord, TempPermission, TokenRecord } from "./state.js";
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
  conflict: () => apiError(409, 10073, "The bucket you tried to create already exists, and you own it."),
  // [DOCS r2 error codes] BucketNotEmpty.
  notEmpty: () => apiError(409, 10008, "The bucket you tried to delete is not empty."),
};

/**
 * `cf-r2-jurisdiction`; a missing header means the default jurisdiction, so a bucket in `eu` is
 * 10006 without it (docs/cloudflare-api.md §5, jurisdiction on REST calls).
 * Assumption: `fedramp-high` (an SDK enum value with no known endpoint) and unknown values are 400.
 */
function jurisdictionOf(ctx: RequestContext): Jurisdiction {
  const raw = ctx.headers["cf-r2-jurisdiction"];
  if (raw === undefined || raw === "") return "default";
  const value = String(raw).toLowerCase();
  if (!(JURISDICTIONS as readonly string[]).includes(value)) {
    throw errors.invalid(`Unsupported cf-r2-jurisdiction header value ${JSON.stringify(value)}`);
  }
  return value as Jurisdiction;
}

/** [3P] bucket-scoped tokens get 403/10000 on R2 REST endpoints (docs/cloudflare-api.md §6, pitfall 5). */
function requireAccount(ctx: RequestContext, actions: Action[]): void {
  if (!holdsAll(ctx.state.grantsOf(ctx.caller), actions, targets.account(ctx.state.accountId))) {
    throw errors.authenticationError();
  }
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
  // Assumption: names are unique per jurisdiction (the resource key names both), so "logs" may
  // exist in default and in eu at the same time.
  if (state.bucket(name, jurisdiction)) throw r2Errors.conflict();
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
  locationHint: z.enum(["apac", "eeur", "enam", "weur", "wnam", "oc"]).optional(),
  storageClass: z.enum(["Standard", "InfrequentAccess"]).optional(),
});

export const createBucket: Handler = (ctx) => {
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
  requireAccount(ctx, ["bucket.read"]);
  return { result: bucketObject(existingBucket(ctx)) };
};

export const deleteBucket: Handler = (ctx) => {
  requireAccount(ctx, ["bucket.read", "bucket.write"]);
  const b = existingBucket(ctx);
  if (b.objects.size > 0 || b.uploads.size > 0) throw r2Errors.notEmpty();
  ctx.state.removeBucket(b.name, b.jurisdiction);
  return { result: {} };
};

// Assumption: the cursor is opaque to clients; ours is the base64url of the last name returned.
export const listBuckets: Handler = (ctx) => {
  requireAccount(ctx, ["bucket.read"]);
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

const tempSchema = z.strictObject({
  bucket: z.string(),
  parentAccessKeyId: z.string().regex(/^[0-9a-f]{32}$/, "must be 32 lowercase hex characters"),
  permission: z.enum(["admin-read-write", "admin-read-only", "object-read-write", "object-read-only"]),
  // [SCHEMA] maximum 604800. Assumption: whole seconds and at least 1 (no minimum is documented).
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

export function parentCovers(
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
  const isStorageWriter = holdsAll(
    ctx.state.grantsOf(ctx.caller),
    ["bucket.read", "bucket.write"],
    targets.account(ctx.state.accountId),
  );
  switch (ctx.state.options.tempCredentialCallers) {
    case "parent":
      return isParent;
    case "storage-write":
      return isStorageWriter;
    default:
      return isParent || isStorageWriter;
  }
}

export const tempCredentials: Handler = (ctx) => {
  const parsed = tempSchema.safeParse(ctx.body);
  if (!parsed.success) throw errors.invalid(`Invalid request: ${zodMessage(parsed.error)}`);
  const req = parsed.data;
  if (!isValidBucketName(req.bucket)) throw r2Errors.invalidName();
  // Assumption (docs/cloudflare-api.md §7, question 1): who may call is configurable; by default the
  // parent itself or a token with account-level R2 Storage Write.
  if (!callerMayMint(ctx, req.parentAccessKeyId)) throw errors.authenticationError();
  const parent = ctx.state.tokens.get(req.parentAccessKeyId);
  // Assumption: a parent that is unknown, deleted, disabled, expired or not yet valid is 400/1001.
  if (!ctx.state.usableForApi(parent)) {
    throw errors.invalid("parentAccessKeyId does not name an active API token");
  }
  // Assumption (docs/cloudflare-api.md §7, question 2): the request has no jurisdiction, so the bucket
  // is looked up in every jurisdiction (default, eu, us, fedramp in that order) and the first one the
  // parent covers wins. The credentials then work only on that jurisdiction's S3 endpoint.
  const candidates = JURISDICTIONS.map((j) => ctx.state.bucket(req.bucket, j)).filter(
    (b): b is Bucket => b !== undefined,
  );
  if (candidates.length === 0) throw r2Errors.noSuchBucket();
  const bucket = candidates.find((b) => parentCovers(ctx.state, parent, req.permission, b));
  // Assumption: a parent that does not cover the request is 403 code 9109, like a token creator
  // asking for more than it holds.
  if (!bucket) throw errors.unauthorized();
  const now = ctx.state.now();
  const accessKeyId = hexId();
  // Assumption: the real API's key id format is undocumented; ours is a fresh 32-hex id that
  // the S3 side uses to find the record.
  const record: TempCredRecord = {
    accessKeyId,
    secret: `${hexId()}${hexId()}`,
    sessionToken: sessionToken(),
    parentId: parent.id,
    bucket: bucket.name,
    jurisdiction: bucket.jurisdiction,
    permission: req.permission,
    // Assumption: an empty prefixes/objects array is the same as leaving it out.
    ...(req.prefixes?.length ? { prefixes: req.prefixes } : {}),
    ...(req.objects?.length ? { objects: req.objects } : {}),
    createdAt: now,
    expiresAt: now + req.ttlSeconds * 1000,
  };
  ctx.state.temps.set(accessKeyId, record);
  return {
    result: { accessKeyId, secretAccessKey: record.secret, sessionToken: record.sessionToken },
  };
};
