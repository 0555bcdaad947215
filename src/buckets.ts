import { type CloudflareClient, CloudflareError } from "./cloudflare/client.js";
import { type BucketTarget, createBucket, getBucket } from "./cloudflare/r2.js";
import type { Config } from "./config.js";
import { ActionError } from "./errors.js";

const NO_SUCH_BUCKET = 10006;
const BUCKET_CONFLICT = 10073;

function isCode(error: unknown, code: number): error is CloudflareError {
  return error instanceof CloudflareError && error.hasCode(code);
}

export type BucketOutcome = "exists" | "created";

/**
 * create-bucket: GET each bucket first and create it only on 10006. Cloudflare answers 409/10073
 * for a name that exists anywhere, our own bucket included, so a conflict is settled by another GET.
 */
async function ensureBucket(client: CloudflareClient, config: Config, name: string): Promise<BucketOutcome> {
  const target: BucketTarget = {
    accountId: config.accountId,
    token: config.apiToken,
    jurisdiction: config.jurisdiction,
  };
  try {
    await getBucket(client, target, name);
    return "exists";
  } catch (error) {
    if (!isCode(error, NO_SUCH_BUCKET)) throw error;
  }
  try {
    await createBucket(client, target, name, config.locationHint);
    return "created";
  } catch (error) {
    const conflict =
      error instanceof CloudflareError && (error.status === 409 || error.hasCode(BUCKET_CONFLICT));
    if (!conflict) throw error;
  }
  try {
    await getBucket(client, target, name);
    return "exists";
  } catch (error) {
    if (!isCode(error, NO_SUCH_BUCKET)) throw error;
    throw new ActionError(
      "cloudflare",
      `Bucket ${name} could not be created: the name is taken (409/10073), yet it is not a bucket of account ${config.accountId} in jurisdiction ${config.jurisdiction}.`,
      "Bucket names are unique per account and jurisdiction: if the bucket exists in another jurisdiction, set {name:jurisdiction} to it; otherwise choose another name.",
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
