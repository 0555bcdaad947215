import { type RescopeChange, type RescopeResult, rescope } from "../../rescope.js";
import { JURISDICTIONS, type Jurisdiction, PERMISSIONS, type Permission } from "../../terms.js";
import * as cli from "../common.js";

function change(values: cli.Values): RescopeChange {
  const adding = cli.str(values, "add-bucket") !== undefined;
  const removing = cli.str(values, "remove-bucket") !== undefined;
  if (adding === removing) {
    throw cli.usage(
      adding
        ? "Flags --add-bucket and --remove-bucket conflict: rescope makes one change at a time. Run it once for each."
        : "Flag --add-bucket or --remove-bucket is required: the bucket to add to the token, or to remove from it.",
    );
  }
  if (removing) {
    if (values.permission !== undefined) {
      throw cli.usage(
        "Flag --permission applies only to --add-bucket: --remove-bucket removes the bucket from every allow policy.",
      );
    }
    return { kind: "remove", bucket: cli.bucketFlag(values, "remove-bucket", "the bucket") };
  }
  const permission = cli.oneOf<Permission>(values, "permission", PERMISSIONS, "object-read-only");
  return { kind: "add", bucket: cli.bucketFlag(values, "add-bucket", "the bucket"), permission };
}

function report(
  result: RescopeResult,
  request: { change: RescopeChange; jurisdiction: Jurisdiction },
): string {
  const { change: c, jurisdiction } = request;
  const id = result.tokenId;
  if (result.outcome === "already-granted" && c.kind === "add") {
    return `Token ${id} already grants ${c.permission} on ${c.bucket}.\n`;
  }
  const lines = result.changes.map((line) => `  ${line}`);
  if (result.unchanged) {
    return [
      `Dry run: token ${id} ("${result.tokenName}") would change:`,
      ...lines,
      "Nothing was changed (no PUT). The token's policies would become:",
      JSON.stringify(result.policies, null, 2),
      "",
    ].join("\n");
  }
  const done =
    c.kind === "add"
      ? `Added ${c.bucket} (${c.permission}, jurisdiction ${jurisdiction}) to token ${id}. The S3 endpoint may take up to a minute to honour it.`
      : `Removed ${c.bucket} (jurisdiction ${jurisdiction}) from token ${id}.`;
  return [done, ...lines, ""].join("\n");
}

async function run(values: cli.Values, deps: cli.CliDeps): Promise<number> {
  const id = cli.str(values, "token-id")?.trim() === "self" ? "self" : cli.tokenId(values);
  const request = {
    change: change(values),
    jurisdiction: cli.oneOf<Jurisdiction>(values, "jurisdiction", JURISDICTIONS, "default"),
  };
  const { target, apiUrl } = cli.tokenTarget(values, deps);
  const result = await rescope(
    cli.clientFor(apiUrl, deps),
    { target, tokenId: id, ...request, dryRun: values["dry-run"] === true },
    (m) => deps.stderr(`${m}\n`),
  );
  deps.stdout(report(result, request));
  for (const policy of result.stillCoveredBy) {
    deps.stderr(
      `warning: token ${result.tokenId} still reaches ${request.change.bucket} through ${policy}, which covers every bucket of the account.\n`,
    );
  }
  return cli.EXIT.ok;
}

export const rescopeCommand: cli.Command = {
  options: {
    ...cli.helpFlag,
    ...cli.accessFlags,
    "token-id": { type: "string" },
    "add-bucket": { type: "string" },
    "remove-bucket": { type: "string" },
    permission: { type: "string" },
    jurisdiction: { type: "string" },
    "dry-run": { type: "boolean" },
  },
  run,
};
