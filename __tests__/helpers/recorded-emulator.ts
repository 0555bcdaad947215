/**
 * One emulator with the API recorder in front of it and the usual seeded minters: the fixture of
 * the fault, secret-hygiene and load suites. Every job it runs has RUNNER_DEBUG=1 and is checked for
 * secret hygiene (hygiene.ts) with the exact secrets the action received.
 */
import type { EmulatorOptions, SeededToken } from "../../emulator/types.js";
import { type ApiRecorder, startApiRecorder } from "./api-recorder.js";
import { deleteLeftoverChildTokens, type Emulator, emulatorInputs, startQuietEmulator } from "./emulator.js";
import { assertHygiene } from "./hygiene.js";
import { type Inputs, type JobOptions, type JobResult, runJob } from "./runner.js";

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
  job(options: JobOptions): Promise<JobResult>;
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
    async job(options) {
      recorder.reset();
      const job = await runJob({ debug: true, ...options });
      assertHygiene(job, { given: givenToken(options), recorded: recorder.secrets });
      return job;
    },
    cleanUp: () => deleteLeftoverChildTokens(emulator, { account: minter, user: userMinter }),
    async close() {
      await recorder.close();
      await emulator.close();
    },
  };
}
