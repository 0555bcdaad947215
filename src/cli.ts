#!/usr/bin/env node
import os from "node:os";
import { runCli } from "./cli/run.js";
import { nodeHttpDeps } from "./node-deps.js";
import { runContextFromEnv } from "./run-context.js";

function origin(): string {
  try {
    return `cli ${os.userInfo().username}@${os.hostname()}`;
  } catch {
    return `cli ${os.hostname()}`;
  }
}

process.exitCode = await runCli(process.argv.slice(2), {
  ...(await nodeHttpDeps(process.env)),
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stderrIsTTY: process.stderr.isTTY === true,
  run: runContextFromEnv(process.env),
  origin: origin(),
});
