import type { CloudflareClient } from "./cloudflare/client.js";
import { listTokens, type Token, type TokenTarget } from "./cloudflare/tokens.js";
import { describeError } from "./errors.js";
import { revokeChild } from "./mint.js";
import { DEFAULT_NAME_PREFIX } from "./naming.js";

export const DEFAULT_SWEEP_PREFIX = `${DEFAULT_NAME_PREFIX} `;
/** Every child this tool names ends with a space and an 8-hex mint id: nothing else is ever swept. */
const MINT_ID_SUFFIX = / [0-9a-f]{8}$/;

export interface SweepOptions {
  target: TokenTarget;
  prefix: string;
  /** Also sweep live tokens issued longer ago than this; expired ones are always swept. */
  olderThanMs: number | undefined;
  dryRun: boolean;
  now: number;
}

export interface SweepRow {
  id: string;
  name: string;
  issuedOn: string;
  expiresOn: string;
  reason: string;
  result: "deleted" | "already gone" | "would delete" | `failed: ${string}`;
}

function reasonToSweep(token: Token, options: SweepOptions): string | undefined {
  if (!token.name.startsWith(options.prefix) || !MINT_ID_SUFFIX.test(token.name)) return undefined;
  const expires = token.expires_on ? Date.parse(token.expires_on) : Number.NaN;
  if (token.status === "expired" || expires <= options.now) return "expired";
  const issued = token.issued_on ? Date.parse(token.issued_on) : Number.NaN;
  if (options.olderThanMs !== undefined && options.now - issued > options.olderThanMs) {
    return `issued ${Math.round((options.now - issued) / 60_000)} min ago`;
  }
  return undefined;
}

/** Finds this tool's child tokens that are expired or too old and deletes them (or lists them, dry run). */
export async function sweep(client: CloudflareClient, options: SweepOptions): Promise<SweepRow[]> {
  const rows: SweepRow[] = [];
  for (const token of await listTokens(client, options.target)) {
    const reason = reasonToSweep(token, options);
    if (reason === undefined) continue;
    const row = {
      id: token.id,
      name: token.name,
      issuedOn: token.issued_on ?? "",
      expiresOn: token.expires_on ?? "",
      reason,
    };
    if (options.dryRun) {
      rows.push({ ...row, result: "would delete" });
      continue;
    }
    try {
      const outcome = await revokeChild(
        client,
        { tokenId: token.id, ...options.target },
        options.target.token,
      );
      rows.push({ ...row, result: outcome === "deleted" ? "deleted" : "already gone" });
    } catch (error) {
      rows.push({ ...row, result: `failed: ${describeError(error)}` });
    }
  }
  return rows;
}
