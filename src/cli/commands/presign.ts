import { hidingUserInfo, httpUrl, isCleartextRemote, isHex32 } from "../../checks.js";
import { parseConfig, parseDuration, type RawInputs } from "../../config.js";
import { discardChild, type Minted, mint } from "../../mint.js";
import {
  isObjectKey,
  PRESIGN_METHODS,
  type PresignedUrl,
  type PresignMethod,
  type PresignRequest,
  permissionFor,
  presignUrls,
} from "../../presign.js";
import type { S3Credentials } from "../../readiness.js";
import {
  defaultS3Endpoint,
  JURISDICTIONS,
  type Jurisdiction,
  MAX_TTL_SECONDS,
  MIN_TTL_SECONDS,
} from "../../terms.js";
import {
  type CliDeps,
  type Command,
  checkBucketName,
  EXIT,
  helpFlag,
  listFlag,
  oneOf,
  splitListFlag,
  str,
  usage,
  type Values,
} from "../common.js";
import { cliMintDeps, mintOptionsFor } from "../mint-flags.js";

/** mint's flags that make sense here, with mint's own definitions, so the two cannot drift. */
const MINT_FLAGS = [
  "bucket",
  "account-id",
  "api-url",
  "s3-endpoint",
  "jurisdiction",
  "token-scope",
  "token-name",
  "wait-timeout",
] as const;
/** Of those, the ones that only steer a mint, which --from-env does not make. */
const MINTING_ONLY = ["api-url", "token-scope", "token-name", "wait-timeout"] as const;

const FORMATS = ["text", "json"] as const;

function oneBucket(values: Values): string {
  const buckets = splitListFlag(values, "bucket");
  if (buckets.length !== 1) {
    throw usage(
      buckets.length === 0
        ? "Flag --bucket is required: the bucket the URLs point into."
        : `Flag --bucket names ${buckets.length} buckets (${buckets.join(", ")}); presign signs URLs into one. Run it once per bucket.`,
    );
  }
  return checkBucketName("bucket", buckets[0] as string);
}

function keysOf(values: Values): string[] {
  const keys = [...new Set(listFlag(values, "key"))];
  if (keys.length === 0)
    throw usage("Flag --key is required: the object key to sign a URL for (repeat it for several).");
  const bad = keys.filter((k) => !isObjectKey(k));
  if (bad.length > 0) {
    throw usage(
      `Flag --key has ${bad.map((k) => JSON.stringify(k)).join(", ")}, which is not an object key (1 to 1024 bytes of UTF-8).`,
    );
  }
  return keys;
}

function expiresOf(values: Values): number {
  const raw = str(values, "expires") ?? "1h";
  const seconds = parseDuration(raw);
  if (seconds === undefined || seconds < MIN_TTL_SECONDS || seconds > MAX_TTL_SECONDS) {
    throw usage(
      `Flag --expires is ${JSON.stringify(raw)}, which is not a lifetime between 60 s and 7 d. Use seconds or a whole number with s, m, h or d, for example 900, 15m, 1h or 2d.`,
    );
  }
  return seconds;
}

/** Where the URLs point: --s3-endpoint, the AWS_* endpoint variables, or the account's own endpoint. */
function endpointFromEnv(values: Values, deps: CliDeps): string {
  const jurisdiction = oneOf<Jurisdiction>(values, "jurisdiction", JURISDICTIONS, "default");
  const account = str(values, "account-id") ?? deps.env.CLOUDFLARE_ACCOUNT_ID;
  const [name, given] = (
    [
      ["--s3-endpoint", str(values, "s3-endpoint")],
      ["AWS_ENDPOINT_URL_S3", deps.env.AWS_ENDPOINT_URL_S3],
      ["AWS_ENDPOINT_URL", deps.env.AWS_ENDPOINT_URL],
    ] as const
  ).find(([, value]) => value?.trim()) ?? ["", undefined];
  if (given === undefined) {
    if (account && isHex32(account.trim())) return defaultS3Endpoint(account.trim(), jurisdiction);
    throw usage(
      "presign --from-env needs the S3 endpoint: AWS_ENDPOINT_URL_S3 is not set, and neither --s3-endpoint nor an account id (--account-id, CLOUDFLARE_ACCOUNT_ID) says it.",
    );
  }
  const url = httpUrl(given);
  if (url === undefined || isCleartextRemote(url)) {
    throw usage(
      `${name} is ${JSON.stringify(hidingUserInfo(given))}, which is not an https:// URL (plain http only on localhost) without user name, password, query or fragment.`,
    );
  }
  return url;
}

