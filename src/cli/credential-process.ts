/**
 * `mint --format credential-process`: what an AWS profile's credential_process runs. The SDKs call it
 * for every new client and again before `Expiration`, so the answer is cached per request in a file
 * only the user can read, and reused while more than the refresh window remains: a long script gets
 * one mint per ttl, not one per SDK client.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as z from "zod/mini";
import { type Config, parseDuration } from "../config.js";
import { describeError } from "../errors.js";
import { isMine, isPrivate, replaceFile } from "../node/files.js";
import { type CliDeps, EXIT, str, usage, type Values } from "./common.js";
import { type ProcessCredentials, processCredentials } from "./format.js";
import { mintWithProgress } from "./mint-flags.js";

/** Like granted's: the SDKs' own refresh margins are minutes, so 15 leaves them room. */
const DEFAULT_REFRESH_WINDOW = "15m";
const CACHE_VERSION = 1;

const entrySchema = z.object({
  version: z.literal(CACHE_VERSION),
  credentials: z.object({
    Version: z.literal(1),
    AccessKeyId: z.string().check(z.minLength(1)),
    SecretAccessKey: z.string().check(z.minLength(1)),
    SessionToken: z.optional(z.string().check(z.minLength(1))),
    Expiration: z.iso.datetime(),
  }),
  /** Not needed to answer; kept so that a user reading the folder knows which token to revoke. */
  tokenId: z.optional(z.string()),
});

/**
 * --refresh-window in seconds (the default when not given), for mint and configure-profile.
 * `example`: the durations the message suggests.
 */
export function refreshWindowSeconds(values: Values, example: string): number {
  const window = str(values, "refresh-window");
  const seconds = parseDuration(window ?? DEFAULT_REFRESH_WINDOW);
  if (seconds === undefined) {
    throw usage(
      `Flag --refresh-window is ${JSON.stringify(window)}, which is not a duration. Use e.g. ${example}.`,
    );
  }
  return seconds;
}

function cacheDirectory(env: Record<string, string | undefined>): string {
  const base = env.XDG_CACHE_HOME?.trim() ? env.XDG_CACHE_HOME : path.join(os.homedir(), ".cache");
  return path.join(base, "r2-ephemeral-credentials");
}

/**
 * One entry per everything that changes what is minted, and per minting token: another token (or
 * another account, endpoint, bucket, permission or ttl) never gets credentials minted for this one.
 */
function cacheKey(config: Config): string {
  const parts = [
    config.apiUrl,
    config.s3Endpoint,
    createHash("sha256").update(config.apiToken).digest("hex"),
    config.accountId,
    config.tokenScope,
    config.buckets,
    config.permission,
    config.mode,
    config.prefixes,
    config.objects,
    config.jurisdiction,
    config.ttlSeconds,
    config.parentAccessKeyId ?? "",
  ];
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

function readEntry(file: string): ProcessCredentials | undefined {
  try {
    // Only a file of ours that nobody else can read or write counts (a link neither); anything else is replaced.
    if (!isPrivate(fs.lstatSync(file))) return undefined;
    const parsed = z.safeParse(entrySchema, JSON.parse(fs.readFileSync(file, "utf8")));
    return parsed.success ? (parsed.data.credentials as ProcessCredentials) : undefined;
  } catch {
    return undefined;
  }
}

/** The folder, 0700, created if needed; a folder of ours that others could read is closed first. */
function ensurePrivateDirectory(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = fs.lstatSync(dir);
  if (!stat.isDirectory()) throw new Error(`${dir} is not a folder`);
  if (!isMine(stat)) {
    throw new Error(`${dir} belongs to another user`);
  }
  if ((stat.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
}

/** Written beside the entry and renamed over it: a reader sees the old entry or the new one, never half. */
function writeEntry(dir: string, file: string, credentials: ProcessCredentials, tokenId: string | undefined) {
  ensurePrivateDirectory(dir);
  const entry = { version: CACHE_VERSION, credentials, ...(tokenId ? { tokenId } : {}) };
  replaceFile(file, `${JSON.stringify(entry)}\n`, 0o600);
}

export async function credentialProcess(
  config: Config,
  deps: CliDeps,
  options: { cache: boolean; refreshSeconds: number },
): Promise<number> {
  if (config.ttlSeconds <= options.refreshSeconds) {
    deps.stderr(
      `warning: --ttl (${config.ttlSeconds} s) is not longer than --refresh-window (${options.refreshSeconds} s), so cached credentials are never fresh enough: every call mints new ones. Use a longer --ttl or a shorter --refresh-window.\n`,
    );
  }
  const dir = cacheDirectory(deps.env);
  const file = path.join(dir, `${cacheKey(config)}.json`);
  if (options.cache) {
    const cached = readEntry(file);
    if (cached && Date.parse(cached.Expiration) - deps.now() > options.refreshSeconds * 1000) {
      deps.stdout(`${JSON.stringify(cached)}\n`);
      return EXIT.ok;
    }
  }
  const minted = await mintWithProgress(config, deps, true);
  const credentials = processCredentials(minted);
  if (options.cache) {
    try {
      writeEntry(dir, file, credentials, minted.tokenId);
    } catch (error) {
      deps.stderr(
        `warning: could not cache the credentials in ${dir} (${describeError(error)}); the next call mints again.\n`,
      );
    }
  }
  deps.stdout(`${JSON.stringify(credentials)}\n`);
  return EXIT.ok;
}
