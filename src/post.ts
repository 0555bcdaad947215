import { actionsIO } from "./actions-io.js";
import { nodeHttpDeps } from "./node-deps.js";
import { runPost } from "./revoke.js";

await runPost(actionsIO, { ...(await nodeHttpDeps(process.env)), env: process.env });
