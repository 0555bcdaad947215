// The CLI on a laptop: how long `exec` takes from its start to CMD's start (mint and readiness
// included, on an emulator without latency or propagation delay), and what a cached
// `mint --format credential-process` call (what an SDK runs for each new client) costs against bare
// `node -e 0`, with hyperfine when it is installed.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEmulator } from "../../emulator/index.js";
import { type VersusBareNode, versusBareNode } from "./hyperfine.js";
import { actionNode, run, which } from "./proc.js";
import { distDir } from "./startup.js";
import { median } from "./stats.js";

const cliScript = () => path.join(distDir, "cli/index.js");

export interface ExecStart {
  runs: number;
  /** exec spawned → CMD started, per run. */
  ms: number[];
  medianMs: number;
}

type Emulator = Awaited<ReturnType<typeof startEmulator>>;

async function withEmulator<T>(
  body: (env: Record<string, string>, flags: string[], emulator: Emulator) => Promise<T>,
): Promise<T> {
  const emulator = await startEmulator({ propagationDelayMs: 0, revocationDelayMs: 0, latencyMs: 0 });
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "r2e-bench-cli-"));
  try {
    const minter = emulator.seedToken({ scope: "account", preset: "minter" });
    emulator.createBucket("bench-cli");
    const env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      XDG_CACHE_HOME: path.join(home, "cache"),
      CLOUDFLARE_API_TOKEN: minter.value,
      CLOUDFLARE_ACCOUNT_ID: emulator.accountId,
    };
    const flags = [
      "--bucket",
      "bench-cli",
      "--api-url",
      emulator.apiUrl,
      "--s3-endpoint",
      emulator.s3Endpoint(),
    ];
    return await body(env, flags, emulator);
  } finally {
    await emulator.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

/** `runs` exec calls after one warm-up; CMD writes its start time (ms) to a file: `date` in sh. */
export function measureExecStart(runs: number, progress: (line: string) => void): Promise<ExecStart> {
  return withEmulator(async (env, flags, emulator) => {
    const node = actionNode();
    const mark = path.join(env.HOME as string, "cmd-started");
    const ms: number[] = [];
    for (let i = 0; i <= runs; i++) {
      const result = await run(
        node,
        [cliScript(), "exec", ...flags, "--quiet", "--", "/bin/sh", "-c", 'date +%s%3N > "$MARK"'],
        { env: { ...env, MARK: mark } },
      );
      if (result.exitCode !== 0) throw new Error(`exec exited ${result.exitCode}: ${result.stderr}`);
      if (i === 0) continue;
      ms.push(Number(fs.readFileSync(mark, "utf8").trim()) - result.spawnedAt);
      progress(`exec run ${i}/${runs}: CMD started ${ms.at(-1)} ms after exec`);
    }
    if (emulator.liveChildTokens().length > 0) throw new Error("exec left a child token alive");
    return { runs, ms, medianMs: median(ms) };
  });
}

/** hyperfine: a credential-process call answered from the cache, against `node -e 0`. */
export function hyperfineCachedCall(runs: number): Promise<VersusBareNode> {
  if (!which("hyperfine"))
    return Promise.resolve({ skipped: "hyperfine is not installed (Debian package hyperfine)" });
  return withEmulator(async (env, flags) => {
    const args = [cliScript(), "mint", "--format", "credential-process", ...flags];
    const first = await run(actionNode(), args, { env });
    if (first.exitCode !== 0) return { skipped: `the first (minting) call failed: ${first.stderr.trim()}` };
    return versusBareNode(args, runs, { env });
  });
}
