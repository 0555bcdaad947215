/**
 * exec: mint, run a command with the credentials in its environment, revoke when it ends. The exit
 * status is the command's, so `exec` can stand in front of any command in a script; our own failures
 * before the command starts are 2, never 1, so that the command's own 1 stays distinguishable.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CloudflareClient } from "../../cloudflare/client.js";
import { revokeToken } from "../../cloudflare/tokens.js";
import type { Config } from "../../config.js";
import { ActionError, describeError } from "../../errors.js";
import type { Minted } from "../../mint.js";
import { environmentOf } from "../../outputs.js";
import { type CliDeps, type Command, EXIT, usage, type Values } from "../common.js";
import { mintConfig, mintOptions, mintWithProgress } from "../mint-flags.js";

/** Set in CMD's environment; its presence refuses a nested exec. */
const NESTING_VARIABLE = "R2_EPHEMERAL_CREDENTIALS";
const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
type Forwarded = (typeof FORWARDED)[number];
/**
 * Removed from CMD's environment: a profile would make the SDKs ignore the variables we set, a
 * stale session token would be signed with the new key pair, and CMD gets bucket credentials, not
 * the account token they were minted with.
 */
const REMOVED = [
  "AWS_PROFILE",
  "AWS_DEFAULT_PROFILE",
  "AWS_SESSION_TOKEN",
  "AWS_SECURITY_TOKEN",
  "CLOUDFLARE_API_TOKEN",
] as const;

function childEnvironment(
  minted: Minted,
  inherited: Record<string, string | undefined>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(inherited)) if (value !== undefined) env[name] = value;
  for (const name of REMOVED) delete env[name];
  const aws = environmentOf(minted, inherited);
  if (aws.AWS_SESSION_TOKEN === "") delete aws.AWS_SESSION_TOKEN;
  return { ...env, ...aws, [NESTING_VARIABLE]: "1" };
}

/**
 * Whether this process is in the foreground process group of its terminal: there a Ctrl-C reaches
 * CMD by itself (the terminal signals the whole group), and forwarding it would deliver it twice.
 * Linux tells through /proc; elsewhere a terminal on stdin is the best guess.
 */
function terminalSignalsChild(): boolean {
  try {
    const stat = fs.readFileSync("/proc/self/stat", "utf8");
    const [, , pgrp, , ttyNr, tpgid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ttyNr !== "0" && pgrp === tpgid;
  } catch {
    return process.stdin.isTTY === true;
  }
}

/** Whether `file` names something that exists: as a path when it has a slash, else in a PATH directory. */
function findsSomething(file: string, searchPath: string): boolean {
  const exists = (candidate: string) => {
    try {
      fs.statSync(candidate);
      return true;
    } catch {
      return false;
    }
  };
  if (file.includes("/")) return exists(file);
  return searchPath.split(":").some((dir) => exists(path.join(dir || ".", file)));
}

type Ended =
  | { kind: "exited"; status: number; how: string }
  | { kind: "not-started"; status: number; how: string };

/** Runs CMD with the terminal handed over (stdio inherited) and resolves when it is gone, however it went. */
function runChild(
  command: string[],
  env: Record<string, string>,
  started: (child: ChildProcess) => void,
): Promise<Ended> {
  const [file, ...args] = command as [string, ...string[]];
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: "inherit", env });
    started(child);
    child.on("error", (error: NodeJS.ErrnoException) => {
      // Shells' conventions: 127 when there is nothing to run, 126 when it is there but cannot run.
      // The error code alone cannot tell: execvp reports EACCES for a name found nowhere when one
      // directory of PATH could not be searched, so look for the file the way a shell does.
      const missing = !findsSomething(file, env.PATH ?? "");
      resolve({
        kind: "not-started",
        status: missing ? 127 : 126,
        how: missing ? "command not found" : `cannot be run (${error.code ?? error.message})`,
      });
    });
    child.on("exit", (code, signal) => {
      if (signal) {
        const number = os.constants.signals[signal] ?? 0;
        resolve({ kind: "exited", status: 128 + number, how: `was killed by ${signal}` });
      } else {
        resolve({ kind: "exited", status: code ?? 0, how: `exited with ${code ?? 0}` });
      }
    });
  });
}

