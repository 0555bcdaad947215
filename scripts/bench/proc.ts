// Process helpers for the bench. Everything is asynchronous: the emulator lives in this process,
// so a synchronous spawn would stop it from answering (deadlock).
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { repoRoot } from "../harness/runner.js";

export interface Finished {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Date.now() just before spawn() and at the exit event. */
  spawnedAt: number;
  exitedAt: number;
}

/** Runs a command asynchronously; `onStderrLine` sees stderr line by line as it comes. */
export function run(
  command: string,
  args: readonly string[],
  options: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    timeoutMs?: number;
    onStderrLine?: (line: string) => void;
    /** Aborting kills the process group (e.g. the sleeping baseline when the bench fails). */
    signal?: AbortSignal;
  } = {},
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const spawnedAt = Date.now();
    let exitedAt: number | undefined;
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd ?? repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const stdout: Buffer[] = [];
    let stderr = "";
    let partial = "";
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      stderr += text;
      partial += text;
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) options.onStderrLine?.(line);
    });
    const kill = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    const timer = setTimeout(kill, options.timeoutMs ?? 120_000);
    options.signal?.addEventListener("abort", kill, { once: true });
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${command}: ${error.message}`));
    });
    child.on("exit", () => {
      exitedAt = Date.now();
    });
    child.on("close", (exitCode, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", kill);
      if (partial) options.onStderrLine?.(partial);
      resolve({
        exitCode,
        signal,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr,
        spawnedAt,
        exitedAt: exitedAt ?? Date.now(),
      });
    });
  });
}

/** The absolute path of an executable on PATH, or undefined. */
export function which(tool: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, tool);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {}
  }
  return undefined;
}

/** The Node binary the action runs on (node24), chosen the way the runner harness chooses it. */
export function actionNode(): string {
  if (Number(process.versions.node.split(".")[0]) >= 24) return process.execPath;
  const local = path.join(repoRoot, "node_modules/.bin/node");
  if (fs.existsSync(local)) return local;
  throw new Error(`Node ${process.versions.node} runs the bench and ${local} is missing: npm ci`);
}
