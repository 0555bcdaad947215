// Measures each minting mode end to end against the emulator with an emulated propagation delay:
// the main step's wall-clock duration (median of several runs, the runner's way: dist/main as its
// own Node process) and the Cloudflare API calls each step makes. Not a test: it prints a table.
// The measuring loop is shared with `npm run bench` (scripts/bench/modes.ts), which adds API
// latency, overhead, start-up, bundle sizes, a baseline and a burst.
//
//   npx tsx scripts/measure-modes.ts [--runs 3] [--delay-ms 3000]
import { parseArgs } from "node:util";
import { startEmulator } from "../emulator/index.js";
import { benchModes, measureModes, routeList, sameCalls } from "./bench/modes.js";
import { median } from "./bench/stats.js";
import { bucketName } from "./harness/emulator-inputs.js";

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

const emulator = await startEmulator({ propagationDelayMs: delayMs, revocationDelayMs: 0, latencyMs: 0 });
try {
  const minter = emulator.seedToken({ scope: "account", preset: "minter" });
  const bucket = bucketName("measure");
  emulator.createBucket(bucket);
  const parent = emulator.seedToken({ scope: "account", preset: "r2-bucket-write", buckets: [bucket] });
  const modes = benchModes(parent.id);
  const samples = await measureModes({
    emulator,
    minter,
    bucket,
    modes,
    runs,
    progress: (line) => process.stderr.write(`${line}\n`),
  });

  const callList = (calls: Parameters<typeof routeList>[0]) =>
    calls.length === 0 ? "0" : `${calls.length} (${routeList(calls)})`;
  const rows = modes.map(({ label }) => {
    const list = samples.get(label) ?? [];
    const first = list[0];
    if (!first) throw new Error(`${label}: no sample`);
    const varied = sameCalls(list) ? "" : " (varied)";
    const waits = list.map((s) => s.waitedMs).filter((w): w is number => w !== undefined);
    return [
      label,
      `${median(list.map((s) => s.main.wallMs))} ms`,
      list.map((s) => s.main.wallMs).join(", "),
      waits.length > 0 ? `${median(waits)} ms` : "n/a",
      callList(first.main.calls) + varied,
      callList(first.post.calls) + varied,
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
