import { CloudflareClient, type HttpDeps } from "../cloudflare/client.js";
import { type Config, type ConfigEnv, parseConfig, type RawInputs } from "../config.js";
import { describeError } from "../errors.js";
import { discardKeyless, mintKeyless } from "../keyless/mint.js";
import { type ChildToken, discardChild, type Minted, mint } from "../mint.js";
import type { RunContext } from "../naming.js";
import { INPUT_NAMES } from "../terms.js";
import { checkProfile, profileTarget, writeProfile } from "./profile.js";
import { appendSummary, mintSummary, publish } from "./publish.js";
import { type ActionIO, maskInputToken } from "./runner.js";
import {
  type SavedProfile,
  saveCloudflareChild,
  saveDiscarded,
  saveProfile,
  saveTemporary,
  saveVendedChild,
} from "./state.js";

export interface StepDeps extends HttpDeps {
  env: ConfigEnv & Record<string, string | undefined>;
  run: RunContext | undefined;
}

function readInputs(io: ActionIO): RawInputs {
  return Object.fromEntries(INPUT_NAMES.map((name) => [name, io.getInput(name)]));
}

/** How the step mints, and how it takes back what it minted when a later part of the step fails. */
interface Minter {
  mint(): Promise<Minted>;
  discard(minted: Minted, cause: unknown): Promise<void>;
}

function directMinter(io: ActionIO, config: Config, deps: StepDeps): Minter {
  const mintDeps = {
    ...deps,
    client: new CloudflareClient({ apiUrl: config.apiUrl, deps, log: (m) => io.info(m) }),
    mask: (secret: string) => io.setSecret(secret),
    onChildCreated: (created: ChildToken) => saveCloudflareChild(io, created, config.revoke),
    onChildDiscarded: () => saveDiscarded(io),
    log: (m: string) => io.info(m),
    warn: (m: string) => io.warning(m),
    debug: (m: string) => io.debug(m),
  };
  return {
    async mint() {
      const minted = await mint(config, mintDeps);
      if (!minted.child) saveTemporary(io, minted.expiresAt);
      return minted;
    },
    async discard(minted, cause) {
      if (minted.child) await discardChild(config, mintDeps, minted.child, cause);
    },
  };
}

function keylessMinter(
  io: ActionIO,
  config: Config,
  deps: StepDeps & { idToken: (audience: string) => Promise<string> },
): Minter {
  const vendingUrl = config.vendingUrl as string;
  const audience = config.audience as string;
  const keylessDeps = {
    ...deps,
    mask: (secret: string) => io.setSecret(secret),
    onMinted: (tokenId: string, expiresAt: string) =>
      saveVendedChild(io, { tokenId, vendingUrl, audience, expiresAt }, config.revoke),
    onDiscarded: () => saveDiscarded(io),
    log: (m: string) => io.info(m),
    warn: (m: string) => io.warning(m),
    debug: (m: string) => io.debug(m),
  };
  return {
    mint: () => mintKeyless(config, keylessDeps),
    async discard(minted, cause) {
      if (
        minted.tokenId &&
        (await discardKeyless(keylessDeps, vendingUrl, audience, minted.tokenId, cause))
      ) {
        saveDiscarded(io);
      }
    },
  };
}

/** The main step: validate, mint (state saved as soon as a child exists), publish; on failure nothing minted stays alive. */
export async function runMain(io: ActionIO, deps: StepDeps): Promise<void> {
  const raw = readInputs(io);
  maskInputToken(io, raw["api-token"], deps.env);
  let config: Config;
  try {
    config = parseConfig(raw, deps.env);
  } catch (error) {
    io.setFailed(describeError(error));
    return;
  }

  let profile: SavedProfile | undefined;
  if (config.awsProfile) {
    profile = profileTarget(config.awsProfile, deps.env);
    try {
      checkProfile(profile);
    } catch (error) {
      io.setFailed(describeError(error));
      return;
    }
  }

  const minter = config.vendingUrl
    ? keylessMinter(io, config, { ...deps, idToken: (audience) => io.getIDToken(audience) })
    : directMinter(io, config, deps);
  let minted: Minted;
  try {
    minted = await minter.mint();
  } catch (error) {
    io.setFailed(describeError(error));
    return;
  }
  try {
    if (profile) {
      // Saved before the files are touched, so the post step removes whatever was written.
      saveProfile(io, profile);
      writeProfile(profile, minted);
      io.info(
        `Wrote AWS profile ${profile.profile} to ${profile.configFile} and ${profile.credentialsFile}.`,
      );
    }
    publish(minted, config, io, deps.env);
  } catch (error) {
    await minter.discard(minted, error);
    io.setFailed(`Could not hand the credentials to later steps: ${describeError(error)}`);
    return;
  }
  await appendSummary(io, mintSummary(minted, config));
}
