/**
 * What every command shares: its dependencies, the flag values parseArgs hands over, and the few
 * readers of those values. Bad flags are input errors (exit 2) named in the CLI's words.
 */
import type { parseArgs } from "node:util";
import { isBucketName, isHex32 } from "../checks.js";
import { CloudflareClient, type HttpDeps } from "../cloudflare/client.js";
import type { TokenTarget } from "../cloudflare/tokens.js";
import { type ConfigEnv, parseTokenAccess, splitList } from "../config.js";
import { ActionError } from "../errors.js";
import type { RunContext } from "../naming.js";

export interface CliDeps extends HttpDeps {
  env: ConfigEnv & Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Progress lines are drawn only on a terminal, never into a pipe or a log file. */
  stderrIsTTY: boolean;
  run: RunContext | undefined;
  origin: string;
}

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export type Options = NonNullable<Parameters<typeof parseArgs>[0]>["options"];
export type Values = Record<string, string | boolean | string[] | undefined>;

/** One command: its flags (parseArgs options) and what it does with their values. */
export interface Command {
  options: Options;
  /** Takes a command to run after `--` (exec); it arrives as `values["--"]`. */
  takesCommand?: boolean;
  run(values: Values, deps: CliDeps): Promise<number>;
}

export const helpFlag = { help: { type: "boolean", short: "h" } } as const satisfies Options;
/** The flags of the commands that manage tokens directly. */
export const accessFlags = {
  "account-id": { type: "string" },
  "api-url": { type: "string" },
  "token-scope": { type: "string" },
} as const satisfies Options;

export function usage(message: string, hint?: string): ActionError {
  return new ActionError("input", message, hint);
}

export function str(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

export function oneOf<T extends string>(values: Values, name: string, allowed: readonly T[], fallback: T): T {
  const value = str(values, name) ?? fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw usage(
    `Flag --${name} is ${JSON.stringify(value)}, which is not supported. Use one of: ${allowed.join(", ")}.`,
  );
}

export function required(values: Values, name: string, what: string): string {
  const value = str(values, name)?.trim();
  if (!value) throw usage(`Flag --${name} is required: ${what}.`);
  return value;
}

/** A repeatable flag's values, each as given. */
export function listFlag(values: Values, name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
}

/** A repeatable flag whose values are lists themselves (as the action's inputs): split at , and newlines, trimmed, without repeats. */
export function splitListFlag(values: Values, name: string): string[] {
  return splitList(listFlag(values, name).join(","));
}

/** `bucket`, refused in the CLI's words when it is not a name R2 accepts. `verb`: "has" for one of a list flag's values. */
export function checkBucketName(flag: string, bucket: string, verb: "is" | "has" = "is"): string {
  if (!isBucketName(bucket)) {
    throw usage(
      `Flag --${flag} ${verb} ${JSON.stringify(bucket)}, which is not a valid R2 bucket name (3-63 characters of a-z, 0-9 and -).`,
    );
  }
  return bucket;
}

/** A required flag naming one bucket; `what` says what it is for. */
export function bucketFlag(values: Values, flag: string, what: string): string {
  return checkBucketName(flag, required(values, flag, what));
}

/** The token, account and endpoint of the commands that manage tokens directly, parsed as mint parses them. */
export function tokenTarget(values: Values, deps: CliDeps): { target: TokenTarget; apiUrl: string } {
  const access = parseTokenAccess(
    {
      "account-id": str(values, "account-id"),
      "token-scope": str(values, "token-scope"),
      "api-url": str(values, "api-url"),
    },
    deps.env,
  );
  return {
    target: { scope: access.tokenScope, accountId: access.accountId, token: access.apiToken },
    apiUrl: access.apiUrl,
  };
}

export function clientFor(apiUrl: string, deps: CliDeps): CloudflareClient {
  return new CloudflareClient({ apiUrl, deps, log: (m) => deps.stderr(`${m}\n`) });
}

export function tokenId(values: Values): string {
  const id = required(values, "token-id", "the id of the token");
  if (!isHex32(id))
    throw usage(
      `Flag --token-id is ${JSON.stringify(id)}, which is not a token id (32 lowercase hex characters).`,
    );
  return id;
}
