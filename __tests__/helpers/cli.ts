/**
 * Runs the bundled CLI (`dist/cli/index.js`) as a real process, the way a person or a script runs
 * `r2-ephemeral-credentials`: a clean environment (PATH, HOME and only what the test passes), stdout
 * and stderr kept apart, spawned asynchronously (the emulator lives in the test process, so a
 * synchronous spawn would deadlock).
 *
 * `runCliInTty` runs it under a pseudo-terminal (`script` from util-linux) with stdout redirected to
 * a file, so stderr is a TTY while stdout stays a plain file: what a person sees in a terminal when
 * they type `r2-ephemeral-credentials mint … > creds.json`.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "vitest";
import { mainScript } from "../../scripts/harness/runner.js";
import { type SpawnResult, spawnWithTimeout } from "../../scripts/harness/spawn.js";
import type { Emulator } from "./emulator.js";

/** The CLI bundle under test (follows R2E_E2E_DIST like the action's bundles). */
export const cliScript = path.join(path.dirname(path.dirname(mainScript)), "cli/index.js");

export interface CliOptions {
  /** Extra environment (CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID, …); nothing else is inherited. */
  env?: Record<string, string>;
  timeoutMs?: number;
  input?: string;
}

export interface CliResult extends SpawnResult {
  args: string[];
}

function requireBundle(): void {
  if (!fs.existsSync(cliScript)) {
    throw new Error(`${cliScript} does not exist: run \`npm run build\` first`);
  }
}

/** The clean environment the CLI gets: no CLOUDFLARE_*, no proxies, no GITHUB_* from the test process. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? os.homedir(),
    LANG: "C.UTF-8",
    ...extra,
  };
}

/** Runs `node dist/cli/index.js <args>` (with the Node that runs the tests: the CLI supports Node 20). */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  requireBundle();
  const result = await spawnWithTimeout(process.execPath, [cliScript, ...args], {
    env: cleanEnv(options.env),
    timeoutMs: options.timeoutMs ?? 30_000,
    input: options.input,
  });
  if (result.timedOut) {
    throw new Error(
      `CLI ${args.join(" ")} did not finish and was killed\n${describeCli({ ...result, args })}`,
    );
  }
  return { ...result, args };
}

/** `CLOUDFLARE_API_TOKEN` and `CLOUDFLARE_ACCOUNT_ID` for the emulator. */
export function cliEnv(emulator: Emulator, token: { value: string }): Record<string, string> {
  return { CLOUDFLARE_API_TOKEN: token.value, CLOUDFLARE_ACCOUNT_ID: emulator.accountId };
}

/** `--api-url` (and for mint `--s3-endpoint`) pointing at the emulator. */
export function apiFlags(emulator: Emulator): string[] {
  return ["--api-url", emulator.apiUrl];
}

export function mintFlags(emulator: Emulator, jurisdiction?: "eu" | "us" | "fedramp"): string[] {
  return [
    ...apiFlags(emulator),
    "--s3-endpoint",
    emulator.s3Endpoint(jurisdiction),
    ...(jurisdiction ? ["--jurisdiction", jurisdiction] : []),
  ];
}

/** `mint ARGS` against the emulator with `token`, expecting success: the outputs it printed as JSON. */
export async function mintOutputs(
  emulator: Emulator,
  token: { value: string },
  args: string[],
): Promise<Record<string, string>> {
  const result = await runCli(["mint", ...args, ...mintFlags(emulator), "--format", "json"], {
    env: cliEnv(emulator, token),
  });
  expect(result.exitCode, describeCli(result)).toBe(0);
  return JSON.parse(result.stdout) as Record<string, string>;
}

/** POSIX single quoting for a shell command line. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The `node dist/cli/index.js …` command line, quoted for sh. */
export function cliCommandLine(args: string[]): string {
  return [process.execPath, cliScript, ...args].map(shellQuote).join(" ");
}

