import { actionsIO } from "./actions-io.js";
import { nodeHttpDeps } from "./node-deps.js";
import { runPost } from "./revoke.js";

// No top-level await, and undici's fetch: see main.ts.
void nodeHttpDeps(process.env, { undiciFetch: true }).then((http) =>
  runPost(actionsIO, { ...http, env: process.env }),
);
