import { actionsIO } from "./actions-io.js";
import { runMain } from "./main-step.js";
import { nodeHttpDeps } from "./node-deps.js";
import { runContextFromEnv } from "./run-context.js";

await runMain(actionsIO, {
  ...(await nodeHttpDeps(process.env)),
  env: process.env,
  run: runContextFromEnv(process.env),
});
