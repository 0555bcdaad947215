/**
 * One emulator with the API recorder in front of it and the usual seeded minters: the per-test
 * fixture of the fault and load suites, whose tests each want other emulator options (a whole file
 * gets the same with useEmulator({ record: true })). Every job it runs has RUNNER_DEBUG=1 and is
 * checked for secret hygiene (hygiene.ts) with the exact secrets the action received.
 */
import type { CallRecord, EmulatorOptions, SeededToken } from "../../emulator/types.js";
import {
  describeStep,
  type Inputs,
  type JobOptions,
  type JobResult,
  runMain,
  runPost,
  type StepResult,
} from "../../scripts/harness/runner.js";
import { type ApiRecorder, startApiRecorder } from "./api-recorder.js";
import { deleteLeftoverChildTokens, type Emulator, emulatorInputs, startQuietEmulator } from "./emulator.js";
import { assertHygiene, type HygieneOptions } from "./hygiene.js";

export interface RecordedJobOptions extends JobOptions {
  /** Reads what main left behind (files it wrote) before the post step runs; returns hygiene options. */
  afterMain?: (main: StepResult) => Pick<HygieneOptions, "profileFiles">;
}

/** A job with the Cloudflare API calls of each step (the emulator's records, split at post's start). */
export interface RecordedJob extends JobResult {
  mainCalls: CallRecord[];
  postCalls: CallRecord[];
}

export interface RecordedEmulator {
  emulator: Emulator;
  recorder: ApiRecorder;
  /** Account-owned minter (preset "minter"). */
  minter: SeededToken;
  /** User-owned minter (preset "user-minter"). */
  userMinter: SeededToken;
  /** Inputs for the emulator with api-url pointing at the recorder. */
  inputs(bucket: string, overrides?: Inputs, token?: SeededToken): Inputs;
  /**
   * main + post with RUNNER_DEBUG=1, then the hygiene check with the input token (from the inputs or
   * CLOUDFLARE_API_TOKEN) and every secret the recorder saw during the job. Runs must not overlap.
   */
  job(options: JobOptions): Promise<RecordedJob>;
  /** Deletes child tokens still alive (with the seeded minters) and returns their ids. */
  cleanUp(): Promise<string[]>;
  close(): Promise<void>;
}

export function givenToken(options: Pick<JobOptions, "inputs" | "env">): Record<string, string> {
  const input = options.inputs?.["api-token"];
  const env = options.env?.CLOUDFLARE_API_TOKEN;
  const given: Record<string, string> = {};
  if (input && input.trim() !== "") given["api-token input"] = input.trim();
  if (env && env.trim() !== "") given.CLOUDFLARE_API_TOKEN = env.trim();
  return given;
}

/**
 * main + post as runJob runs them, with RUNNER_DEBUG=1, each step's calls split apart, and the
 * hygiene check against the input token and every secret the recorder saw during the job.
 */
export async function recordedJob(
  emulator: Emulator,
  recorder: ApiRecorder,
  options: RecordedJobOptions,
): Promise<RecordedJob> {
  recorder.reset();
  // runJob's sequence (main, then post with main's state and exported env), split so that each
  // step's calls can be told apart.
  const { post: postOverrides, carryEnv = true, afterMain, ...shared } = { debug: true, ...options };
  const before = emulator.calls.length;
  const main = await runMain(shared);
  const extra = afterMain?.(main) ?? {};
  const split = emulator.calls.length;
  const post = await runPost({
    ...shared,
    ...postOverrides,
    inputs: { ...shared.inputs, ...postOverrides?.inputs },
    env: { ...(carryEnv ? main.env : {}), ...shared.env, ...postOverrides?.env },
    state: main.state,
  });
  const job: RecordedJob = {
    main,
    post,
    mainCalls: emulator.calls.slice(before, split),
    postCalls: emulator.calls.slice(split),
  };
  try {
    assertHygiene(job, { given: givenToken(options), recorded: recorder.secrets, ...extra });
  } catch (error) {
    // The emulator's values are fake, so the steps can be shown to explain the finding.
    throw new Error(`${(error as Error).message}\n${describeStep(main)}\n${describeStep(post)}`);
  }
  return job;
}

export async function startRecordedEmulator(options: EmulatorOptions = {}): Promise<RecordedEmulator> {
  const emulator = await startQuietEmulator(options);
  const recorder = await startApiRecorder(emulator.apiUrl);
  const minter = emulator.seedToken({ scope: "account", preset: "minter" });
  const userMinter = emulator.seedToken({ scope: "user", preset: "user-minter" });
  return {
    emulator,
    recorder,
    minter,
    userMinter,
    inputs: (bucket, overrides = {}, token = minter) =>
      emulatorInputs(emulator, token, bucket, { "api-url": recorder.apiUrl, ...overrides }),
    job: (options) => recordedJob(emulator, recorder, options),
    cleanUp: () => deleteLeftoverChildTokens(emulator, { account: minter, user: userMinter }),
    async close() {
      await recorder.close();
      await emulator.close();
    },
  };
}
