// Matrix-scale load: N concurrent main + post runs (real processes, as the runner starts them)
// against ONE emulator that rate-limits the Cloudflare API to 100 requests per 10 s per calling
// token, with every run minting from the same seeded minter token, so the runs compete for one
// budget exactly as the jobs of a big matrix do. Every run must succeed (the 429s are waited out
// within each call's 60 s retry budget), post must revoke every child without a warning, and no
// child token may be left alive. Secret hygiene is checked on every run (RUNNER_DEBUG=1).
//
// N is 40 in the normal `npm test` run and 200 with `npm run test:load` (LOAD_RUNS). The machine
// has two cores, so at most LOAD_CONCURRENCY (default 16) runs are in flight at once: one process
// each, main then post.
import { expect, test } from "vitest";
import {
  describeStep,
  errorLines,
  type JobResult,
  runMain,
  runPost,
  type StepResult,
  warningLines,
} from "../../scripts/harness/runner.js";
import { bucketName, liveChildIds } from "../helpers/emulator.js";
import { type HygieneOptions, hygieneProblems } from "../helpers/hygiene.js";
import { settleWithConcurrency } from "../helpers/pool.js";
import { startRecordedEmulator } from "../helpers/recorded-emulator.js";

const RUNS = Number(process.env.LOAD_RUNS ?? 40);
const CONCURRENCY = Number(process.env.LOAD_CONCURRENCY ?? 16);
/** The spec's limit; LOAD_RATE_REQUESTS / LOAD_RATE_WINDOW_MS override it for experiments. */
const RATE_LIMIT = {
  requests: Number(process.env.LOAD_RATE_REQUESTS ?? 100),
  windowMs: Number(process.env.LOAD_RATE_WINDOW_MS ?? 10_000),
};
const PRESSURE_RUNS = Number(process.env.LOAD_PRESSURE_RUNS ?? 60);
const PRESSURE_LIMIT = { requests: 20, windowMs: 10_000 };
/** Per step: far above the 60 s retry budget, so a step that hangs is told apart from a slow one. */
const STEP_TIMEOUT_MS = 180_000;

