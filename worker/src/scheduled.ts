/**
 * The cron trigger (wrangler.toml `[triggers]`): deletes this tool's expired child tokens, which a runner
 * that died before its post step leaves in the account until someone deletes them (and which may count
 * towards the account's 500 tokens: docs/cloudflare-api.md §6). It runs the core's sweep, the CLI's
 * `sweep` without `--older-than`: only children named by this tool whose expires_on has passed, never
 * another token, never an unexpired child, never the Worker's own token.
 */
import { DEFAULT_SWEEP_PREFIX, sweepReport } from "../../src/sweep.js";
import { client } from "./handlers.js";
import type { Logger } from "./log.js";
import type { Settings } from "./settings.js";

/** Never enough failure messages to make the one log line unreadable. */
const MAX_FAILURES_LOGGED = 5;

export interface SweepCounts {
  deleted: number;
  already_gone: number;
  kept: number;
  failed: number;
  remaining: number;
}

export async function sweepExpired(settings: Settings, log: Logger, now: number): Promise<SweepCounts> {
  const report = await sweepReport(client(settings, log), {
    target: { scope: settings.tokenScope, accountId: settings.accountId, token: settings.apiToken },
    // The children's names: the keyless Worker's, the action's and the CLI's all start so.
    prefix: DEFAULT_SWEEP_PREFIX,
    olderThanMs: undefined,
    dryRun: false,
    now,
    limit: settings.sweepLimit,
  });
  const failures = report.rows.filter((row) => row.result.startsWith("failed"));
  const counts: SweepCounts = {
    deleted: report.rows.filter((row) => row.result === "deleted").length,
    already_gone: report.rows.filter((row) => row.result === "already gone").length,
    kept: report.kept,
    failed: failures.length,
    remaining: report.remaining,
  };
  log.line(failures.length > 0 ? "warn" : "info", "sweep", {
    ...counts,
    limit: settings.sweepLimit,
    failures: failures
      .slice(0, MAX_FAILURES_LOGGED)
      .map((row) => ({ token_id: row.id, message: row.result.replace(/^failed: /, "") })),
  });
  return counts;
}
