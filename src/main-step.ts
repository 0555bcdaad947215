import { CloudflareClient, type HttpDeps } from "./cloudflare/client.js";
import { type Config, type ConfigEnv, INPUT_NAMES, parseConfig, type RawInputs } from "./config.js";
import { describeError } from "./errors.js";
import { type ActionIO, maskSecret, STATE } from "./io.js";
import { type ChildToken, discardChild, type Minted, mint } from "./mint.js";
import type { RunContext } from "./naming.js";
import { appendSummary, mintSummary, publish } from "./report.js";

export interface StepDeps extends HttpDeps {
  env: ConfigEnv;
  run: RunContext | undefined;
}

export function readInputs(io: ActionIO): RawInputs {
  return Object.fromEntries(INPUT_NAMES.map((name) => [name, io.getInput(name)]));
}

/** Masks the input token (and its env fallback) before anything else runs, so nothing can print it. */
function maskInputToken(io: ActionIO, raw: RawInputs, env: ConfigEnv): void {
  for (const value of [raw["api-token"], env.CLOUDFLARE_API_TOKEN]) if (value) maskSecret(io, value);
}

function saveChildState(io: ActionIO, config: Config, child: ChildToken): void {
  io.saveState(STATE.mode, "token");
  io.saveState(STATE.tokenId, child.tokenId);
  io.saveState(STATE.tokenScope, child.scope);
  io.saveState(STATE.accountId, child.accountId);
  io.saveState(STATE.apiUrl, child.apiUrl);
  io.saveState(STATE.expiresAt, child.expiresAt);
  io.saveState(STATE.revoke, String(config.revoke));
}

/** The main step: validate, mint (state saved as soon as a child exists), publish; on failure nothing minted stays alive. */
export async function runMain(io: ActionIO, deps: StepDeps): Promise<void> {
  const raw = readInputs(io);
  maskInputToken(io, raw, deps.env);
  let config: Config;
  try {
    config = parseConfig(raw, deps.env);
  } catch (error) {
    io.setFailed(describeError(error));
    return;
  }

  const client = new CloudflareClient({ apiUrl: config.apiUrl, deps, log: (m) => io.info(m) });
  const mintDeps = {
    ...deps,
    client,
    mask: (secret: string) => io.setSecret(secret),
    onChildCreated: (child: ChildToken) => saveChildState(io, config, child),
    // Main deleted its own child: the post step has nothing left to revoke.
    onChildDiscarded: () => io.saveState(STATE.tokenId, ""),
    log: (m: string) => io.info(m),
    debug: (m: string) => io.debug(m),
  };
  let minted: Minted;
  try {
    minted = await mint(config, mintDeps);
  } catch (error) {
    io.setFailed(describeError(error));
    return;
  }
  if (!minted.child) {
    // Temporary credentials: nothing to revoke, but the post step says when they expire.
    io.saveState(STATE.mode, "temporary");
    io.saveState(STATE.expiresAt, minted.expiresAt);
  }
  try {
    publish(minted, config, io);
  } catch (error) {
    if (minted.child) await discardChild(config, mintDeps, minted.child, error);
    io.setFailed(`Could not hand the credentials to later steps: ${describeError(error)}`);
    return;
  }
  await appendSummary(io, mintSummary(minted, config));
}