/** The AWS_* key pair of the environment, refused clearly when it is incomplete. */
function credentialsFromEnv(
  values: Values,
  deps: CliDeps,
): Omit<PresignRequest, "bucket" | "keys" | "method" | "expiresSeconds"> {
  for (const flag of MINTING_ONLY) {
    if (values[flag] !== undefined) {
      throw usage(
        `Flag --${flag} applies only when presign mints a token; with --from-env it mints nothing.`,
      );
    }
  }
  const env = deps.env;
  const missing = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"].filter((name) => !env[name]?.trim());
  if (missing.length > 0) {
    throw usage(
      `presign --from-env signs with the AWS_* variables, but ${missing.join(" and ")} ${missing.length === 1 ? "is" : "are"} not set.`,
      'Export them first, e.g. eval "$(r2-ephemeral-credentials mint --bucket B --permission object-read-write --format env)", or leave out --from-env to mint a token for the URLs.',
    );
  }
  const credentials: S3Credentials = {
    accessKeyId: (env.AWS_ACCESS_KEY_ID as string).trim(),
    secretAccessKey: (env.AWS_SECRET_ACCESS_KEY as string).trim(),
    sessionToken: env.AWS_SESSION_TOKEN?.trim() ?? "",
  };
  const expiration = env.AWS_CREDENTIAL_EXPIRATION?.trim();
  const notAfter = expiration ? Date.parse(expiration) : undefined;
  if (notAfter !== undefined && Number.isNaN(notAfter)) {
    throw usage(`AWS_CREDENTIAL_EXPIRATION is ${JSON.stringify(expiration)}, which is not an RFC 3339 time.`);
  }
  return { endpoint: endpointFromEnv(values, deps), credentials, notAfter };
}

/** A token-mode child for the bucket, with a lifetime equal to the URLs'; never revoked here. */
async function mintForUrls(
  values: Values,
  deps: CliDeps,
  bucket: string,
  method: PresignMethod,
  expiresSeconds: number,
  quiet: boolean,
): Promise<{ minted: Minted; discard: (cause: unknown) => Promise<void> }> {
  const raw: RawInputs = {
    bucket,
    permission: permissionFor(method),
    mode: "token",
    ttl: String(expiresSeconds),
    "export-env": "false",
    revoke: "false",
  };
  for (const flag of MINT_FLAGS) {
    const value = str(values, flag);
    if (flag !== "bucket" && value !== undefined) raw[flag] = value;
  }
  const config = parseConfig(raw, deps.env);
  const { mintDeps, done } = cliMintDeps(config, deps, quiet);
  let minted: Minted;
  try {
    minted = await mint(config, mintDeps);
  } finally {
    done();
  }
  return {
    minted,
    discard: async (cause) => {
      if (minted.child) await discardChild(config, mintDeps, minted.child, cause);
    },
  };
}

function formatUrls(urls: PresignedUrl[], format: (typeof FORMATS)[number], tokenId: string): string {
  if (format === "text") return `${urls.map((u) => u.url).join("\n")}\n`;
  const rows = urls.map((u) => ({
    key: u.key,
    method: u.method,
    url: u.url,
    "expires-at": u.expiresAt,
    "token-id": tokenId,
  }));
  return `${JSON.stringify(rows, null, 2)}\n`;
}

async function run(values: Values, deps: CliDeps): Promise<number> {
  const format = oneOf(values, "format", FORMATS, "text");
  const method = oneOf<PresignMethod>(
    { method: str(values, "method")?.trim().toUpperCase() },
    "method",
    PRESIGN_METHODS,
    "GET",
  );
  const bucket = oneBucket(values);
  const keys = keysOf(values);
  const expiresSeconds = expiresOf(values);
  const quiet = values.quiet === true;
  const note = (m: string) => {
    if (!quiet) deps.stderr(`${m}\n`);
  };

  if (values["from-env"] === true) {
    const signing = credentialsFromEnv(values, deps);
    const urls = await presignUrls({ ...signing, bucket, keys, method, expiresSeconds }, deps.now());
    // An R2 key pair without a session token is an API token's: its access key id is the token id.
    const tokenId = signing.credentials.sessionToken ? "" : signing.credentials.accessKeyId;
    note(
      `Signed ${urls.length} ${method} URL${urls.length === 1 ? "" : "s"} with AWS_ACCESS_KEY_ID ${signing.credentials.accessKeyId} from the environment (nothing minted), valid until ${urls[0]?.expiresAt}; they stop working when those credentials are revoked or expire.`,
    );
    deps.stdout(formatUrls(urls, format, tokenId));
    return EXIT.ok;
  }

  const { minted, discard } = await mintForUrls(values, deps, bucket, method, expiresSeconds, quiet);
  let urls: PresignedUrl[];
  try {
    urls = await presignUrls(
      {
        endpoint: minted.endpoint,
        bucket,
        keys,
        method,
        expiresSeconds,
        credentials: minted.credentials,
        notAfter: Date.parse(minted.expiresAt),
      },
      deps.now(),
    );
  } catch (error) {
    // A token that backs no URL is an orphan.
    await discard(error);
    throw error;
  }
  const tokenId = minted.tokenId ?? "";
  note(
    `The URLs are backed by child token ${tokenId}, which lives until ${minted.expiresAt} and is not revoked: revoking it (revoke --token-id ${tokenId}, or a sweep --older-than shorter than its age) kills every URL it signed.`,
  );
  deps.stdout(formatUrls(urls, format, tokenId));
  return EXIT.ok;
}

export const presignCommand: Command = {
  options: {
    ...helpFlag,
    ...mintOptionsFor(MINT_FLAGS),
    key: { type: "string", multiple: true },
    method: { type: "string" },
    expires: { type: "string" },
    "from-env": { type: "boolean" },
    format: { type: "string" },
    quiet: { type: "boolean", short: "q" },
  },
  run,
};