/** Runs `bash -c <script>` with a clean environment (e.g. to `eval "$(r2-ephemeral-credentials …)"`). */
export function runBash(script: string, options: CliOptions = {}): Promise<SpawnResult> {
  return spawnWithTimeout("/bin/bash", ["-c", script], {
    env: cleanEnv(options.env),
    timeoutMs: options.timeoutMs ?? 30_000,
    input: options.input,
  });
}

export interface TtyResult {
  exitCode: number | null;
  /** What the terminal showed (the CLI's stderr, with the terminal's \r\n line ends). */
  terminal: string;
  /** The CLI's stdout, which went to a file. */
  stdout: string;
}

/**
 * Runs the CLI with stderr on a pseudo-terminal and stdout redirected to a file:
 * `script -qec "<cli> > file" /dev/null`. `script -e` returns the CLI's exit code.
 */
export async function runCliInTty(args: string[], options: CliOptions = {}): Promise<TtyResult> {
  requireBundle();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "r2e-cli-tty-"));
  const out = path.join(dir, "stdout");
  try {
    const inner = `${cliCommandLine(args)} > ${shellQuote(out)}`;
    const result = await spawnWithTimeout(
      "/bin/sh",
      ["-c", `exec script -qec ${shellQuote(inner)} /dev/null < /dev/null`],
      { env: cleanEnv({ TERM: "xterm", ...options.env }), timeoutMs: options.timeoutMs ?? 30_000 },
    );
    if (result.timedOut)
      throw new Error(`CLI under script(1) did not finish: ${result.stdout}${result.stderr}`);
    return {
      exitCode: result.exitCode,
      terminal: result.stdout,
      stdout: fs.existsSync(out) ? fs.readFileSync(out, "utf8") : "",
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A readable dump of a CLI run for assertion messages. */
export function describeCli(result: CliResult): string {
  return [
    `r2-ephemeral-credentials ${result.args.join(" ")}: exit ${result.exitCode} in ${result.durationMs} ms`,
    "--- stdout",
    result.stdout,
    "--- stderr",
    result.stderr,
  ].join("\n");
}

export interface RunningCli {
  /** The CLI's process id (its own process group: it is spawned detached). */
  pid: number;
  /** What it printed on stderr so far. */
  stderr(): string;
  /** Writes to its stdin (which stays open until `end`). */
  write(text: string): void;
  /** Sends a signal to the CLI process alone (not to its process group). */
  kill(signal: NodeJS.Signals): void;
  /** Resolves when it exits; kills its process group after `timeoutMs`. */
  done: Promise<CliResult>;
}

/**
 * Starts a command (by default the CLI) and lets the test act while it runs: send it signals, type
 * into it, read its stderr as it comes. For exec, whose behaviour depends on what happens meanwhile.
 */
export function startCli(args: string[], options: CliOptions & { command?: string[] } = {}): RunningCli {
  requireBundle();
  const [file, ...prefix] = options.command ?? [process.execPath, cliScript];
  const child = spawn(file as string, [...prefix, ...args], {
    env: cleanEnv(options.env),
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
  child.stdin.on("error", () => {});
  const started = performance.now();
  const done = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {}
      reject(
        new Error(
          `${args.join(" ")} did not finish within ${options.timeoutMs ?? 30_000} ms\n${Buffer.concat(err).toString()}`,
        ),
      );
    }, options.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (exitCode, signal) => {
      clearTimeout(timer);
      resolve({
        args,
        exitCode,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        durationMs: performance.now() - started,
        timedOut: false,
      });
    });
  });
  return {
    pid: child.pid as number,
    stderr: () => Buffer.concat(err).toString("utf8"),
    write: (text) => child.stdin.write(text),
    kill: (signal) => child.kill(signal),
    done,
  };
}

/** Polls until `check` holds (a file appears, a line is printed), failing after `timeoutMs`. */
export async function waitUntil(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
