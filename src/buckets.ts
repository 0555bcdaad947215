import { type CloudflareClient, CloudflareError } from "./cloudflare/client.js";
import { type BucketTarget, createBucket, getBucket } from "./cloudflare/r2.js";
import type { Config } from "./config.js";
import { ActionError } from "./errors.js";

const NO_SUCH_BUCKET = 10006;
/** "The bucket you tried to create already exists, and you own it." (REST create, per two clients) */
const ALREADY_OWNED = 10004;
/** BucketConflict, as Cloudflare's error table and S3 CreateBucket name it. */
const BUCKET_CONFLICT = 10073;

/**
 * The name exists: a 409, or a 4xx carrying 10004 or 10073 (wrangler's source says the REST create
 * can answer a bucket you already own with 400).
 */
function isConflict(error: unknown): error is CloudflareError {
  if (!(error instanceof CloudflareError) || error.status === undefined) return false;
  if (error.status === 409) return true;
  return error.status < 500 && (error.hasCode(ALREADY_OWNED) || error.hasCode(BUCKET_CONFLICT));
}

function isCode(error: unknown, code: number): error is CloudflareError {
  return error instanceof CloudflareError && error.hasCode(code);
}

export type BucketOutcome = "exists" | "created";

/** The bucket endpoints' target: the config's account and jurisdiction, as `token` (the input token by default). */
export function bucketTarget(config: Config, token = config.apiToken): BucketTarget {
  return { accountId: config.accountId, jurisdiction: config.jurisdiction, token };
}

/**
 * create-bucket: GET each bucket first and create it only on 10006. Cloudflare answers a conflict for
 * a name that exists, our own bucket included (a concurrent job may have just made it), so a
 * conflict is settled by another GET.
 */
async function ensureBucket(client: CloudflareClient, config: Config, name: string): Promise<BucketOutcome> {
  const target = bucketTarget(config);
  try {
    await getBucket(client, target, name);
    return "exists";
  } catch (error) {
    if (!isCode(error, NO_SUCH_BUCKET)) throw error;
  }
  let conflict: CloudflareError;
  try {
    await createBucket(client, target, name, config.locationHint);
    return "created";
  } catch (error) {
    if (!isConflict(error)) throw error;
    conflict = error;
  }
  try {
    await getBucket(client, target, name);
    return "exists";
  } catch (error) {
    if (!isCode(error, NO_SUCH_BUCKET)) throw error;
    throw new ActionError(
      "cloudflare",
      `Bucket ${name} could not be created: the name is taken (${conflict.details.cause}), yet it is not a bucket of account ${config.accountId} in jurisdiction ${config.jurisdiction}.`,
      "The name may be taken in another jurisdiction of this account: if the bucket is there, set {name:jurisdiction} to it; otherwise choose another name.",
    );
  }
}

/** Ensures every bucket of the config exists, in input order, before anything is minted. */
export async function ensureBuckets(
  client: CloudflareClient,
  config: Config,
  log: (message: string) => void,
): Promise<void> {
  for (const bucket of config.buckets) {
    const outcome = await ensureBucket(client, config, bucket);
    log(
      outcome === "created"
        ? `Created bucket ${bucket} (jurisdiction ${config.jurisdiction}${config.locationHint ? `, location hint ${config.locationHint}` : ""}).`
        : `Bucket ${bucket} exists.`,
    );
  }
}
