import { describeError } from "../errors.js";
import { nodeHttpDeps } from "../node/http.js";
import { actionsIO } from "./actions-core.js";
import { runPost } from "./post-step.js";

// No top-level await, and undici's fetch: see main.ts.
// The post step never fails the job: even a bug ends as a warning.
void nodeHttpDeps(process.env, { undiciFetch: true })
  .then((http) => runPost(actionsIO, { ...http, env: process.env }))
  .catch((error: unknown) => actionsIO.warning(`The post step failed: ${describeError(error)}`));
