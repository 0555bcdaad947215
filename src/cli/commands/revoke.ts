import { revokeToken } from "../../cloudflare/tokens.js";
import {
  accessFlags,
  type CliDeps,
  type Command,
  clientFor,
  EXIT,
  helpFlag,
  tokenId,
  tokenTarget,
  type Values,
} from "../common.js";

async function run(values: Values, deps: CliDeps): Promise<number> {
  const id = tokenId(values);
  const { target, apiUrl } = tokenTarget(values, deps);
  const outcome = await revokeToken(clientFor(apiUrl, deps), target, id);
  deps.stderr(outcome === "deleted" ? `Revoked token ${id}.\n` : `Token ${id} was already gone.\n`);
  return EXIT.ok;
}

export const revokeCommand: Command = {
  options: { ...helpFlag, ...accessFlags, "token-id": { type: "string" } },
  run,
};
