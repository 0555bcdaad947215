import { parseArgs } from "node:util";
import { isBucketName, isHex32 } from "../checks.js";
import { CloudflareClient, type HttpDeps } from "../cloudflare/client.js";
import { revokeToken, type TokenTarget } from "../cloudflare/tokens.js";
import { type ConfigEnv, parseConfig, parseDuration, parseTokenAccess, type RawInputs } from "../config.js";
import { ActionError, describeError } from "../errors.js";
import { mint } from "../mint.js";
import type { RunContext } from "../naming.js";
import { rescope } from "../rescope.js";
import { DEFAULT_SWEEP_PREFIX, sweep } from "../sweep.js";
import {
  INPUT_DEFAULTS,
  INPUT_NAMES,
  type InputName,
  JURISDICTIONS,
  type Jurisdiction,
  PERMISSIONS,
  type Permission,
} from "../terms.js";
import { formatMinted, formatSweep, MINT_FORMATS, type MintFormat } from "./format.js";
import { HELP } from "./help.js";

export interface CliDeps extends HttpDeps {
  env: ConfigEnv & Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Progress lines are drawn only on a terminal, never into a pipe or a log file. */
  stderrIsTTY: boolean;
  run: RunContext | undefined;
  origin: string;
}

const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/**
 * mint's string flags are the action's inputs, minus what only makes sense in a workflow (export-env,
 * revoke, keyless), the token (read from the environment only) and create-bucket (a switch).
 */
const NOT_STRING_FLAGS = new Set<InputName>([
  "api-token",
  "export-env",
  "revoke",
  "create-bucket",
  "vending-url",
  "audience",
]);
const MINT_INPUT_FLAGS = INPUT_NAMES.filter((name) => !NOT_STRING_FLAGS.has(name));
const LIST_FLAGS = new Set<string>(["bucket", "prefixes", "objects"]);

type Options = NonNullable<Parameters<typeof parseArgs>[0]>["options"];
const help = { help: { type: "boolean", short: "h" } } as const satisfies Options;
const common = {
  "account-id": { type: "string" },
  "api-url": { type: "string" },
  "token-scope": { type: "string" },
} as const satisfies Options;

const COMMAND_OPTIONS = {
  mint: {
    ...help,
    ...Object.fromEntries(MINT_INPUT_FLAGS.map((f) => [f, { type: "string", multiple: LIST_FLAGS.has(f) }])),
    "create-bucket": { type: "boolean" },
    // Parsed only to refuse it with the reason, rather than as an unknown option.
    "vending-url": { type: "string" },
    format: { type: "string" },
    quiet: { type: "boolean", short: "q" },
  },
  revoke: { ...help, ...common, "token-id": { type: "string" } },
  sweep: {
    ...help,
    ...common,
    "older-than": { type: "string" },
    prefix: { type: "string" },
    "dry-run": { type: "boolean" },
    format: { type: "string" },
  },
  rescope: {
    ...help,
    ...common,
    "token-id": { type: "string" },
    "add-bucket": { type: "string" },
    permission: { type: "string" },
    jurisdiction: { type: "string" },
  },
} satisfies Record<string, Options>;
type Command = keyof typeof COMMAND_OPTIONS;
type Values = Record<string, string | boolean | string[] | undefined>;

function usage(message: string, hint?: string): ActionError {
  return new ActionError("input", message, hint);
}

