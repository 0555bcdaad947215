import { revokeToken } from "../../cloudflare/tokens.js";
import * as cli from "../common.js";

async function run(values: cli.Values, deps: cli.CliDeps): Promise<number> {
  const id = cli.tokenId(values);
  const { target, apiUrl } = cli.tokenTarget(values, deps);
  const outcome = await revokeToken(cli.clientFor(apiUrl, deps), target, id);
  deps.stderr(outcome === "deleted" ? `Revoked token ${id}.\n` : `Token ${id} was already gone.\n`);
  return cli.EXIT.ok;
}

export const revokeCommand: cli.Command = {
  options: { ...cli.helpFlag, ...cli.accessFlags, "token-id": { type: "string" } },
  run,
};
