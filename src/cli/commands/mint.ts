import { type CliDeps, type Command, EXIT, oneOf, str, usage, type Values } from "../common.js";
import { credentialProcess, refreshWindowSeconds } from "../credential-process.js";
import { formatMinted, MINT_FORMATS, type MintFormat } from "../format.js";
import { mintConfig, mintOptions, mintWithProgress } from "../mint-flags.js";

async function run(values: Values, deps: CliDeps): Promise<number> {
  const format = oneOf<MintFormat>(values, "format", MINT_FORMATS, "json");
  const config = mintConfig(values, deps.env);
  const window = str(values, "refresh-window");
  if (format !== "credential-process" && (window !== undefined || values["no-cache"] !== undefined)) {
    throw usage(
      `Flag --${window !== undefined ? "refresh-window" : "no-cache"} applies only to --format credential-process, which caches credentials; this mint prints them once.`,
    );
  }
  if (format === "credential-process") {
    const refreshSeconds = refreshWindowSeconds(values, "15m, 900 or 1h");
    return credentialProcess(config, deps, { cache: values["no-cache"] !== true, refreshSeconds });
  }
  const minted = await mintWithProgress(config, deps, values.quiet === true);
  deps.stdout(formatMinted(minted, format, deps.env));
  return EXIT.ok;
}

export const mintCommand: Command = {
  options: {
    ...mintOptions,
    format: { type: "string" },
    "refresh-window": { type: "string" },
    "no-cache": { type: "boolean" },
  },
  run,
};
