// One conformance run: against a fresh emulator (the default) or a target given by URL and token
// (--live), every check (or the --only ones) in turn, one line each, then the clean-up.
import { randomBytes } from "node:crypto";
import { type EmulatorOptions, startEmulator } from "../../emulator/index.js";
import { Skip, type Verdict } from "./check.js";
import { Context } from "./context.js";
import { CHECKS } from "./registry.js";
import { type Leftover, manualDeletion, ownS3Credentials, type Target } from "./resources.js";

export interface RunOptions {
  /** Against a target given by URL and token (`--live`); otherwise a fresh emulator. */
  target?: Target;
  /** Emulator options for the default run (e.g. an assumption set the other way). */
  emulatorOptions?: EmulatorOptions;
  /** Check ids to run; all when empty or absent. */
  only?: readonly string[];
  runId?: string;
  signal?: AbortSignal;
  /** How long to wait for new credentials at S3; default 120 s live, 10 s against the emulator. */
  readyTimeoutMs?: number;
  /** Verdict lines (stdout). */
  out: (line: string) => void;
  /** Progress (stderr). */
  err: (line: string) => void;
}

export interface RunResult {
  /** 0: nothing refuted; 1: something refuted, a check could not run, or a resource was left. */
  exitCode: 0 | 1;
  verdicts: { id: string; verdict: Verdict["verdict"] }[];
  leftovers: Leftover[];
  /** The signal fired before every selected check ran. */
  interrupted: boolean;
  runId: string;
}

export function newRunId(): string {
  return `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
}

function line(id: string, assumption: string, v: Verdict): string {
  switch (v.verdict) {
    case "confirmed":
      return `confirmed  ${id}  ${assumption}${v.note ? ` (observed: ${v.note})` : ""}`;
    case "refuted":
      return `refuted  ${id}  ${assumption} (observed: ${v.observed})`;
    case "skipped":
      return `skipped  ${id}  (${v.why})`;
  }
}

export async function runConformance(options: RunOptions): Promise<RunResult> {
  const runId = options.runId ?? newRunId();
  const signal = options.signal ?? new AbortController().signal;
  const only = new Set(options.only ?? []);
  const selected = CHECKS.filter((c) => only.size === 0 || only.has(c.id));
  const live = options.target !== undefined;

  let target = options.target;
  let closeEmulator: (() => Promise<void>) | undefined;
  if (!target) {
    const emulator = await startEmulator({
      propagationDelayMs: 0,
      revocationDelayMs: 0,
      ...options.emulatorOptions,
    });
    closeEmulator = () => emulator.close();
    const minter = emulator.seedToken({ scope: "account", preset: "minter", name: "conformance minter" });
    // Tokens of other shapes, as an account may hold (docs/cloudflare-api.md §8.6).
    emulator.seedOddTokens(3);
    target = {
      apiUrl: emulator.apiUrl,
      accountId: emulator.accountId,
      token: minter.value,
      s3Endpoints: {
        default: emulator.s3Endpoint(),
        eu: emulator.s3Endpoint("eu"),
        us: emulator.s3Endpoint("us"),
      },
    };
  }
  options.err(
    `conformance: run ${runId} against ${live ? target.apiUrl : "the emulator"}; resources are named r2e-conformance-${runId}-…`,
  );

  const ctx = new Context({
    target,
    live,
    runId,
    signal,
    log: options.err,
    readyTimeoutMs: options.readyTimeoutMs ?? (live ? 120_000 : 10_000),
    pollIntervalMs: live ? 500 : 25,
  });

  const verdicts: RunResult["verdicts"] = [];
  let crashed = 0;
  let interrupted = false;
  let leftovers: Leftover[] = [];
  try {
    for (const check of selected) {
      if (signal.aborted) {
        interrupted = true;
        break;
      }
      let verdict: Verdict;
      try {
        verdict = await check.run(ctx);
      } catch (error) {
        if (signal.aborted) {
          interrupted = true;
          break;
        }
        if (error instanceof Skip) verdict = { verdict: "skipped", why: error.message };
        else {
          crashed += 1;
          verdict = {
            verdict: "skipped",
            why: `could not run: ${error instanceof Error ? error.message : String(error)}`,
          };
        }
      }
      verdicts.push({ id: check.id, verdict: verdict.verdict });
      options.out(line(check.id, check.assumption, verdict));
    }
  } finally {
    if (interrupted) options.err("conformance: interrupted; deleting what the run created…");
    leftovers = await ctx.resources.cleanUp(target, await ownS3Credentials(target), options.err);
    await closeEmulator?.();
  }

  const p = ctx.propagation;
  if (p) {
    const refusals = [...p.refusals].map(([answer, n]) => `${answer} ×${n}`).join(", ");
    options.out(
      `propagation  ${p.ms} ms  (a new token was accepted at S3 after ${p.attempts} attempt${p.attempts === 1 ? "" : "s"}${refusals ? `; refused before with ${refusals}` : ""})`,
    );
  } else {
    options.out("propagation  not measured");
  }
  for (const l of leftovers) options.out(manualDeletion(target, l));
  const count = (v: Verdict["verdict"]) => verdicts.filter((x) => x.verdict === v).length;
  const refuted = count("refuted");
  options.out(
    `${count("confirmed")} confirmed, ${refuted} refuted, ${count("skipped")} skipped${leftovers.length ? `, ${leftovers.length} left behind` : ""}`,
  );
  return {
    exitCode: refuted > 0 || crashed > 0 || leftovers.length > 0 ? 1 : 0,
    verdicts,
    leftovers,
    interrupted,
    runId,
  };
}
