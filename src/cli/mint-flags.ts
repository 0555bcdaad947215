/**
 * The flags every command that mints shares (mint, exec, configure-profile): the action's inputs as
 * flags, turned into one Config by the core's parseConfig, and the mint itself with its progress on
 * stderr. One reader, so that `exec` and a profile's `credential_process` mint exactly as `mint` does.
 */
import fs from "node:fs";
import { CloudflareClient } from "../cloudflare/client.js";
import { type Config, parseConfig, type RawInputs } from "../config.js";
import { type MintDeps, type Minted, mint } from "../mint.js";
import { isMine, isPrivate } from "../node/files.js";
import { ENV_FALLBACKS, INPUT_DEFAULTS, INPUT_NAMES, type InputName } from "../terms.js";
import { type CliDeps, helpFlag, type Options, usage, type Values } from "./common.js";

/**
 * The string flags are the action's inputs, minus what only makes sense in a workflow (export-env,
 * revoke, aws-profile, keyless), the token (read from the environment only) and create-bucket (a switch).
 */
const NOT_STRING_FLAGS = new Set<InputName>([
  "api-token",
  "export-env",
  "revoke",
  "create-bucket",
  "vending-url",
  "audience",
  "aws-profile",
]);
const MINT_INPUT_FLAGS = INPUT_NAMES.filter((name) => !NOT_STRING_FLAGS.has(name));
const LIST_FLAGS = new Set<string>(["bucket", "prefixes", "objects"]);

export const mintOptions = {
  ...helpFlag,
  ...Object.fromEntries(
    MINT_INPUT_FLAGS.map((f) => [f, { type: "string" as const, multiple: LIST_FLAGS.has(f) }]),
  ),
  "create-bucket": { type: "boolean" },
  "token-file": { type: "string" },
  // Parsed only to refuse it with the reason, rather than as an unknown option.
  "vending-url": { type: "string" },
  quiet: { type: "boolean", short: "q" },
} as const satisfies Options;

/** Some of mint's flags, with mint's own definitions, for another command that takes them (the two cannot drift). */
export function mintOptionsFor(flags: readonly InputName[]): Options {
  const all: Record<string, unknown> = mintOptions;
  return Object.fromEntries(flags.map((flag) => [flag, all[flag]])) as Options;
}

/** The raw inputs the flags stand for; only flags actually given (defaults come from parseConfig). */
export function givenInputs(values: Values): RawInputs {
  const raw: RawInputs = {};
  for (const flag of MINT_INPUT_FLAGS) {
    const value = values[flag];
    if (Array.isArray(value)) raw[flag] = value.join(",");
    else if (typeof value === "string") raw[flag] = value;
  }
  if (values["create-bucket"]) raw["create-bucket"] = "true";
  return raw;
}

/**
 * The token from --token-file: for programs that run `credential_process` without CLOUDFLARE_API_TOKEN
 * in their environment (an IDE, cron). Only a regular file of the user's that nobody else can read or
 * write is used, the way ssh treats a private key.
 */
function tokenFromFile(file: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    throw usage(
      `Flag --token-file is ${JSON.stringify(file)}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"}).`,
    );
  }
  if (!isPrivate(stat)) {
    const mine = isMine(stat);
    throw usage(
      `Flag --token-file is ${JSON.stringify(file)}, which others can read or write (mode ${(stat.mode & 0o777).toString(8)}${mine ? "" : ", owned by another user"}): a token file must be yours alone.`,
      `Run: chmod 600 ${JSON.stringify(file)}`,
    );
  }
  return fs.readFileSync(file, "utf8").trim();
}

/** The environment the flags see: CLOUDFLARE_API_TOKEN from --token-file when given. */
function tokenEnv(values: Values, env: CliDeps["env"]): CliDeps["env"] {
  const file = typeof values["token-file"] === "string" ? values["token-file"] : undefined;
  return file === undefined ? env : { ...env, [ENV_FALLBACKS["api-token"]]: tokenFromFile(file) };
}

/** The Config the flags describe, validated by the core before any network call. */
export function mintConfig(values: Values, env: CliDeps["env"]): Config {
  if (values["vending-url"] !== undefined) {
    throw usage(
      "Flag --vending-url is not supported by the CLI: the vending Worker trusts GitHub Actions' OIDC tokens and names each child token after their repository and run, which a laptop or another CI system cannot present.",
      "Mint with your own token here (export CLOUDFLARE_API_TOKEN), or use the action with vending-url inside GitHub Actions (README, Keyless setup).",
    );
  }
  const raw: RawInputs = { "export-env": "false", revoke: "false", "create-bucket": "false" };
  for (const flag of MINT_INPUT_FLAGS) raw[flag] = INPUT_DEFAULTS[flag];
  return parseConfig({ ...raw, ...givenInputs(values) }, tokenEnv(values, env));
}

/** A progress line redrawn in place on a terminal; nothing at all when stderr is a pipe. */
function progress(deps: CliDeps, quiet: boolean) {
  let drawn = false;
  const started = deps.now();
  return {
    tick(): void {
      if (quiet || !deps.stderrIsTTY) return;
      const frames = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏";
      const seconds = (deps.now() - started) / 1000;
      const frame = frames[Math.floor(seconds * 4) % frames.length];
      deps.stderr(
        `\r${frame} waiting for the S3 endpoint to accept the credentials… ${seconds.toFixed(1)} s`,
      );
      drawn = true;
    },
    clear(): void {
      if (drawn) deps.stderr("\r\u001b[2K");
      drawn = false;
    },
  };
}

/**
 * How the CLI's commands mint: as the action does, progress on stderr unless quiet, a token left
 * behind always. A terminal masks nothing, so nothing here prints a secret. `waitSleep` (exec's
 * interruptible sleep) paces only the readiness wait: the client keeps the plain sleep, so a
 * clean-up after Ctrl-C still retries its DELETE.
 */
export function cliMintDeps(
  config: Config,
  deps: CliDeps,
  quiet: boolean,
  waitSleep: CliDeps["sleep"] = deps.sleep,
): { mintDeps: MintDeps; done: () => void } {
  const spinner = progress(deps, quiet);
  const say = (m: string) => {
    spinner.clear();
    deps.stderr(`${m}\n`);
  };
  const info = (m: string) => {
    if (!quiet) say(m);
  };
  return {
    mintDeps: {
      ...deps,
      sleep: waitSleep,
      client: new CloudflareClient({ apiUrl: config.apiUrl, deps, log: info }),
      mask: () => {},
      onChildCreated: () => {},
      log: info,
      warn: say,
      debug: () => spinner.tick(),
      run: deps.run,
      origin: deps.origin,
    },
    done: () => spinner.clear(),
  };
}

/** Mints with cliMintDeps, and clears the progress line whatever happens. */
export async function mintWithProgress(
  config: Config,
  deps: CliDeps,
  quiet: boolean,
  waitSleep?: CliDeps["sleep"],
): Promise<Minted> {
  const { mintDeps, done } = cliMintDeps(config, deps, quiet, waitSleep);
  try {
    return await mint(config, mintDeps);
  } finally {
    done();
  }
}
