#!/usr/bin/env node
import os from "node:os";
import { describeError } from "../errors.js";
import { nodeHttpDeps } from "../node/http.js";
import { runContextFromEnv } from "../run-context.js";
import { runCli } from "./run.js";

function origin(): string {
  try {
    return `cli ${os.userInfo().username}@${os.hostname()}`;
  } catch {
    return `cli ${os.hostname()}`;
  }
}

// No top-level await: see main.ts.
void nodeHttpDeps(process.env)
  .then((http) =>
    runCli(process.argv.slice(2), {
      ...http,
      env: process.env,
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      stderrIsTTY: process.stderr.isTTY === true,
      run: runContextFromEnv(process.env),
      origin: origin(),
    }),
  )
  .then((code) => {
    process.exitCode = code;
  })
  // runCli reports its own failures; this turns one before it (the proxy settings) into a line, not a stack trace.
  .catch((error: unknown) => {
    process.stderr.write(`error: ${describeError(error, "cli")}\n`);
    process.exitCode = 1;
  });
