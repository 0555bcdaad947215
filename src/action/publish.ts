import type { Config } from "../config.js";
import type { Minted } from "../mint.js";
import { environmentOf, outputsOf } from "../outputs.js";
import type { ActionIO } from "./runner.js";

/** Secrets were masked when they were minted; this only writes them where later steps read them. */
export function publish(
  minted: Minted,
  config: Config,
  io: ActionIO,
  inherited: Record<string, string | undefined>,
): void {
  for (const [name, value] of Object.entries(outputsOf(minted))) io.setOutput(name, value);
  io.setOutput("aws-profile", config.awsProfile ?? "");
  if (config.exportEnv) {
    for (const [name, value] of Object.entries(environmentOf(minted, inherited)))
      io.exportVariable(name, value);
  }
}

function cell(value: string): string {
  return value.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** What the credentials reach; in keyless mode the vending Worker may have narrowed the request. */
function narrowing(minted: Minted): string {
  const parts = [
    ...minted.prefixes.map((p) => `prefix \`${p}\``),
    ...minted.objects.map((o) => `object \`${o}\``),
  ];
  const text = parts.length > 0 ? parts.join(", ") : "whole bucket";
  return minted.narrowedByWorker ? `${text} (by the vending Worker's policy)` : text;
}

/** The main step's job summary: identifiers and settings only, never a secret. */
export function mintSummary(minted: Minted, config: Config): string {
  const rows: [string, string][] = [
    ["Mode", minted.mode],
    ["Buckets", minted.buckets.map((b) => `\`${b}\``).join(", ")],
    ["Permission", config.permission],
    ["Narrowing", narrowing(minted)],
    ["Expires at", minted.expiresAt],
    ["Token id", minted.tokenId ? `\`${minted.tokenId}\`` : "none (temporary credentials)"],
    ["Endpoint", minted.endpoint],
    ...(config.awsProfile ? ([["AWS profile", `\`${config.awsProfile}\``]] as [string, string][]) : []),
    [
      "Readiness wait",
      minted.readiness
        ? `${minted.readiness.waitedMs} ms (${minted.readiness.probes} ${minted.readiness.probes === 1 ? "probe" : "probes"})`
        : "skipped (wait-timeout: 0)",
    ],
  ];
  return [
    "### R2 credentials minted",
    "",
    "| | |",
    "|---|---|",
    ...rows.map(([k, v]) => `| ${k} | ${cell(v)} |`),
    "",
  ].join("\n");
}

/** Writes to the job summary; a summary that cannot be written is a warning, never a failure. */
export async function appendSummary(io: ActionIO, markdown: string): Promise<void> {
  try {
    await io.appendSummary(markdown);
  } catch (error) {
    io.warning(`Could not write the job summary: ${error instanceof Error ? error.message : String(error)}`);
  }
}
