import { parseDuration } from "../../config.js";
import { DEFAULT_SWEEP_PREFIX, sweep } from "../../sweep.js";
import * as cli from "../common.js";
import { formatSweep } from "../format.js";

async function run(values: cli.Values, deps: cli.CliDeps): Promise<number> {
  const format = cli.oneOf(values, "format", ["table", "json"] as const, "table");
  const olderThan = cli.str(values, "older-than");
  const olderThanSeconds = olderThan === undefined ? undefined : parseDuration(olderThan);
  if (olderThan !== undefined && olderThanSeconds === undefined) {
    throw cli.usage(
      `Flag --older-than is ${JSON.stringify(olderThan)}, which is not a duration. Use e.g. 90m, 2h or 1d.`,
    );
  }
  const { target, apiUrl } = cli.tokenTarget(values, deps);
  const rows = await sweep(cli.clientFor(apiUrl, deps), {
    target,
    prefix: cli.str(values, "prefix") ?? DEFAULT_SWEEP_PREFIX,
    olderThanMs: olderThanSeconds === undefined ? undefined : olderThanSeconds * 1000,
    dryRun: values["dry-run"] === true,
    now: deps.now(),
  });
  deps.stdout(formatSweep(rows, format));
  return rows.some((r) => r.result.startsWith("failed")) ? cli.EXIT.failure : cli.EXIT.ok;
}

export const sweepCommand: cli.Command = {
  options: {
    ...cli.helpFlag,
    ...cli.accessFlags,
    "older-than": { type: "string" },
    prefix: { type: "string" },
    "dry-run": { type: "boolean" },
    format: { type: "string" },
  },
  run,
};
