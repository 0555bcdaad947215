import { actionsIO } from "./actions-io.js";
import { nodeHttpDeps } from "./node-deps.js";
import { runPost } from "./revoke.js";

// No top-level await: see main.ts.
void nodeHttpDeps(process.env).then((http) => runPost(actionsIO, { ...http, env: process.env }));
