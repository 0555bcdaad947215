// Measures each minting mode end to end against the emulator with an emulated propagation delay:
// the main step's wall-clock duration (median of several runs, the runner's way: dist/main as its
// own Node process) and the Cloudflare API calls each step makes. Not a test: it prints a table.
//
//   npm run build && npx tsx scripts/measure-modes.ts [--runs 3] [--delay-ms 3000]
import { parseArgs } from "node:util";
import { bucketName, emulatorInputs } from "../__tests__/helpers/emulator.js";
import { describeStep, type Inputs, runMain, runPost } from "../__tests__/helpers/runner.js";
import { startEmulator } from "../emulator/index.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    "delay-ms": { type: "string", default: "3000" },
  },
});
const runs = Number(values.runs);
const delayMs = Number(values["delay-ms"]);
if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs must be a positive integer");
if (!Number.isFinite(delayMs) || delayMs < 0) throw new Error("--delay-ms must be a number of ms");

interface Sample {
  mainMs: number;
  waitedMs: number | undefined;
  mainCalls: string[];
  postCalls: string[];
}

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : Math.round(((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2);
}

/** "The S3 endpoint accepted the credentials after 3012 ms (13 probes)." */
function reportedWaitMs(stdout: string): number | undefined {
  const match = /accepted the credentials after (\d+) ms/.exec(stdout);
  return match ? Number(match[1]) : undefined;
}

const emulator = await startEmulator({ propagationDelayMs: delayMs, revocationDelayMs: 0, latencyMs: 0 });
try {
  const minter = emulator.seedToken({ scope: "account", preset: "minter" });
  const bucket = bucketName("measure");
  emulator.createBucket(bucket);
  const parent = emulator.seedToken({ scope: "account", preset: "r2-bucket-write", buckets: [bucket] });

  const modes: { label: string; inputs: Inputs }[] = [
    { label: "token", inputs: { permission: "object-read-write" } },
    {
      label: "hybrid (prefixes)",
      inputs: { permission: "object-read-write", prefixes: "pipelines/nightly/" },
    },
    { label: "temporary (verify)", inputs: { mode: "temporary", permission: "object-read-write" } },
    {
      label: "temporary + parent-access-key-id",
      inputs: { mode: "temporary", permission: "object-read-write", "parent-access-key-id": parent.id },
    },
  ];
  const samples = new Map<string, Sample[]>(modes.map((mode) => [mode.label, []]));

  // Interleaved, so that a slow moment of the machine does not fall on one mode only.
  for (let run = 1; run <= runs; run++) {
    for (const mode of modes) {
      const inputs = emulatorInputs(emulator, minter, bucket, mode.inputs);
      emulator.resetCalls();
      const main = await runMain({ inputs, timeoutMs: 120_000 });
      if (main.exitCode !== 0) throw new Error(`${mode.label}: main failed\n${describeStep(main)}`);
      const mainCalls = emulator.calls.map((call) => `${call.route} ${call.status}`);
      emulator.resetCalls();
      const post = await runPost({ inputs, state: main.state, env: main.env });
      if (post.exitCode !== 0) throw new Error(`${mode.label}: post failed\n${describeStep(post)}`);
      const postCalls = emulator.calls.map((call) => `${call.route} ${call.status}`);
      samples.get(mode.label)?.push({
        mainMs: main.durationMs,
        waitedMs: reportedWaitMs(main.stdout),
        mainCalls,
        postCalls,
      });
      process.stderr.write(`run ${run}/${runs} ${mode.label}: main ${main.durationMs} ms\n`);
    }
  }
  if (emulator.liveChildTokens().length > 0) throw new Error("a child token survived its post step");

  const callList = (calls: string[]) =>
    calls.length === 0 ? "0" : `${calls.length} (${calls.map((c) => c.replace(/ 200$/, "")).join(", ")})`;
  const rows = modes.map(({ label }) => {
    const list = samples.get(label) ?? [];
    const first = list[0] as Sample;
    // Every run of a mode made the same calls; say so if not.
    const same = list.every(
      (s) => s.mainCalls.join() === first.mainCalls.join() && s.postCalls.join() === first.postCalls.join(),
    );
    const waits = list.map((s) => s.waitedMs).filter((w): w is number => w !== undefined);
    return [
      label,
      `${median(list.map((s) => s.mainMs))} ms`,
      list.map((s) => s.mainMs).join(", "),
      waits.length > 0 ? `${median(waits)} ms` : "n/a",
      callList(first.mainCalls) + (same ? "" : " (varied)"),
      callList(first.postCalls) + (same ? "" : " (varied)"),
    ];
  });
  const header = [
    "mode",
    `main step, median of ${runs}`,
    "runs (ms)",
    "readiness wait, median",
    "API calls in main",
    "API calls in post",
  ];
  const lines = [header, header.map(() => "---"), ...rows].map((cells) => `| ${cells.join(" | ")} |`);
  console.log(
    `Emulated propagation delay ${delayMs} ms, Node ${process.version}, dist/main and dist/post as runner processes.\n`,
  );
  console.log(lines.join("\n"));
} finally {
  await emulator.close();
}
