// What the conformance tests share: spawning `npm run conformance` (or the script under node) with an
// environment that can never reach a real Cloudflare account, and reading its verdict lines.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import path from "node:path";
import { type SpawnResult, spawnWithTimeout } from "../../scripts/harness/spawn.js";

export const ROOT = path.resolve(import.meta.dirname, "../..");
const SCRIPT = path.join(ROOT, "scripts/conformance.ts");

/** The test process's environment without any Cloudflare credentials, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith("CLOUDFLARE_")) delete env[name];
  return { ...env, ...extra };
}

/** `node --import tsx scripts/conformance.ts ARGS`: one process, so signals reach the script itself. */
export function runScript(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 90_000): Promise<SpawnResult> {
  return spawnWithTimeout(process.execPath, ["--import", "tsx", SCRIPT, ...args], {
    env,
    cwd: ROOT,
    timeoutMs,
  });
}

export function startScript(args: string[], env: NodeJS.ProcessEnv): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ["--import", "tsx", SCRIPT, ...args], { env, cwd: ROOT });
}

export interface VerdictLine {
  verdict: "confirmed" | "refuted" | "skipped";
  id: string;
  rest: string;
}

/** The verdict lines of a run's output. */
export function verdictLines(stdout: string): VerdictLine[] {
  return stdout
    .split("\n")
    .map((line) => /^(confirmed|refuted|skipped) {2}(\S+) {2}(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ verdict: m[1] as VerdictLine["verdict"], id: m[2] ?? "", rest: m[3] ?? "" }));
}
