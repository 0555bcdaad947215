import { CloudflareClient } from "../../cloudflare/client.js";
import { parseConfig, type RawInputs } from "../../config.js";
import { mint } from "../../mint.js";
import { INPUT_DEFAULTS, INPUT_NAMES, type InputName } from "../../terms.js";
import { type CliDeps, type Command, EXIT, helpFlag, oneOf, usage, type Values } from "../common.js";
import { formatMinted, MINT_FORMATS, type MintFormat } from "../format.js";

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

async function run(values: Values, deps: CliDeps): Promise<number> {
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
    deps.stdout(formatMinted(minted, format, deps.env));
    return EXIT.ok;
  } finally {
    spinner.clear();
  }
}

export const mintCommand: Command = {
  options: {
    ...helpFlag,
    ...Object.fromEntries(MINT_INPUT_FLAGS.map((f) => [f, { type: "string", multiple: LIST_FLAGS.has(f) }])),
    "create-bucket": { type: "boolean" },
    // Parsed only to refuse it with the reason, rather than as an unknown option.
    "vending-url": { type: "string" },
    format: { type: "string" },
    quiet: { type: "boolean", short: "q" },
  },
  run,
};
