/**
 * The emulator of one test file, its lifecycle in the file's hooks:
 *
 * - before the first test: started quiet (startQuietEmulator, then the given options), the buckets
 *   created, the minters seeded (and, with `record`, the API recorder started in front of it);
 * - before each test: no faults, the settings the file started with (propagation and revocation
 *   delays, latency, rate limit, tempCredentialCallers, tempAccessKeyId, assumptions), an empty call
 *   log, so a test that changes them cannot leak into the next;
 * - after each test: child tokens still alive are deleted with the seeded minters and, by default,
 *   fail the test (every token the action mints must be revoked by its post step);
 * - after the last test: closed.
 *
 *   const emu = useEmulator({ propagationDelayMs: 500, minters: ["account", "user"] });
 *   test("…", async () => {
 *     const main = await runMain({ inputs: emulatorInputs(emu.emulator, emu.minter, bucket) });
 *
 * Call it at the top of the file, before the file's own hooks: vitest runs beforeAll hooks in the
 * order they were registered and afterAll hooks in reverse (`sequence.hooks: "stack"`), so the
 * file's own fixtures can use the emulator when they start and are stopped before it closes.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";
import {
  DEFAULT_ASSUMPTIONS,
  DEFAULT_TEMP_ACCESS_KEY_ID,
  DEFAULT_TEMP_CREDENTIAL_CALLERS,
} from "../../emulator/assumptions.js";
import type {
  Emulator,
  EmulatorOptions,
  Jurisdiction,
  SeededToken,
  SettableOptions,
} from "../../emulator/types.js";
import type { Inputs } from "../../scripts/harness/runner.js";
import { type ApiRecorder, startApiRecorder } from "./api-recorder.js";
import { deleteLeftoverChildTokens, emulatorInputs, startQuietEmulator } from "./emulator.js";
import { type RecordedJob, type RecordedJobOptions, recordedJob } from "./recorded-emulator.js";

/** A minter to seed (preset "minter" for account, "user-minter" for user), with a name if it matters. */
export type MinterSpec = "account" | "user" | { scope: "account" | "user"; name: string };

export interface UseEmulatorOptions extends EmulatorOptions {
  /** Default ["account"]. Seeded in this order, after the buckets. */
  minters?: MinterSpec[];
  /** Buckets to create before the minters are seeded: names, or [name, jurisdiction]. */
  buckets?: (string | [string, Jurisdiction])[];
  /**
   * Child tokens alive after a test: "fail" (default) deletes them and fails the test; "delete" only
   * deletes them (suites whose tests leave children on purpose, e.g. the CLI, which has no post
   * step); "keep" leaves them (suites that count or sweep tokens across tests).
   */
  leftovers?: "fail" | "delete" | "keep";
  /** Puts the API recorder (api-recorder.ts) in front: `recorder`, `job()`, and `inputs()` through it. */
  record?: boolean;
}

export interface EmulatorFixture {
  readonly emulator: Emulator;
  /** The seeded account minter. */
  readonly minter: SeededToken;
  /** The seeded user minter. */
  readonly userMinter: SeededToken;
  /** The action's inputs for this emulator (through the recorder with `record`), minting with `token`. */
  inputs(bucket: string, overrides?: Inputs, token?: SeededToken): Inputs;
  /** Deletes child tokens still alive (with the seeded minters) and returns their ids. */
  cleanUp(): Promise<string[]>;
}

export interface RecordedFixture extends EmulatorFixture {
  readonly recorder: ApiRecorder;
  /** main + post with RUNNER_DEBUG=1 and the secret-hygiene check (recorded-emulator.ts's recordedJob). */
  job(options: RecordedJobOptions): Promise<RecordedJob>;
}

/** What every test starts with unless the file says otherwise: the emulator's defaults, quiet. */
const TEST_SETTINGS = {
  propagationDelayMs: 0,
  revocationDelayMs: 0,
  latencyMs: 0,
  rateLimit: undefined,
  tempCredentialCallers: DEFAULT_TEMP_CREDENTIAL_CALLERS,
  tempAccessKeyId: DEFAULT_TEMP_ACCESS_KEY_ID,
  assumptions: { ...DEFAULT_ASSUMPTIONS },
  clockOffsetMs: 0,
} satisfies SettableOptions;

const SETTABLE = Object.keys(TEST_SETTINGS) as (keyof SettableOptions)[];

export function useEmulator(options: UseEmulatorOptions & { record: true }): RecordedFixture;
export function useEmulator(options?: UseEmulatorOptions): EmulatorFixture;
export function useEmulator(options: UseEmulatorOptions = {}): RecordedFixture {
  const {
    minters = ["account"],
    buckets = [],
    leftovers = "fail",
    record = false,
    ...startOptions
  } = options;
  const settings: SettableOptions = { ...TEST_SETTINGS };
  for (const name of SETTABLE) {
    if (name in startOptions) Object.assign(settings, { [name]: startOptions[name] });
  }
  // The file's assumptions on top of the defaults: each test starts with the whole set again.
  settings.assumptions = { ...DEFAULT_ASSUMPTIONS, ...startOptions.assumptions };

  let emulator: Emulator | undefined;
  let recorder: ApiRecorder | undefined;
  const seeded: { account?: SeededToken; user?: SeededToken } = {};

  const started = (): Emulator => {
    if (!emulator)
      throw new Error("useEmulator: the emulator starts in beforeAll; use it in hooks and tests");
    return emulator;
  };
  const minterOf = (scope: "account" | "user"): SeededToken => {
    started();
    const token = seeded[scope];
    if (!token) throw new Error(`useEmulator: no ${scope} minter was seeded (add "${scope}" to minters)`);
    return token;
  };
  const recording = (): ApiRecorder => {
    started();
    if (!recorder) throw new Error("useEmulator: no API recorder (pass record: true)");
    return recorder;
  };
  const cleanUp = () => deleteLeftoverChildTokens(started(), seeded);

  beforeAll(async () => {
    emulator = await startQuietEmulator(startOptions);
    for (const bucket of buckets) {
      if (typeof bucket === "string") emulator.createBucket(bucket);
      else emulator.createBucket(...bucket);
    }
    for (const spec of minters) {
      const { scope, name } = typeof spec === "string" ? { scope: spec, name: undefined } : spec;
      if (seeded[scope]) throw new Error(`useEmulator: two ${scope} minters`);
      const preset = scope === "account" ? "minter" : "user-minter";
      seeded[scope] = emulator.seedToken({ scope, preset, ...(name === undefined ? {} : { name }) });
    }
    if (record) recorder = await startApiRecorder(emulator.apiUrl);
  });

  afterAll(async () => {
    await recorder?.close();
    await emulator?.close();
  });

  beforeEach(() => {
    const emu = started();
    emu.clearFaults();
    emu.set(settings);
    emu.resetCalls();
  });

  if (leftovers !== "keep") {
    afterEach(async () => {
      // A fault the test left must not refuse the clean-up's own deletes.
      started().clearFaults();
      const left = await cleanUp();
      if (leftovers === "fail") expect(left, "child tokens left alive by the test").toEqual([]);
    });
  }

  return {
    get emulator() {
      return started();
    },
    get minter() {
      return minterOf("account");
    },
    get userMinter() {
      return minterOf("user");
    },
    get recorder() {
      return recording();
    },
    inputs(bucket, overrides = {}, token = minterOf("account")) {
      const through = recorder ? { "api-url": recorder.apiUrl } : {};
      return emulatorInputs(started(), token, bucket, { ...through, ...overrides });
    },
    job: (jobOptions) => recordedJob(started(), recording(), jobOptions),
    cleanUp,
  };
}
