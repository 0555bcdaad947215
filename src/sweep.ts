import type { CloudflareClient } from "./cloudflare/client.js";
import {
  type ListedToken,
  listTokens,
  revokeToken,
  type TokenTarget,
  verifyToken,
} from "./cloudflare/tokens.js";
import { describeError } from "./errors.js";
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
  /** Hears what is worth a debug line (tokens of a shape it does not understand, skipped). */
  debug?: (message: string) => void;
  /** At most this many tokens are deleted (or listed, dry run); the others wait for the next sweep. */
  limit?: number | undefined;
}

export interface SweepRow {
  id: string;
  name: string;
  issuedOn: string;
  expiresOn: string;
  reason: string;
  result: "deleted" | "already gone" | "would delete" | `failed: ${string}`;
}

function isChild(token: ListedToken, options: SweepOptions): boolean {
  return token.name.startsWith(options.prefix) && MINT_ID_SUFFIX.test(token.name);
}

/** Why a child is due to be swept, or undefined when it is not. */
function reasonToSweep(token: ListedToken, options: SweepOptions): string | undefined {
  const expires = token.expires_on ? Date.parse(token.expires_on) : Number.NaN;
  if (token.status === "expired" || expires <= options.now) return "expired";
  const issued = token.issued_on ? Date.parse(token.issued_on) : Number.NaN;
  if (options.olderThanMs !== undefined && options.now - issued > options.olderThanMs) {
    return `issued ${age(options.now - issued)} ago`;
  }
  return undefined;
}

function age(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}

export interface SweepReport {
  rows: SweepRow[];
  /** This tool's children left alone because they are neither expired nor too old (the caller not counted). */
  kept: number;
  /** Children due to be swept that were not tried because `limit` was reached. */
  remaining: number;
}

/** Finds this tool's child tokens that are expired or too old and deletes them (or lists them, dry run). */
export async function sweep(client: CloudflareClient, options: SweepOptions): Promise<SweepRow[]> {
  return (await sweepReport(client, options)).rows;
}

/** sweep(), with how many children it kept and how many it left for the next sweep. */
export async function sweepReport(client: CloudflareClient, options: SweepOptions): Promise<SweepReport> {
  const rows: SweepRow[] = [];
  let kept = 0;
  let remaining = 0;
  // The calling token may match a custom --prefix: never sweep the branch we are sitting on.
  const self = (await verifyToken(client, options.target)).id;
  const tokens = await listTokens(client, options.target, (count) =>
    options.debug?.(`Skipped ${count} listed token(s) whose shape this tool does not understand.`),
  );
  for (const token of tokens) {
    if (token.id === self || !isChild(token, options)) continue;
    const reason = reasonToSweep(token, options);
    if (reason === undefined) {
      kept++;
      continue;
    }
    if (options.limit !== undefined && rows.length >= options.limit) {
      remaining++;
      continue;
    }
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
      const outcome = await revokeToken(client, options.target, token.id);
      rows.push({ ...row, result: outcome === "deleted" ? "deleted" : "already gone" });
    } catch (error) {
      rows.push({ ...row, result: `failed: ${describeError(error)}` });
    }
  }
  return { rows, kept, remaining };
}
