// Per-mode measurement: each run is dist/main then dist/post as separate Node processes (the
// runner's way, via the e2e harness), with the emulator recording every Cloudflare API call of each
// step. Used by `npm run bench`.

import type { CallRecord, Emulator, SeededToken } from "../../emulator/index.js";
import { emulatorInputs } from "../harness/emulator-inputs.js";
import { describeStep, type Inputs, runMain, runPost } from "../harness/runner.js";

export interface ModeSpec {
  label: string;
  inputs: Inputs;
}

/** The four ways of minting: token, hybrid (prefixes), temporary (verify), temporary with a parent id. */
export function benchModes(parentAccessKeyId: string): ModeSpec[] {
  return [
    { label: "token", inputs: { permission: "object-read-write" } },
    {
      label: "hybrid (prefixes)",
      inputs: { permission: "object-read-write", prefixes: "pipelines/nightly/" },
    },
    { label: "temporary (verify)", inputs: { mode: "temporary", permission: "object-read-write" } },
    {
      label: "temporary + parent-access-key-id",
      inputs: {
        mode: "temporary",
        permission: "object-read-write",
        "parent-access-key-id": parentAccessKeyId,
      },
    },
  ];
}

export interface StepSample {
  wallMs: number;
  /** Cloudflare API calls of this step only (S3 requests are recorded apart and not included). */
  calls: CallRecord[];
}

export interface ModeSample {
  main: StepSample;
  post: StepSample;
  /** What main reported: "accepted the credentials after N ms". */
  waitedMs: number | undefined;
}

function reportedWaitMs(stdout: string): number | undefined {
  const match = /accepted the credentials after (\d+) ms/.exec(stdout);
  return match ? Number(match[1]) : undefined;
}

/**
 * Sequential round trips among a step's calls: calls are in arrival order, and a call that arrives
 * before the first call of the current group could have been answered (arrival + latency) was sent
 * in parallel with it, so it joins that group. With no latency, every call counts.
 */
export function roundTrips(calls: readonly CallRecord[], latencyMs: number): number {
  let trips = 0;
  let groupStart = Number.NEGATIVE_INFINITY;
  for (const call of [...calls].sort((a, b) => a.at - b.at)) {
    if (latencyMs <= 0 || call.at >= groupStart + latencyMs) {
      trips += 1;
      groupStart = call.at;
    }
  }
  return trips;
}

/** "tokens.create, r2.temp_credentials" (statuses other than 200 shown). */
export function routeList(calls: readonly CallRecord[]): string {
  if (calls.length === 0) return "none";
  return calls.map((c) => (c.status === 200 ? c.route : `${c.route} ${c.status}`)).join(", ");
}

/** Whether every run of a mode made the same calls as the first one. */
export function sameCalls(samples: readonly ModeSample[]): boolean {
  const key = (s: ModeSample) =>
    `${s.main.calls.map((c) => `${c.route} ${c.status}`).join()}|${s.post.calls.map((c) => `${c.route} ${c.status}`).join()}`;
  const first = samples[0];
  return first === undefined || samples.every((s) => key(s) === key(first));
}

/**
 * `runs` rounds over `modes`, interleaved (a slow moment of the machine does not fall on one mode
 * only). Throws if a step fails or a child token outlives its post step.
 */
export async function measureModes(options: {
  emulator: Emulator;
  minter: SeededToken;
  bucket: string;
  modes: readonly ModeSpec[];
  runs: number;
  progress?: (line: string) => void;
}): Promise<Map<string, ModeSample[]>> {
  const { emulator, minter, bucket, modes, runs } = options;
  const samples = new Map<string, ModeSample[]>(modes.map((mode) => [mode.label, []]));
  for (let run = 1; run <= runs; run++) {
    for (const mode of modes) {
      const inputs = emulatorInputs(emulator, minter, bucket, mode.inputs);
      emulator.resetCalls();
      const main = await runMain({ inputs, timeoutMs: 120_000 });
      if (main.exitCode !== 0) throw new Error(`${mode.label}: main failed\n${describeStep(main)}`);
      const mainCalls = [...emulator.calls];
      emulator.resetCalls();
      const post = await runPost({ inputs, state: main.state, env: main.env, timeoutMs: 120_000 });
      if (post.exitCode !== 0) throw new Error(`${mode.label}: post failed\n${describeStep(post)}`);
      const postCalls = [...emulator.calls];
      samples.get(mode.label)?.push({
        main: { wallMs: main.durationMs, calls: mainCalls },
        post: { wallMs: post.durationMs, calls: postCalls },
        waitedMs: reportedWaitMs(main.stdout),
      });
      options.progress?.(
        `run ${run}/${runs} ${mode.label}: main ${main.durationMs} ms, post ${post.durationMs} ms`,
      );
    }
  }
  const left = emulator.liveChildTokens();
  if (left.length > 0) throw new Error(`${left.length} child token(s) survived their post step`);
  return samples;
}
