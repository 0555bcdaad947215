/**
 * A runner in memory for the action's steps run in the test process (runMain, runPost): the
 * ActionIO port (src/io.ts) without @actions/core, recording what a step hands the runner. Inputs
 * get action.yml's defaults and are trimmed, as @actions/core's getInput does on the runner; every
 * call lands in `events`, in order, so a test can check that a value was masked before it was
 * written anywhere.
 *
 * The spawned harness (scripts/harness/runner.ts) checks the same steps as the runner runs them,
 * bundle and file commands included; this one is for the step logic, in milliseconds.
 */

import { actionInputs, type Inputs } from "../../scripts/harness/runner.js";
import type { ActionIO } from "../../src/action/runner.js";

export type RunnerEvent =
  | { kind: "mask"; value: string }
  | { kind: "output" | "env" | "state"; name: string; value: string }
  | { kind: "info" | "warning" | "debug" | "failed" | "summary"; message: string };

export interface FakeRunnerOptions {
  /** Input overrides by their action.yml name; null leaves the input unset (no default either). */
  inputs?: Inputs;
  /** What an earlier step saved (the post step reads it with getState). */
  state?: Record<string, string>;
  /** Answers getIDToken; without it the job has no `id-token: write` and the call throws. */
  idToken?: (audience: string) => Promise<string>;
}

export class FakeRunner implements ActionIO {
  readonly events: RunnerEvent[] = [];
  readonly outputs: Record<string, string> = {};
  readonly exported: Record<string, string> = {};
  /** What this step saved with saveState (the next step's `state`). */
  readonly saved: Record<string, string> = {};
  readonly masks: string[] = [];
  readonly failures: string[] = [];
  readonly summary: string[] = [];
  private readonly inputs: Record<string, string> = {};
  private readonly state: Record<string, string>;
  private readonly idToken: FakeRunnerOptions["idToken"];

  constructor(options: FakeRunnerOptions = {}) {
    for (const input of actionInputs())
      if (input.default !== undefined) this.inputs[input.name] = input.default;
    for (const [name, value] of Object.entries(options.inputs ?? {})) {
      if (!actionInputs().some((input) => input.name === name)) {
        throw new Error(`test bug: input "${name}" is not declared in action.yml`);
      }
      if (value === null || value === undefined) delete this.inputs[name];
      else this.inputs[name] = value;
    }
    this.state = { ...options.state };
    this.idToken = options.idToken;
  }

  /** The messages logged at one level, in order. */
  logs(kind: "info" | "warning" | "debug"): string[] {
    return this.events.flatMap((event) => (event.kind === kind ? [event.message] : []));
  }

  getInput(name: string): string {
    return (this.inputs[name] ?? "").trim();
  }

  getState(name: string): string {
    return this.state[name] ?? "";
  }

  setSecret(value: string): void {
    this.masks.push(value);
    this.events.push({ kind: "mask", value });
  }

  setOutput(name: string, value: string): void {
    this.outputs[name] = value;
    this.events.push({ kind: "output", name, value });
  }

  exportVariable(name: string, value: string): void {
    this.exported[name] = value;
    this.events.push({ kind: "env", name, value });
  }

  saveState(name: string, value: string): void {
    this.saved[name] = value;
    this.events.push({ kind: "state", name, value });
  }

  info(message: string): void {
    this.events.push({ kind: "info", message });
  }

  warning(message: string): void {
    this.events.push({ kind: "warning", message });
  }

  debug(message: string): void {
    this.events.push({ kind: "debug", message });
  }

  setFailed(message: string): void {
    this.failures.push(message);
    this.events.push({ kind: "failed", message });
  }

  getIDToken(audience: string): Promise<string> {
    if (!this.idToken)
      return Promise.reject(new Error("no ID token: the job lacks permissions: id-token: write"));
    return this.idToken(audience);
  }

  async appendSummary(markdown: string): Promise<void> {
    this.summary.push(markdown);
    this.events.push({ kind: "summary", message: markdown });
  }

  /**
   * Index in `events` of the first write (output, exported variable, state, log line, summary) that
   * carries `value`, or -1: a mask must come before it.
   */
  firstWriteOf(value: string): number {
    return this.events.findIndex((event) => {
      if (event.kind === "mask") return false;
      return ("value" in event ? event.value : event.message).includes(value);
    });
  }

  /** Index in `events` of the first mask that covers `value` (the value itself), or -1. */
  maskOf(value: string): number {
    return this.events.findIndex((event) => event.kind === "mask" && event.value === value);
  }
}