function str(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

function oneOf<T extends string>(values: Values, name: string, allowed: readonly T[], fallback: T): T {
  const value = str(values, name) ?? fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw usage(
    `Flag --${name} is ${JSON.stringify(value)}, which is not supported. Use one of: ${allowed.join(", ")}.`,
  );
}

function required(values: Values, name: string, what: string): string {
  const value = str(values, name)?.trim();
  if (!value) throw usage(`Flag --${name} is required: ${what}.`);
  return value;
}

/** The token, account and endpoint of the commands that manage tokens directly, parsed as mint parses them. */
function tokenTarget(values: Values, deps: CliDeps): { target: TokenTarget; apiUrl: string } {
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

function clientFor(apiUrl: string, deps: CliDeps): CloudflareClient {
  return new CloudflareClient({ apiUrl, deps, log: (m) => deps.stderr(`${m}\n`) });
}

function tokenId(values: Values): string {
  const id = required(values, "token-id", "the id of the token");
  if (!isHex32(id))
    throw usage(
      `Flag --token-id is ${JSON.stringify(id)}, which is not a token id (32 lowercase hex characters).`,
    );
  return id;
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

async function mintCommand(values: Values, deps: CliDeps): Promise<number> {
  if (values["vending-url"] !== undefined) {
    throw usage(
      "Flag --vending-url is not supported by the CLI: the vending Worker trusts GitHub Actions' OIDC tokens and names each child token after their repository and run, which a laptop or another CI system cannot present.",
      "Mint with your own token here (export CLOUDFLARE_API_TOKEN), or use the action with vending-url inside GitHub Actions (README, Keyless setup).",
    );
  }
  const format = oneOf<MintFormat>(values, "format", MINT_FORMATS, "json");
  const quiet = values.quiet === true;
  const raw: RawInputs = {
    "export-env": "false",
    revoke: "false",
    "create-bucket": values["create-bucket"] ? "true" : "false",
  };
  for (const flag of MINT_INPUT_FLAGS) {
    const value = values[flag];
    raw[flag] = Array.isArray(value)
      ? value.join(",")
      : typeof value === "string"
        ? value
        : INPUT_DEFAULTS[flag];
  }
  const config = parseConfig(raw, deps.env);
  const spinner = progress(deps, quiet);
  const info = (m: string) => {
    spinner.clear();
    if (!quiet) deps.stderr(`${m}\n`);
  };
  try {
    const minted = await mint(config, {
      ...deps,
      client: new CloudflareClient({ apiUrl: config.apiUrl, deps, log: info }),
      // Nothing prints secrets here; the runner's masking has no equivalent on a terminal.
      mask: () => {},
      onChildCreated: () => {},
      log: info,
      debug: () => spinner.tick(),
      run: deps.run,
      origin: deps.origin,
    });
    spinner.clear();
    deps.stdout(formatMinted(minted, format));
    return EXIT.ok;
  } finally {
    spinner.clear();
  }
}

async function revokeCommand(values: Values, deps: CliDeps): Promise<number> {
  const id = tokenId(values);
  const { target, apiUrl } = tokenTarget(values, deps);
  const outcome = await revokeToken(clientFor(apiUrl, deps), target, id);
  deps.stderr(outcome === "deleted" ? `Revoked token ${id}.\n` : `Token ${id} was already gone.\n`);
  return EXIT.ok;
}

async function sweepCommand(values: Values, deps: CliDeps): Promise<number> {
  const format = oneOf(values, "format", ["table", "json"] as const, "table");
  const olderThan = str(values, "older-than");
  const olderThanSeconds = olderThan === undefined ? undefined : parseDuration(olderThan);
  if (olderThan !== undefined && olderThanSeconds === undefined) {
    throw usage(
      `Flag --older-than is ${JSON.stringify(olderThan)}, which is not a duration. Use e.g. 90m, 2h or 1d.`,
    );
  }
  const { target, apiUrl } = tokenTarget(values, deps);
  const rows = await sweep(clientFor(apiUrl, deps), {
    target,
    prefix: str(values, "prefix") ?? DEFAULT_SWEEP_PREFIX,
    olderThanMs: olderThanSeconds === undefined ? undefined : olderThanSeconds * 1000,
    dryRun: values["dry-run"] === true,
    now: deps.now(),
  });
  deps.stdout(formatSweep(rows, format));
  return rows.some((r) => r.result.startsWith("failed")) ? EXIT.failure : EXIT.ok;
}

async function rescopeCommand(values: Values, deps: CliDeps): Promise<number> {
  const id = tokenId(values);
  const bucket = required(values, "add-bucket", "the bucket to add");
  if (!isBucketName(bucket)) {
    throw usage(
      `Flag --add-bucket is ${JSON.stringify(bucket)}, which is not a valid R2 bucket name (3-63 characters of a-z, 0-9 and -).`,
    );
  }
  const permission = oneOf<Permission>(values, "permission", PERMISSIONS, "object-read-only");
  const jurisdiction = oneOf<Jurisdiction>(values, "jurisdiction", JURISDICTIONS, "default");
  const { target, apiUrl } = tokenTarget(values, deps);
  const outcome = await rescope(
    clientFor(apiUrl, deps),
    { target, tokenId: id, bucket, permission, jurisdiction },
    (m) => deps.stderr(`${m}\n`),
  );
  deps.stdout(
    outcome === "added"
      ? `Added ${bucket} (${permission}, jurisdiction ${jurisdiction}) to token ${id}. The S3 endpoint may take up to a minute to honour it.\n`
      : `Token ${id} already grants ${permission} on ${bucket}.\n`,
  );
  return EXIT.ok;
}

const COMMANDS: Record<Command, (values: Values, deps: CliDeps) => Promise<number>> = {
  mint: mintCommand,
  revoke: revokeCommand,
  sweep: sweepCommand,
  rescope: rescopeCommand,
};

/** The CLI: parse, dispatch, and turn every failure into one line on stderr and an exit code. */
export async function runCli(argv: string[], deps: CliDeps): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    (name === undefined ? deps.stderr : deps.stdout)(`${HELP.main}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (!(name in COMMANDS)) {
    deps.stderr(`Unknown command ${JSON.stringify(name)}.\n\n${HELP.main}\n`);
    return EXIT.usage;
  }
  const command = name as Command;
  let values: Values;
  try {
    const options: Options = COMMAND_OPTIONS[command];
    values = parseArgs({ args: rest, options, strict: true, allowPositionals: false }).values as Values;
  } catch (error) {
    deps.stderr(`${describeError(error)}\nRun 'r2-ephemeral-credentials ${command} --help' for the flags.\n`);
    return EXIT.usage;
  }
  if (values.help) {
    deps.stdout(`${HELP[command]}\n`);
    return EXIT.ok;
  }
  try {
    return await COMMANDS[command](values, deps);
  } catch (error) {
    deps.stderr(`error: ${describeError(error, "cli")}\n`);
    return error instanceof ActionError && error.code === "input" ? EXIT.usage : EXIT.failure;
  }
}
