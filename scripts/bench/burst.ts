// A burst: N main steps started at the same moment (a wide matrix starting), each followed by its
// own post step as soon as its main ends, all against ONE emulator with a rate limit per calling
// token, every run minting from the same seeded minter (so they share one budget, as matrix jobs
// sharing one api-token do).

import { startEmulator } from "../../emulator/index.js";
import { emulatorInputs } from "../harness/emulator-inputs.js";
import { runMain, runPost, type StepResult } from "../harness/runner.js";
import { median } from "./stats.js";

export interface BurstResult {
  runs: number;
  rateLimit: { requests: number; windowMs: number };
  /** First spawn → last main exit. */
  mainsWallMs: number;
  /** First spawn → last post exit. */
  totalWallMs: number;
  slowestMainMs: number;
  medianMainMs: number;
  slowestPostMs: number;
  apiCalls: number;
  tooManyRequests: number;
  retryLines: number;
  mainFailures: number;
  postFailures: number;
  liveChildTokens: number;
}

const retries = (step: StepResult) =>
  step.stdout.split("\n").filter((l) => /retrying in \d+ ms/.test(l)).length;

export async function measureBurst(options: {
  runs: number;
  latencyMs: number;
  propagationDelayMs: number;
  rateLimit: { requests: number; windowMs: number };
  progress: (line: string) => void;
}): Promise<BurstResult> {
  const emulator = await startEmulator({
    latencyMs: options.latencyMs,
    propagationDelayMs: options.propagationDelayMs,
    revocationDelayMs: 0,
    rateLimit: options.rateLimit,
  });
  try {
    const minter = emulator.seedToken({ scope: "account", preset: "minter" });
    const bucket = "bench-burst";
    emulator.createBucket(bucket);
    const inputs = emulatorInputs(emulator, minter, bucket, {
      permission: "object-read-write",
      "token-name": "bench burst",
    });
    const started = performance.now();
    let lastMainEnd = 0;
    let done = 0;
    const runs = await Promise.all(
      Array.from({ length: options.runs }, async () => {
        // Far above the 60 s retry budget, so a hang is told apart from a slow run.
        const main = await runMain({ inputs, timeoutMs: 180_000 });
        lastMainEnd = Math.max(lastMainEnd, performance.now() - started);
        // Post runs whatever main did (post-if: always()), with main's state and exported env.
        const post = await runPost({ inputs, state: main.state, env: main.env, timeoutMs: 180_000 });
        done += 1;
        if (done % 10 === 0 || done === options.runs)
          options.progress(`burst: ${done}/${options.runs} runs done`);
        return { main, post };
      }),
    );
    const totalWallMs = Math.round(performance.now() - started);
    const mainMs = runs.map((r) => r.main.durationMs);
    return {
      runs: options.runs,
      rateLimit: options.rateLimit,
      mainsWallMs: Math.round(lastMainEnd),
      totalWallMs,
      slowestMainMs: Math.max(...mainMs),
      medianMainMs: median(mainMs),
      slowestPostMs: Math.max(...runs.map((r) => r.post.durationMs)),
      apiCalls: emulator.calls.length,
      tooManyRequests: emulator.calls.filter((c) => c.status === 429).length,
      retryLines: runs.reduce((sum, r) => sum + retries(r.main) + retries(r.post), 0),
      mainFailures: runs.filter((r) => r.main.exitCode !== 0).length,
      postFailures: runs.filter((r) => r.post.exitCode !== 0).length,
      liveChildTokens: emulator.liveChildTokens().length,
    };
  } finally {
    await emulator.close();
  }
}
