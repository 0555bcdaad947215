// Start-up of dist/main/index.js up to its first Cloudflare API request, against bare `node -e 0`,
// and the size of every shipped .js file.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEmulator } from "../../emulator/index.js";
import { emulatorInputs } from "../harness/emulator-inputs.js";
import { describeStep, mainScript, runMain } from "../harness/runner.js";
import { type VersusBareNode, versusBareNode } from "./hyperfine.js";
import { actionNode, run } from "./proc.js";
import { median } from "./stats.js";

export const ENTRIES = ["main", "post", "cli"] as const;

export interface BundleSizes {
  entry: (typeof ENTRIES)[number];
  files: { file: string; bytes: number }[];
  total: number;
}

/** The dist/ the harness runs (R2E_E2E_DIST can point it at another build). */
export const distDir = path.dirname(path.dirname(mainScript));

/** Every .js file under dist/main, dist/post and dist/cli (chunks included), in bytes. */
export function bundleSizes(): BundleSizes[] {
  return ENTRIES.map((entry) => {
    const dir = path.join(distDir, entry);
    const names = fs.existsSync(dir)
      ? (fs.readdirSync(dir, { recursive: true }) as string[]).filter((name) => name.endsWith(".js")).sort()
      : [];
    const files = names.map((name) => ({
      file: `dist/${entry}/${name}`,
      bytes: fs.statSync(path.join(dir, name)).size,
    }));
    return { entry, files, total: files.reduce((sum, f) => sum + f.bytes, 0) };
  });
}

export interface Startup {
  runs: number;
  /** Spawn → first API request reaching the emulator, per run. */
  mainMs: number[];
  /** Spawn → exit of `node -e 0`, per run. */
  bareMs: number[];
  mainMedian: number;
  bareMedian: number;
}

/**
 * `runs` interleaved pairs (after one discarded warm-up pair): bare `node -e 0` timed from spawn to
 * exit, and dist/main run by the runner harness against an emulator without latency, timed from
 * just before the harness spawns it (Date.now(); the harness first writes the runner files, well
 * under 1 ms) to the arrival time the emulator records for its first request (Date.now() in the
 * same process, so one clock).
 */
export async function measureStartup(runs: number, progress: (line: string) => void): Promise<Startup> {
  const emulator = await startEmulator({ propagationDelayMs: 0, revocationDelayMs: 0, latencyMs: 0 });
  try {
    const minter = emulator.seedToken({ scope: "account", preset: "minter" });
    const bucket = "bench-startup";
    emulator.createBucket(bucket);
    const inputs = emulatorInputs(emulator, minter, bucket, { permission: "object-read-write" });
    const node = actionNode();
    const mainMs: number[] = [];
    const bareMs: number[] = [];
    for (let i = 0; i <= runs; i++) {
      const bare = await run(node, ["-e", "0"], { env: { PATH: process.env.PATH, HOME: os.homedir() } });
      if (bare.exitCode !== 0) throw new Error(`node -e 0 exited ${bare.exitCode}: ${bare.stderr}`);
      emulator.resetCalls();
      const spawnedAt = Date.now();
      const main = await runMain({ inputs, timeoutMs: 60_000 });
      if (main.exitCode !== 0) throw new Error(`start-up run: main failed\n${describeStep(main)}`);
      const first = emulator.calls[0];
      if (!first) throw new Error("start-up run: main made no API request");
      if (i === 0) continue; // warm-up: file cache, first-run effects
      bareMs.push(bare.exitedAt - bare.spawnedAt);
      mainMs.push(first.at - spawnedAt);
      progress(
        `start-up run ${i}/${runs}: main first request ${first.at - spawnedAt} ms, node -e 0 ${bare.exitedAt - bare.spawnedAt} ms`,
      );
    }
    return { runs, mainMs, bareMs, mainMedian: median(mainMs), bareMedian: median(bareMs) };
  } finally {
    await emulator.close();
  }
}

/**
 * Cross-check with hyperfine: `node -e 0` against dist/main run with no inputs, so that it loads its
 * bundle and stops at input validation (exit 1, no request).
 */
export function hyperfineStartup(runs: number): Promise<VersusBareNode> {
  // A clean environment: no INPUT_*, no CLOUDFLARE_*, so main fails fast at input validation.
  return versusBareNode([mainScript], runs, {
    env: { PATH: process.env.PATH, HOME: os.homedir() },
    ignoreFailure: true,
  });
}
