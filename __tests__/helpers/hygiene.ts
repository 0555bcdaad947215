/**
 * Secret hygiene for any end-to-end run, on top of secret-scan.ts (which does the per-line checks):
 *
 * - every secret the action was given (input token) or received (child token value, temporary secret
 *   and session token, as seen by api-recorder.ts) must be masked by main and never leak (stdout
 *   before its mask, stderr, state, summary, annotations, post output);
 * - the derived S3 secret (sha256 of a child value) must be masked when main outputs it (token mode)
 *   and otherwise never appear at all (hybrid mode, where the child stays inside the process);
 * - the input token and child token values never reach GITHUB_OUTPUT or GITHUB_ENV;
 * - anything shaped like a secret (an emulator token value `cfat_…`/`cfut_…`, 64 hex characters, a
 *   long base64 run) that is not one of the above is checked as an unknown secret: it must not be
 *   printed unmasked, nor appear in state, summary or stderr. This catches values the test did not
 *   know about (another run's token, an orphan's value).
 */
import { createHash } from "node:crypto";
import type { JobResult, StepResult } from "../../scripts/harness/runner.js";
import type { RecordedSecret } from "./api-recorder.js";
import { findSecretLeaks } from "./secret-scan.js";

export interface HygieneOptions {
  /** Secrets the test handed to the action (label → value), e.g. the input token. Main must mask them. */
  given?: Record<string, string>;
  /** Secrets the recorder saw during this run (filter them to the run first when runs overlap). */
  recorded?: readonly RecordedSecret[];
  /**
   * The AWS files of the aws-profile input as main left them. The credentials file may carry only
   * what main published (secret-access-key, session-token), written after their masks; the config
   * file carries no secret at all.
   */
  profileFiles?: { config: string; credentials: string };
}

const TOKEN_VALUE = /cf[au]t_[A-Za-z0-9]{40}[0-9a-f]{8}/g;
const HEX64 = /(?<![0-9a-fA-F])[0-9a-f]{64}(?![0-9a-fA-F])/g;
const LONG_BASE64 = /[A-Za-z0-9+/]{100,}={0,2}/g;

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

function stepsOf(result: StepResult | JobResult): StepResult[] {
  return "stdout" in result ? [result] : [result.main, result.post];
}

/** Secret-shaped strings anywhere a step wrote (except the ::add-mask:: lines themselves). */
function secretShapedValues(step: StepResult): Set<string> {
  const stdout = step.stdout
    .split(/\r?\n/)
    .filter((line) => !line.startsWith("::add-mask::"))
    .join("\n");
  const texts = [
    stdout,
    step.stderr,
    step.files.raw.state,
    step.files.raw.summary,
    step.files.raw.path,
    step.files.raw.output,
    step.files.raw.env,
  ];
  const found = new Set<string>();
  for (const text of texts) {
    for (const pattern of [TOKEN_VALUE, HEX64, LONG_BASE64]) {
      for (const match of text.matchAll(pattern)) {
        // Random values use many distinct characters; "aaaa…" (a hostile bucket name) is no secret.
        if (new Set(match[0]).size >= 10) found.add(match[0]);
      }
    }
  }
  return found;
}

