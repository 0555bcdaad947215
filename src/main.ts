import { actionsIO } from "./actions-io.js";
import { runMain } from "./main-step.js";
import { nodeHttpDeps } from "./node-deps.js";
import { runContextFromEnv } from "./run-context.js";

// No top-level await in entry points: webpack (ncc) would make every module async and keep each in a
// function of its own, out of reach of the build's dead-code removal (~65 KB more per bundle).
// A rejection still ends the process with exit code 1 and the error printed.
// undiciFetch: @actions/core has loaded undici already (see HttpStackOptions).
void nodeHttpDeps(process.env, { undiciFetch: true }).then((http) =>
  runMain(actionsIO, { ...http, env: process.env, run: runContextFromEnv(process.env) }),
);
