// Runs scripts/bench/baseline.sh (curl + jq + sha256sum, then a fixed sleep or S3 polling) against
// an emulator with the bench's latency and propagation delay.
import os from "node:os";
import path from "node:path";
import type { Emulator, SeededToken } from "../../emulator/index.js";
import { repoRoot } from "../harness/runner.js";
import { run, which } from "./proc.js";

export const BASELINE_SCRIPT = path.join(repoRoot, "scripts/bench/baseline.sh");

export type BaselineResult =
  | { skipped: string }
  | {
      wait: "sleep" | "poll";
      sleepS: number;
      pollS: number;
      /** Spawn → exit (create, wait, PUT, delete). */
      wallMs: number;
      /** Spawn → the PUT that S3 accepted returned. */
      readyMs: number;
      puts: number;
      putClient: string;
    };

/** Tools the script needs; the figure is skipped (and says why) when one is missing. */
export function missingBaselineTools(): string[] {
  return ["bash", "curl", "jq", "sha256sum"].filter((tool) => !which(tool));
}

export async function runBaseline(options: {
  emulator: Emulator;
  minter: SeededToken;
  bucket: string;
  wait: "sleep" | "poll";
  sleepS: number;
  pollS: number;
  /** Called once the token exists and the script is waiting (sleeping or polling). */
  onWaiting?: () => void;
  signal?: AbortSignal;
}): Promise<BaselineResult> {
  const missing = missingBaselineTools();
  if (missing.length > 0) return { skipped: `${missing.join(", ")} not installed` };
  const { emulator, minter, bucket, wait, sleepS, pollS } = options;
  const result = await run("bash", [BASELINE_SCRIPT], {
    env: {
      PATH: process.env.PATH,
      HOME: os.homedir(),
      LC_ALL: "C",
      CLOUDFLARE_API_TOKEN: minter.value,
      ACCOUNT_ID: emulator.accountId,
      BUCKET: bucket,
      API: emulator.apiUrl,
      S3: emulator.s3Endpoint(),
      JURISDICTION: "default",
      BASELINE_WAIT: wait,
      BASELINE_SLEEP_S: String(sleepS),
      BASELINE_POLL_S: String(pollS),
    },
    timeoutMs: (sleepS + 150) * 1000,
    signal: options.signal,
    onStderrLine: (line) => {
      if (line.startsWith("baseline: waiting")) options.onWaiting?.();
    },
  });
  if (result.exitCode === 3) return { skipped: result.stderr.trim() };
  const report = result.stdout.trim().split("\n").pop() ?? "";
  if (result.exitCode !== 0) {
    throw new Error(`baseline.sh (${wait}) exited ${result.exitCode}\n${result.stdout}\n${result.stderr}`);
  }
  const parsed = JSON.parse(report) as { ready_at_ms: number; puts: number; put_client: string };
  return {
    wait,
    sleepS,
    pollS,
    wallMs: result.exitedAt - result.spawnedAt,
    readyMs: parsed.ready_at_ms - result.spawnedAt,
    puts: parsed.puts,
    putClient: parsed.put_client,
  };
}
