// `npm run bench`: how long a user waits for usable R2 credentials, against the floor Cloudflare
// imposes (API round trips × latency + propagation delay), and against the way people do it by hand.
// Not a test: it prints one table and, on a full run, writes the same figures to BENCHMARKS.md.
// Timing figures never fail it; a crash, a failing step or a leaked child token does (exit 1).
//
//   npm run bench [-- --latency-ms 80 --propagation-ms 2000 --runs 3 --burst 50 ...]
//   npm run bench:ci       (= --quick: 1 run per mode, burst 10, baseline sleep shortened, no file)
//
// dist/ is measured as committed (no rebuild). See BENCHMARKS.md for the methods.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { startEmulator } from "../emulator/index.js";
import { type BaselineResult, runBaseline } from "./bench/baseline.js";
import { type BurstResult, measureBurst } from "./bench/burst.js";
import { hyperfineCachedCall, measureExecStart } from "./bench/cli.js";
import { hyperfineRow, type VersusBareNode } from "./bench/hyperfine.js";
import { describeMachine } from "./bench/machine.js";
import {
  benchModes,
  type ModeSample,
  measureModes,
  roundTrips,
  routeList,
  sameCalls,
} from "./bench/modes.js";
import { benchmarksMarkdown } from "./bench/report.js";
import { bundleSizes, hyperfineStartup, measureStartup } from "./bench/startup.js";
import { bytes, median, ms, ratio } from "./bench/stats.js";
import { type Row, renderText } from "./bench/table.js";
import { repoRoot } from "./harness/runner.js";

const USAGE = `Usage: npm run bench -- [options]
  --latency-ms N        emulated latency per Cloudflare API request (default 80)
  --propagation-ms N    emulated propagation delay of new credentials (default 2000)
  --runs N              runs per mode, median reported (default 3; --quick: 1)
  --startup-runs N      start-up runs (default 10; --quick: 3)
  --burst N             concurrent main steps in the burst (default 50; --quick: 10)
  --rate-limit R/W      burst rate limit: R requests per W ms per token (default 40/10000)
  --baseline-sleep-s N  the baseline's fixed sleep (default 60; --quick: propagation + 1 s)
  --poll-s N            the polling baseline's interval (default 1)
  --quick               the short CI version; never writes BENCHMARKS.md
  --no-write            do not write BENCHMARKS.md
`;

