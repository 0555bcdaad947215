// `npm run conformance`: the checks behind the emulator's assumptions, against the emulator or, with
// --live, a real Cloudflare account (docs/cloudflare-api.md §9). Ctrl-C (or SIGTERM) stops the run,
// deletes what it created and exits 130 (143).
import { parseCli, USAGE } from "./conformance/args.js";
import { CHECKS } from "./conformance/registry.js";
import { newRunId, runConformance } from "./conformance/run.js";

const cli = parseCli(process.argv.slice(2), process.env);
if (cli.kind === "error") {
  process.stderr.write(`conformance: ${cli.message}\n\n${USAGE}\n`);
  process.exit(2);
}
if (cli.kind === "help") {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (cli.kind === "list") {
  for (const c of CHECKS) process.stdout.write(`${c.id}  ${c.assumption}\n`);
  process.exit(0);
}

const runId = newRunId();
const controller = new AbortController();
let stoppedBy: NodeJS.Signals | undefined;
const EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stoppedBy) {
      process.stderr.write(
        `conformance: ${signal} again: leaving before the clean-up finished. Delete what is left by hand: tokens and buckets named r2e-conformance-${runId}-… (dashboard, or DELETE …/accounts/<id>/tokens/<token id> and …/r2/buckets/<name>).\n`,
      );
      process.exit(EXIT[signal] ?? 1);
    }
    stoppedBy = signal;
    process.stderr.write(`conformance: ${signal}: stopping, then deleting what the run created…\n`);
    controller.abort(new Error(`interrupted by ${signal}`));
  });
}

try {
  const result = await runConformance({
    ...(cli.target ? { target: cli.target } : {}),
    emulatorOptions: cli.emulatorOptions,
    only: cli.only,
    runId,
    signal: controller.signal,
    ...(cli.readyTimeoutMs ? { readyTimeoutMs: cli.readyTimeoutMs } : {}),
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
  process.exitCode = stoppedBy ? (EXIT[stoppedBy] ?? 1) : result.exitCode;
} catch (error) {
  process.stderr.write(
    `conformance: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = stoppedBy ? (EXIT[stoppedBy] ?? 1) : 1;
}
