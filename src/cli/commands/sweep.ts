import { parseDuration } from "../../config.js";
import { DEFAULT_SWEEP_PREFIX, sweep } from "../../sweep.js";
import {
  accessFlags,
  type CliDeps,
  type Command,
  clientFor,
  EXIT,
  helpFlag,
  oneOf,
  str,
  tokenTarget,
  usage,
  type Values,
} from "../common.js";
import { formatSweep } from "../format.js";

async function run(values: Values, deps: CliDeps): Promise<number> {
  const format = oneOf(values, "format", ["table", "json"] as const, "table");
  const olderThan = str(values, "older-than");
  const olderThanSeconds = olderThan === undefined ? undefined : parseDuration(olderThan);
  if (olderThan !== undefined && olderThanSeconds === undefined) {
    throw usage(
      `Flag --older-than is ${JSON.stringify(olderThan)}, which is not a duration. Use e.g. 90m, 2h or 1d.`,
    );
  }
  const { target, apiUrl } = tokenTarget(values, deps);
  const rows = await sweep(clientFor(apiUrl, deps), {
    target,
    prefix: str(values, "prefix") ?? DEFAULT_SWEEP_PREFIX,
    olderThanMs: olderThanSeconds === undefined ? undefined : olderThanSeconds * 1000,
    dryRun: values["dry-run"] === true,
    now: deps.now(),
  });
  deps.stdout(formatSweep(rows, format));
  return rows.some((r) => r.result.startsWith("failed")) ? EXIT.failure : EXIT.ok;
}

export const sweepCommand: Command = {
  options: {
    ...helpFlag,
    ...accessFlags,
    "older-than": { type: "string" },
    prefix: { type: "string" },
    "dry-run": { type: "boolean" },
    format: { type: "string" },
  },
  run,
};
