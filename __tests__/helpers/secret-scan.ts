/**
 * Checks what a step printed and wrote against a list of secrets, the way the GitHub runner would
 * expose them:
 *
 * - stdout: a secret may only be printed after the runner was told to mask it (`::add-mask::` of
 *   the whole value, or of each of its lines for a multi-line value). Printing it before its mask
 *   is a leak. The add-mask lines themselves are consumed by the runner and never shown.
 *   With `strict` (the default for the post step) it must not be printed at all, masked or not.
 *   `::error::` / `::warning::` / `::notice::` lines must never carry a secret.
 * - stderr: no ordering is possible against stdout, so a secret never appears there.
 * - GITHUB_STATE, the job summary and GITHUB_PATH never carry a secret.
 * - GITHUB_OUTPUT and GITHUB_ENV may, but (when the run was traced with `traceFileWrites`) only
 *   after the secret was masked.
 * - `requireMask` (default true for main): every secret was masked at some point in main's stdout.
 */
import type { JobResult, StepResult } from "../../scripts/harness/runner.js";
import { unescapeCommandData } from "../../scripts/harness/runner.js";

export type Secrets = string[] | Record<string, string>;

export interface SecretScanOptions {
  /** Forbid the secret in stdout even after its mask (default: false for main, true for post). */
  strict?: boolean;
  /** Require an `::add-mask::` for every secret in main's stdout (default true). */
  requireMask?: boolean;
}

interface Secret {
  label: string;
  value: string;
  lines: string[];
}

function normalise(secrets: Secrets): Secret[] {
  const entries = Array.isArray(secrets)
    ? secrets.map((value, index) => [`secret #${index + 1}`, value] as const)
    : Object.entries(secrets);
  return entries.map(([label, value]) => {
    if (typeof value !== "string" || value.trim() === "") {
      throw new Error(`secretScan: ${label} is empty; a test must pass the real secret value`);
    }
    return { label, value, lines: value.split(/\r?\n/).filter((line) => line.trim() !== "") };
  });
}

function isStep(result: StepResult | JobResult): result is StepResult {
  return "stdout" in result;
}

/** Problems found in one step (empty when clean). */
export function findSecretLeaks(
  step: StepResult,
  secrets: Secrets,
  options: SecretScanOptions = {},
): string[] {
  const list = normalise(secrets);
  const strict = options.strict ?? step.script === "post";
  const requireMask = options.requireMask ?? step.script === "main";
  const problems: string[] = [];
  const masked = new Set<string>();
  const isMasked = (secret: Secret, line: string) => masked.has(secret.value) || masked.has(line);

  const stdoutLines = step.stdout.split(/\r?\n/);
  stdoutLines.forEach((line, index) => {
    const where = `${step.script} stdout line ${index + 1}`;
    const mask = /^::add-mask::(.*)$/.exec(line);
    if (mask) {
      const value = unescapeCommandData(mask[1] as string);
      masked.add(value);
      for (const part of value.split(/\r?\n/)) if (part.trim() !== "") masked.add(part);
      return;
    }
    const trace = /^##trace-file-write (\S+) (\S+)$/.exec(line);
    if (trace) {
      const kind = trace[1] as string;
      const values =
        kind === "output" ? step.outputs : kind === "env" ? step.env : kind === "state" ? step.state : {};
      for (const name of (trace[2] as string).split(",")) {
        const value = values[name];
        if (value === undefined) continue;
        for (const secret of list) {
          for (const secretLine of secret.lines) {
            if (value.includes(secretLine) && !isMasked(secret, secretLine)) {
              problems.push(`${where}: ${kind} "${name}" carries ${secret.label} before its ::add-mask::`);
            }
          }
        }
      }
      return;
    }
    const annotation = /^::(error|warning|notice)(?: [^:]*)?::/.test(line);
    for (const secret of list) {
      for (const secretLine of secret.lines) {
        if (!line.includes(secretLine)) continue;
        if (!isMasked(secret, secretLine)) {
          problems.push(`${where}: ${secret.label} printed before its ::add-mask::`);
        } else if (annotation) {
          problems.push(`${where}: ${secret.label} inside an annotation (${line.slice(0, 12)}…)`);
        } else if (strict) {
          problems.push(`${where}: ${secret.label} printed (even masked, it must not be)`);
        }
      }
    }
  });

  for (const secret of list) {
    if (requireMask && !secret.lines.every((line) => isMasked(secret, line))) {
      problems.push(`${step.script} stdout: ${secret.label} was never masked with ::add-mask::`);
    }
    for (const secretLine of secret.lines) {
      if (step.stderr.includes(secretLine)) problems.push(`${step.script} stderr carries ${secret.label}`);
      if (step.files.raw.state.includes(secretLine))
        problems.push(`${step.script} GITHUB_STATE carries ${secret.label}`);
      if (step.files.raw.summary.includes(secretLine)) {
        problems.push(`${step.script} job summary carries ${secret.label}`);
      }
      if (step.files.raw.path.includes(secretLine))
        problems.push(`${step.script} GITHUB_PATH carries ${secret.label}`);
    }
  }
  return [...new Set(problems)];
}

/**
 * Asserts that no secret leaks from a step or from both steps of a job (see the module comment).
 * The error names the secret by its label and the place, never by its value.
 */
export function secretScan(
  result: StepResult | JobResult,
  secrets: Secrets,
  options: SecretScanOptions = {},
): void {
  const steps = isStep(result) ? [result] : [result.main, result.post];
  const problems = steps.flatMap((step) => findSecretLeaks(step, secrets, options));
  if (problems.length > 0) throw new Error(`secret leak:\n  ${problems.join("\n  ")}`);
}