/** Every problem found (empty when clean). */
export function hygieneProblems(result: StepResult | JobResult, options: HygieneOptions = {}): string[] {
  const steps = stepsOf(result);
  const main = steps.find((step) => step.script === "main");
  const mustMask: Record<string, string> = {};
  const neverShown: Record<string, string> = {};
  const neverOutput: Record<string, string> = {};

  for (const [label, value] of Object.entries(options.given ?? {})) {
    if (value.trim() === "") continue;
    mustMask[label] = value;
    neverOutput[label] = value;
  }
  const outputSecret = main?.outputs["secret-access-key"];
  for (const secret of options.recorded ?? []) {
    const label = `${secret.kind} of ${secret.id}`;
    mustMask[label] = secret.value;
    if (secret.kind === "child-token-value") {
      neverOutput[label] = secret.value;
      const derived = sha256Hex(secret.value);
      if (derived === outputSecret) mustMask[`derived secret access key of ${secret.id}`] = derived;
      else neverShown[`derived secret access key of ${secret.id}`] = derived;
    }
  }
  // What main published is a secret too, whether or not the recorder saw where it came from.
  if (main) {
    for (const name of ["secret-access-key", "session-token"]) {
      const value = main.outputs[name];
      if (value && !Object.values(mustMask).includes(value)) mustMask[`${name} output`] = value;
    }
  }

  const known = new Set([...Object.values(mustMask), ...Object.values(neverShown)]);
  let unknownCount = 0;
  for (const step of steps) {
    for (const value of secretShapedValues(step)) {
      if (known.has(value)) continue;
      // A fragment of a known secret (e.g. a multi-line value's line) is covered by that secret.
      if ([...known].some((secret) => secret.includes(value))) continue;
      unknownCount += 1;
      known.add(value);
      neverShown[`unknown secret-shaped value #${unknownCount} (${value.slice(0, 6)}…)`] = value;
    }
  }

  const problems: string[] = [];
  if (options.profileFiles && main) problems.push(...profileProblems(main, options.profileFiles, known));
  for (const step of steps) {
    if (Object.keys(mustMask).length > 0) problems.push(...findSecretLeaks(step, mustMask));
    if (Object.keys(neverShown).length > 0) {
      problems.push(...findSecretLeaks(step, neverShown, { requireMask: false }));
    }
    for (const [label, value] of Object.entries(neverOutput)) {
      for (const line of value.split(/\r?\n/).filter((l) => l.trim() !== "")) {
        if (step.files.raw.output.includes(line))
          problems.push(`${step.script} GITHUB_OUTPUT carries ${label}`);
        if (step.files.raw.env.includes(line)) problems.push(`${step.script} GITHUB_ENV carries ${label}`);
      }
    }
  }
  return [...new Set(problems)];
}

/** The aws-profile files: see HygieneOptions.profileFiles. `known` holds every secret of the run. */
function profileProblems(
  main: StepResult,
  files: { config: string; credentials: string },
  known: Set<string>,
): string[] {
  const problems: string[] = [];
  const published = ["secret-access-key", "session-token"]
    .map((name) => main.outputs[name])
    .filter((value): value is string => !!value);
  const shaped = (text: string) =>
    [TOKEN_VALUE, HEX64, LONG_BASE64].flatMap((pattern) => [...text.matchAll(pattern)].map((m) => m[0]));
  for (const value of [...known, ...shaped(files.config)]) {
    if (files.config.includes(value))
      problems.push(`the AWS config file carries a secret (${value.slice(0, 6)}…)`);
  }
  for (const value of [...known, ...shaped(files.credentials)]) {
    if (!files.credentials.includes(value) || published.includes(value)) continue;
    problems.push(`the AWS credentials file carries a secret main did not publish (${value.slice(0, 6)}…)`);
  }
  const lines = main.stdout.split(/\r?\n/);
  const write = lines.findIndex((line) => line.startsWith("##trace-file-write aws-credentials"));
  if (write < 0)
    return [...problems, "main did not write the AWS credentials file (run it with traceFileWrites)"];
  const masked = new Set(lines.slice(0, write).map((line) => /^::add-mask::(.*)$/.exec(line)?.[1]));
  for (const value of published) {
    if (!files.credentials.includes(value))
      problems.push("the AWS credentials file lacks a published secret");
    if (!masked.has(value))
      problems.push("the AWS credentials file was written before a secret's ::add-mask::");
  }
  return problems;
}

/** Throws with every leak found, naming secrets by label (never by value). */
export function assertHygiene(result: StepResult | JobResult, options: HygieneOptions = {}): void {
  const problems = hygieneProblems(result, options);
  if (problems.length > 0) throw new Error(`secret hygiene:\n  ${problems.join("\n  ")}`);
}