/** Gives back what was minted: revokes the child token, or says when temporary credentials expire. */
async function release(
  config: Config,
  minted: Minted,
  deps: CliDeps,
  say: (m: string) => void,
): Promise<void> {
  if (!minted.tokenId) {
    say(`Temporary credentials cannot be revoked; they expire at ${minted.expiresAt}.`);
    return;
  }
  const client = new CloudflareClient({ apiUrl: config.apiUrl, deps, log: say });
  try {
    const outcome = await revokeToken(
      client,
      { scope: config.tokenScope, accountId: config.accountId, token: config.apiToken },
      minted.tokenId,
    );
    say(
      outcome === "deleted"
        ? `Revoked token ${minted.tokenId}.`
        : `Token ${minted.tokenId} was already gone.`,
    );
  } catch (error) {
    // Never hidden by --quiet: a token that outlives CMD is something the user must know about.
    deps.stderr(
      `warning: could not revoke token ${minted.tokenId}: ${describeError(error, "cli")} It expires at ${minted.expiresAt}; delete it with 'r2-ephemeral-credentials revoke --token-id ${minted.tokenId}'.\n`,
    );
  }
}

/** Sleeps that end early, with an error, once a signal asked to stop before CMD started. */
function interruptible() {
  let interrupted: Forwarded | undefined;
  const waiting = new Set<() => void>();
  return {
    get signal() {
      return interrupted;
    },
    interrupt(signal: Forwarded) {
      interrupted ??= signal;
      for (const wake of waiting) wake();
    },
    sleep: (ms: number) =>
      new Promise<void>((resolve, reject) => {
        const stop = () => {
          clearTimeout(timer);
          waiting.delete(stop);
          reject(new ActionError("input", `Interrupted by ${interrupted} before the command started.`));
        };
        if (interrupted) return stop();
        const timer = setTimeout(() => {
          waiting.delete(stop);
          resolve();
        }, ms);
        waiting.add(stop);
      }),
  };
}

async function run(values: Values, deps: CliDeps): Promise<number> {
  const command = values["--"];
  if (!Array.isArray(command) || command.length === 0 || command[0] === "") {
    throw usage(
      "exec needs a command after --: r2-ephemeral-credentials exec --bucket NAME [flags] -- CMD [ARGS…].",
    );
  }
  if (deps.env[NESTING_VARIABLE]) {
    throw usage(
      `exec is already running inside r2-ephemeral-credentials exec (${NESTING_VARIABLE} is set): a nested exec would mint a second token on top of the credentials this shell already has.`,
      `Run the command directly, or leave the outer exec first (or unset ${NESTING_VARIABLE} if it was set by hand).`,
    );
  }
  const quiet = values.quiet === true;
  const say = (m: string) => {
    if (!quiet) deps.stderr(`${m}\n`);
  };
  const stop = interruptible();
  let child: ChildProcess | undefined;
  const onSignal = (signal: Forwarded) => {
    if (!child) return stop.interrupt(signal);
    if (signal === "SIGINT" && terminalSignalsChild()) return;
    child.kill(signal);
  };
  for (const signal of FORWARDED) process.on(signal, onSignal);
  try {
    let config: Config;
    let minted: Minted;
    try {
      config = mintConfig(values, deps.env);
      minted = await mintWithProgress(config, deps, quiet, stop.sleep);
    } catch (error) {
      deps.stderr(`error: ${describeError(error, "cli")}\n`);
      return stop.signal ? 128 + (os.constants.signals[stop.signal] ?? 0) : EXIT.usage;
    }
    try {
      if (stop.signal) {
        say(`Interrupted by ${stop.signal} before ${command[0]} started.`);
        return 128 + (os.constants.signals[stop.signal] ?? 0);
      }
      say(
        `Running ${command[0]} with ${minted.mode}-mode credentials for ${minted.buckets.join(", ")}${minted.tokenId ? ` (token ${minted.tokenId})` : ""}, expiring at ${minted.expiresAt}.`,
      );
      const ended = await runChild(command, childEnvironment(minted, deps.env), (c) => {
        child = c;
      });
      if (ended.kind === "not-started") deps.stderr(`error: ${command[0]}: ${ended.how}.\n`);
      else say(`${command[0]} ${ended.how}.`);
      return ended.status;
    } finally {
      await release(config, minted, deps, say);
    }
  } finally {
    for (const signal of FORWARDED) process.off(signal, onSignal);
  }
}

export const execCommand: Command = {
  options: mintOptions,
  takesCommand: true,
  run,
};