interface Run {
  index: number;
  job: JobResult;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function retryLines(step: StepResult): number {
  return step.stdout.split("\n").filter((line) => /retrying in \d+ ms/.test(line)).length;
}

/**
 * Runs `runs` main + post pairs, CONCURRENCY at a time, against one emulator with `rateLimit`, prints
 * the figures and asserts that every run succeeded, revoked its child and leaked nothing.
 */
async function loadScenario(label: string, runs: number, rateLimit: { requests: number; windowMs: number }) {
  expect(Number.isInteger(runs) && runs > 0, "run count").toBe(true);
  const fx = await startRecordedEmulator({ rateLimit });
  try {
    const bucket = bucketName("load");
    fx.emulator.createBucket(bucket);
    const inputs = fx.inputs(bucket, { permission: "object-read-write", "token-name": "load" });

    const started = performance.now();
    const settled = await settleWithConcurrency(
      Array.from({ length: runs }, (_, index) => index),
      CONCURRENCY,
      async (index): Promise<Run> => {
        const main = await runMain({ inputs, debug: true, timeoutMs: STEP_TIMEOUT_MS });
        const post = await runPost({
          inputs,
          env: main.env,
          state: main.state,
          debug: true,
          timeoutMs: STEP_TIMEOUT_MS,
        });
        return { index, job: { main, post } };
      },
    );
    const wallMs = Math.round(performance.now() - started);

    const calls = fx.emulator.calls;
    const byRoute = new Map<string, number>();
    for (const call of calls)
      byRoute.set(`${call.route} ${call.status}`, (byRoute.get(`${call.route} ${call.status}`) ?? 0) + 1);
    const tooMany = calls.filter((call) => call.status === 429).length;
    const done = settled.flatMap((s) => (s.ok ? [s.value] : []));
    const mainMs = done.map((r) => r.job.main.durationMs);
    const postMs = done.map((r) => r.job.post.durationMs);
    const retries = done.reduce((sum, r) => sum + retryLines(r.job.main) + retryLines(r.job.post), 0);
    const figures = [
      `${label}: ${runs} runs, ${CONCURRENCY} at a time, limit ${rateLimit.requests} per ${rateLimit.windowMs / 1000} s, wall ${(wallMs / 1000).toFixed(1)} s`,
      `API calls ${calls.length} (${[...byRoute].map(([k, v]) => `${k}: ${v}`).join(", ")})`,
      `429s seen ${tooMany}, retries logged ${retries}`,
      `main p50 ${percentile(mainMs, 50)} ms p95 ${percentile(mainMs, 95)} ms max ${Math.max(0, ...mainMs)} ms`,
      `post p50 ${percentile(postMs, 50)} ms p95 ${percentile(postMs, 95)} ms max ${Math.max(0, ...postMs)} ms`,
      `S3 probes ${fx.emulator.s3Calls.length}`,
      `child tokens alive after all posts ${liveChildIds(fx.emulator).length}`,
    ];
    console.log(figures.join("\n  "));

    // Every run: both steps succeeded, post revoked its own child, nothing leaked.
    const failures: string[] = [];
    for (const [i, s] of settled.entries()) {
      if (!s.ok) {
        failures.push(`run ${i}: ${(s.error as Error).message.slice(0, 500)}`);
        continue;
      }
      const { main, post } = s.value.job;
      const tokenId = main.outputs["token-id"] ?? "";
      if (main.exitCode !== 0) {
        failures.push(
          `run ${i} main exit ${main.exitCode} after ${main.durationMs} ms and ${retryLines(main)} retries: ${errorLines(main).join(" | ")}`,
        );
        continue;
      }
      if (
        post.exitCode !== 0 ||
        warningLines(post).length > 0 ||
        !post.stdout.includes(`Revoked child token ${tokenId}`)
      ) {
        failures.push(`run ${i} post: ${warningLines(post).join(" | ") || describeStep(post).slice(0, 500)}`);
      }
      const childValue = fx.recorder.childValue(tokenId);
      if (!childValue) failures.push(`run ${i}: the recorder never saw child ${tokenId}`);
      const hygiene: HygieneOptions = {
        given: { "api-token input": fx.minter.value },
        recorded: childValue ? [{ kind: "child-token-value", value: childValue, id: tokenId, at: 0 }] : [],
      };
      for (const problem of hygieneProblems(s.value.job, hygiene)) failures.push(`run ${i}: ${problem}`);
    }
    expect(failures, figures.join("; ")).toEqual([]);
    expect(new Set(done.map((r) => r.job.main.outputs["token-id"])).size, "distinct child tokens").toBe(runs);
    expect(liveChildIds(fx.emulator), "child tokens left alive").toEqual([]);
    // The rate limit was real: no caller got more than its budget in any window.
    const allowed = calls.filter((c) => c.status !== 429 && c.tokenId === fx.minter.id).map((c) => c.at);
    for (const [i, at] of allowed.entries()) {
      const inWindow = allowed.slice(i).filter((t) => t < at + rateLimit.windowMs).length;
      expect(inWindow).toBeLessThanOrEqual(rateLimit.requests);
    }
  } finally {
    await fx.close();
  }
}

test(
  `${RUNS} concurrent main + post runs under a shared rate limit of ${RATE_LIMIT.requests} per ${RATE_LIMIT.windowMs / 1000} s`,
  () => loadScenario("load", RUNS, RATE_LIMIT),
  // 60 s of set-up slack, plus generous time per run (the rate limit alone needs RUNS × 2 / 10 s).
  60_000 + RUNS * 4_000,
);

// On this two-core machine the runs cannot outpace 100 requests per 10 s (process start-up caps them
// at about 8 requests per second), so the spec's limit is never hit there. This scenario keeps the
// contention real: the same harness, with the limit lowered to a quarter of what the runs demand, so
// many calls wait out 429s while 16 runs compete. `npm run test:load` runs it (LOAD_PRESSURE=1).
test.runIf(process.env.LOAD_PRESSURE === "1")(
  `pressure: ${PRESSURE_RUNS} runs under ${PRESSURE_LIMIT.requests} requests per ${PRESSURE_LIMIT.windowMs / 1000} s`,
  () => loadScenario("load pressure", PRESSURE_RUNS, PRESSURE_LIMIT),
  600_000,
);
