import type { Minted } from "../mint.js";
import { environmentOf, outputsOf } from "../outputs.js";
import type { SweepRow } from "../sweep.js";

export const MINT_FORMATS = ["json", "env", "dotenv", "credential-process"] as const;
export type MintFormat = (typeof MINT_FORMATS)[number];

/** What an AWS SDK reads from a `credential_process`: version 1 of the process-credentials format. */
export interface ProcessCredentials {
  Version: 1;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken?: string;
  /** ISO 8601; the SDKs run the process again before it passes. */
  Expiration: string;
}

export function processCredentials(minted: Minted): ProcessCredentials {
  const { accessKeyId, secretAccessKey, sessionToken } = minted.credentials;
  return {
    Version: 1,
    AccessKeyId: accessKeyId,
    SecretAccessKey: secretAccessKey,
    // The SDKs would sign an empty session token into every request.
    ...(sessionToken ? { SessionToken: sessionToken } : {}),
    Expiration: minted.expiresAt,
  };
}

/** POSIX single quotes: nothing inside is expanded by eval. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function dotenvQuote(value: string): string {
  return /^[A-Za-z0-9_./:@+-]*$/.test(value) ? value : JSON.stringify(value);
}

/**
 * What mint prints on stdout: the action's outputs as JSON, or the AWS_* variables
 * (credential-process is credentialProcess's, which caches).
 */
export function formatMinted(
  minted: Minted,
  format: Exclude<MintFormat, "credential-process">,
  inherited: Record<string, string | undefined> = {},
): string {
  if (format === "json") return `${JSON.stringify({ mode: minted.mode, ...outputsOf(minted) }, null, 2)}\n`;
  const env = environmentOf(minted, inherited);
  const note = `# r2-ephemeral-credentials: ${minted.mode} credentials for ${minted.buckets.join(", ")}, expire at ${minted.expiresAt}${minted.tokenId ? `, token id ${minted.tokenId}` : ""}`;
  const lines = Object.entries(env).map(([name, value]) =>
    format === "env" ? `export ${name}=${shellQuote(value)}` : `${name}=${dotenvQuote(value)}`,
  );
  return `${[note, ...lines].join("\n")}\n`;
}

export function formatSweep(rows: SweepRow[], format: "table" | "json"): string {
  if (format === "json") return `${JSON.stringify(rows, null, 2)}\n`;
  if (rows.length === 0) return "No child tokens to sweep.\n";
  const header = ["TOKEN ID", "RESULT", "REASON", "EXPIRES", "NAME"];
  const body = rows.map((r) => [r.id, r.result, r.reason, r.expiresOn || "never", r.name]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return `${[line(header), ...body.map(line)].join("\n")}\n`;
}