const { values } = parseArgs({
  options: {
    "latency-ms": { type: "string" },
    "propagation-ms": { type: "string" },
    runs: { type: "string" },
    "startup-runs": { type: "string" },
    burst: { type: "string" },
    "rate-limit": { type: "string" },
    "baseline-sleep-s": { type: "string" },
    "poll-s": { type: "string" },
    quick: { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

function number(name: string, fallback: number, { integer = true, min = 0 } = {}): number {
  const raw = values[name as keyof typeof values];
  if (raw === undefined || typeof raw === "boolean") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    process.stderr.write(
      `bench: --${name} must be ${integer ? "an integer" : "a number"} ≥ ${min}\n${USAGE}`,
    );
    process.exit(2);
  }
  return n;
}

const quick = values.quick;
const latencyMs = number("latency-ms", 80);
const propagationMs = number("propagation-ms", 2000);
const runs = number("runs", quick ? 1 : 3, { min: 1 });
const startupRuns = number("startup-runs", quick ? 3 : 10, { min: 1 });
const burstRuns = number("burst", quick ? 10 : 50, { min: 1 });
// Quick: just long enough for the one PUT after the sleep to be accepted.
const baselineSleepS = number("baseline-sleep-s", quick ? Math.ceil(propagationMs / 1000) + 1 : 60, {
  integer: false,
});
const pollS = number("poll-s", 1, { integer: false, min: 0.05 });
const rateLimitMatch = /^(\d+)\/(\d+)$/.exec(values["rate-limit"] ?? "40/10000");
if (!rateLimitMatch || Number(rateLimitMatch[1]) < 1 || Number(rateLimitMatch[2]) < 1) {
  process.stderr.write(`bench: --rate-limit must look like 40/10000 (requests/window ms)\n${USAGE}`);
  process.exit(2);
}
const rateLimit = { requests: Number(rateLimitMatch[1]), windowMs: Number(rateLimitMatch[2]) };
const write = !quick && !values["no-write"];

const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);
const benchStarted = performance.now();

const machine = await describeMachine();
const bundles = bundleSizes();
if (!bundles.find((b) => b.entry === "main")?.total)
  throw new Error("dist/main has no .js file (is dist/ there?)");

// --- the curl-and-sleep baseline runs in the background ---------------------------------------
// While it sleeps it uses no CPU, so the start-up and per-mode figures are taken meanwhile; they
// start only once its token exists, and the burst (which loads both cores) only after it ended.
const baselineEmulator = await startEmulator({
  latencyMs,
  propagationDelayMs: propagationMs,
  revocationDelayMs: 0,
});
const baselineMinter = baselineEmulator.seedToken({ scope: "account", preset: "minter" });
const baselineBucket = "bench-baseline";
baselineEmulator.createBucket(baselineBucket);
let sleepResult: BaselineResult | undefined;
let pollResult: BaselineResult | undefined;
let samples: Map<string, ModeSample[]>;
let startup: Awaited<ReturnType<typeof measureStartup>>;
let hyperfine: VersusBareNode;
let execStart: Awaited<ReturnType<typeof measureExecStart>>;
let cachedCall: VersusBareNode;
let modeLabels: string[] = [];
// Kills the sleeping baseline if the bench fails before it ends.
const stopBaseline = new AbortController();
try {
  let signalWaiting: () => void = () => {};
  const waiting = new Promise<void>((resolve) => {
    signalWaiting = resolve;
  });
  progress(`baseline: create a token, then sleep ${baselineSleepS} s (in the background)`);
  const sleeping = runBaseline({
    emulator: baselineEmulator,
    minter: baselineMinter,
    bucket: baselineBucket,
    wait: "sleep",
    sleepS: baselineSleepS,
    pollS,
    onWaiting: signalWaiting,
    signal: stopBaseline.signal,
  });
  // Settle `waiting` whatever happens to the script (skipped, failed, done).
  sleeping.then(signalWaiting, signalWaiting);
  await waiting;

  // --- start-up ---------------------------------------------------------------------------------
  startup = await measureStartup(startupRuns, progress);
  hyperfine = await hyperfineStartup(quick ? 5 : 20);
  progress(
    "skipped" in hyperfine
      ? `hyperfine: skipped (${hyperfine.skipped})`
      : `hyperfine: main ${hyperfine.medianMs.toFixed(1)} ms, node -e 0 ${hyperfine.bareMedianMs.toFixed(1)} ms`,
  );

  execStart = await measureExecStart(startupRuns, progress);
  cachedCall = await hyperfineCachedCall(quick ? 5 : 20);

  // --- per mode ---------------------------------------------------------------------------------
  const emulator = await startEmulator({
    latencyMs,
    propagationDelayMs: propagationMs,
    revocationDelayMs: 0,
  });
  try {
    const minter = emulator.seedToken({ scope: "account", preset: "minter" });
    const bucket = "bench-modes";
    emulator.createBucket(bucket);
    const list = benchModes(minter.id);
    modeLabels = list.map((m) => m.label);
    samples = await measureModes({ emulator, minter, bucket, modes: list, runs, progress });
  } finally {
    await emulator.close();
  }

  // --- the polling baseline, then the end of the sleeping one ----------------------------------
  progress(`baseline: create a token, then PUT every ${pollS} s until accepted`);
  pollResult = await runBaseline({
    emulator: baselineEmulator,
    minter: baselineMinter,
    bucket: baselineBucket,
    wait: "poll",
    sleepS: baselineSleepS,
    pollS,
  });
  progress("baseline: waiting for the sleeping baseline to finish");
  sleepResult = await sleeping;
  if (baselineEmulator.liveChildTokens().length > 0)
    throw new Error("the baseline script left a child token");
} finally {
  stopBaseline.abort();
  await baselineEmulator.close();
}

// --- burst --------------------------------------------------------------------------------------
progress(
  `burst: ${burstRuns} concurrent main steps, rate limit ${rateLimit.requests} per ${rateLimit.windowMs} ms`,
);
const burst: BurstResult = await measureBurst({
  runs: burstRuns,
  latencyMs,
  propagationDelayMs: propagationMs,
  rateLimit,
  progress,
});

// --- the table ----------------------------------------------------------------------------------
const rows: Row[] = [];
rows.push({
  section: `per mode: API latency ${latencyMs} ms per request, propagation ${propagationMs} ms, median of ${runs} run${runs === 1 ? "" : "s"}`,
});
let tokenMainMs: number | undefined;
for (const label of modeLabels) {
  const list = samples.get(label) ?? [];
  const first = list[0];
  if (!first) continue;
  const varied = sameCalls(list) ? "" : " (calls varied between runs)";
  const mainTrips = roundTrips(first.main.calls, latencyMs);
  const postTrips = roundTrips(first.post.calls, latencyMs);
  const mainMs = median(list.map((s) => s.main.wallMs));
  const postMs = median(list.map((s) => s.post.wallMs));
  if (label === "token") tokenMainMs = mainMs;
  const floor = mainTrips * latencyMs + propagationMs;
  const waits = list.map((s) => s.waitedMs).filter((w): w is number => w !== undefined);
  const callsNote = (calls: ModeSample["main"]["calls"], trips: number) =>
    `${routeList(calls)}${calls.length !== trips ? ` (${calls.length} calls)` : ""}`;
  rows.push(
    {
      figure: `${label}: API round trips, main / post`,
      value: `${mainTrips} / ${postTrips}`,
      detail: `main: ${callsNote(first.main.calls, mainTrips)}; post: ${callsNote(first.post.calls, postTrips)}${varied}`,
    },
    {
      figure: `${label}: main wall time`,
      value: ms(mainMs),
      detail: `runs ${list.map((s) => s.main.wallMs).join(", ")} ms${waits.length ? `; S3 accepted after ${median(waits)} ms (main's own report)` : ""}`,
    },
    {
      figure: `${label}: overhead`,
      value: ms(mainMs - floor),
      detail: `${mainMs} − (${mainTrips} × ${latencyMs} + ${propagationMs})`,
    },
    {
      figure: `${label}: post wall time`,
      value: ms(postMs),
      detail: `runs ${list.map((s) => s.post.wallMs).join(", ")} ms; above its ${postTrips} × ${latencyMs} ms of round trips: ${postMs - postTrips * latencyMs} ms`,
    },
  );
}

rows.push({ section: `start-up of dist/main (median of ${startup.runs}, after one warm-up run)` });
rows.push(
  {
    figure: "main: spawn → first API request",
    value: ms(startup.mainMedian),
    detail: `runs ${startup.mainMs.join(", ")} ms`,
  },
  {
    figure: "bare node -e 0: spawn → exit",
    value: ms(startup.bareMedian),
    detail: `runs ${startup.bareMs.join(", ")} ms`,
  },
  { figure: "start-up ratio, main / bare node", value: ratio(startup.mainMedian, startup.bareMedian) },
  hyperfineRow("hyperfine cross-check", "hyperfine: main to input-validation exit / node -e 0", hyperfine),
);

rows.push({ section: "the CLI on a laptop (emulator without latency or propagation delay)" });
rows.push(
  {
    figure: "exec: spawn → CMD started",
    value: ms(execStart.medianMs),
    detail: `median of ${execStart.runs} after a warm-up (mint and readiness included; CMD is sh + date); runs ${execStart.ms.join(", ")} ms`,
  },
  hyperfineRow(
    "cached credential-process call",
    "hyperfine: cached credential-process call / node -e 0",
    cachedCall,
  ),
);

rows.push({ section: "bundle sizes (every .js file shipped, as committed)" });
for (const entry of bundles) {
  for (const file of entry.files) rows.push({ figure: file.file, value: bytes(file.bytes) });
  rows.push({
    figure: `dist/${entry.entry} total`,
    value: bytes(entry.total),
    detail: `${entry.files.length} .js file${entry.files.length === 1 ? "" : "s"}`,
  });
}

rows.push({
  section: `baseline: bash + curl + jq + sha256sum (scripts/bench/baseline.sh), same latency and propagation`,
});
const baselineRows = (result: BaselineResult | undefined, name: string) => {
  if (!result || "skipped" in result) {
    rows.push({ figure: name, value: "skipped", detail: result?.skipped ?? "did not run" });
    return;
  }
  const what =
    result.wait === "sleep"
      ? `create, sleep ${result.sleepS} s, PUT, delete`
      : "create, PUT until accepted, delete";
  rows.push(
    { figure: `${name}: wall time`, value: ms(result.wallMs, "s"), detail: `${what}; ${result.wallMs} ms` },
    {
      figure: `${name}: time to ready`,
      value: ms(result.readyMs, "s"),
      detail: `spawn → accepted PUT; ${result.puts} PUT${result.puts === 1 ? "" : "s"} (${result.putClient}); ${result.readyMs} ms`,
    },
  );
};
baselineRows(sleepResult, `sleep ${baselineSleepS} s`);
baselineRows(pollResult, `poll every ${pollS} s`);
if (tokenMainMs !== undefined) {
  for (const [result, name, field] of [
    [sleepResult, `sleep ${baselineSleepS} s wall time`, "wallMs"],
    [pollResult, `poll ${pollS} s time to ready`, "readyMs"],
  ] as const) {
    if (!result || "skipped" in result) continue;
    const theirs = result[field];
    rows.push({
      figure: `ratio: token main wall / baseline ${name}`,
      value: ratio(tokenMainMs, theirs),
      detail: `${tokenMainMs} ms vs ${theirs} ms${theirs >= 2 * tokenMainMs ? `: ready ${ratio(theirs, tokenMainMs)} sooner` : ""}`,
    });
  }
}

rows.push({
  section: `burst: ${burst.runs} concurrent main steps (token mode) + their posts, one minter, rate limit ${burst.rateLimit.requests} per ${burst.rateLimit.windowMs / 1000} s`,
});
rows.push(
  {
    figure: "burst: wall time until every main ended",
    value: ms(burst.mainsWallMs, "s"),
    detail: `${burst.mainsWallMs} ms`,
  },
  {
    figure: "burst: wall time until every post ended",
    value: ms(burst.totalWallMs, "s"),
    detail: `${burst.totalWallMs} ms`,
  },
  {
    figure: "burst: slowest main",
    value: ms(burst.slowestMainMs),
    detail: `median main ${burst.medianMainMs} ms`,
  },
  { figure: "burst: slowest post", value: ms(burst.slowestPostMs) },
  {
    figure: "burst: 429s seen",
    value: String(burst.tooManyRequests),
    detail: `of ${burst.apiCalls} API calls; ${burst.retryLines} retry lines logged`,
  },
  {
    figure: "burst: failed steps",
    value: String(burst.mainFailures + burst.postFailures),
    detail: `${burst.mainFailures} main, ${burst.postFailures} post`,
  },
  {
    figure: "burst: live child tokens after the posts",
    value: String(burst.liveChildTokens),
    detail: "must be 0",
  },
);

const totalS = ((performance.now() - benchStarted) / 1000).toFixed(1);
const loadEnd = os
  .loadavg()
  .map((l) => l.toFixed(2))
  .join(", ");
const heading = [
  `r2-ephemeral-credentials bench (${quick ? "quick" : "full"}), ${machine.date}, commit ${machine.commit}`,
  `machine: ${machine.nproc} CPUs (nproc), ${machine.cpu}, ${machine.memory}, Node ${machine.node}, ${machine.os}`,
  `load average ${machine.load} at the start, ${loadEnd} at the end; measured in ${totalS} s`,
].join("\n");
console.log(`\n${heading}\n`);
console.log(renderText(rows));

if (write) {
  const file = path.join(repoRoot, "BENCHMARKS.md");
  fs.writeFileSync(
    file,
    benchmarksMarkdown({
      machine,
      rows,
      params: { latencyMs, propagationMs, runs, startupRuns, burstRuns, rateLimit, baselineSleepS, pollS },
      totalS,
      loadEnd,
    }),
  );
  progress(`wrote ${path.relative(repoRoot, file)}`);
}

const problems = [
  burst.mainFailures + burst.postFailures > 0
    ? `${burst.mainFailures + burst.postFailures} burst step(s) failed`
    : "",
  burst.liveChildTokens > 0 ? `${burst.liveChildTokens} child token(s) left alive after the burst` : "",
].filter(Boolean);
if (problems.length > 0) {
  process.stderr.write(`bench: FAILED: ${problems.join("; ")}\n`);
  process.exit(1);
}
