import { spawn } from "node:child_process";

export interface SpawnResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** From spawn to process exit, in milliseconds. */
  durationMs: number;
  /** True when the process was killed because it ran past `timeoutMs`. */
  timedOut: boolean;
}

export interface SpawnOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the process (and its process group) after this many milliseconds. */
  timeoutMs?: number;
  input?: string;
}

/**
 * Spawns a process asynchronously (the emulator lives in the test process, so a synchronous spawn
 * would deadlock), collects its output and kills its whole process group if it hangs.
 */
export function spawnWithTimeout(
  command: string,
  args: string[],
  options: SpawnOptions,
): Promise<SpawnResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let exitedAt: number | undefined;
    let timedOut = false;
    const child = spawn(command, args, {
      env: options.env,
      cwd: options.cwd,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${command}: ${error.message}`));
    });
    child.on("exit", () => {
      exitedAt = performance.now();
    });
    child.on("close", (exitCode, signal) => {
      clearTimeout(timer);
      resolve({
        exitCode,
        signal,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
        durationMs: Math.round((exitedAt ?? performance.now()) - started),
        timedOut,
      });
    });
  });
}
