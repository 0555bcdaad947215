import { describeError } from "../errors.js";
import { nodeHttpDeps } from "../node/http.js";
import { runContextFromEnv } from "../run-context.js";
import { actionsIO } from "./actions-core.js";
import { runMain } from "./main-step.js";

// No top-level await in entry points: webpack (ncc) would make every module async and keep each in a
// function of its own, out of reach of the build's dead-code removal (~65 KB more per bundle).
// undiciFetch: @actions/core has loaded undici already (see HttpStackOptions).
// runMain reports its own failures; the catch turns a bug into one ::error:: line, not a stack trace.
void nodeHttpDeps(process.env, { undiciFetch: true })
  .then((http) => runMain(actionsIO, { ...http, env: process.env, run: runContextFromEnv(process.env) }))
  .catch((error: unknown) => actionsIO.setFailed(describeError(error)));
