import { isBucketName } from "../../checks.js";
import { rescope } from "../../rescope.js";
import { JURISDICTIONS, type Jurisdiction, PERMISSIONS, type Permission } from "../../terms.js";
import {
  accessFlags,
  type CliDeps,
  type Command,
  clientFor,
  EXIT,
  helpFlag,
  oneOf,
  required,
  tokenId,
  tokenTarget,
  usage,
  type Values,
} from "../common.js";

async function run(values: Values, deps: CliDeps): Promise<number> {
  const id = tokenId(values);
  const bucket = required(values, "add-bucket", "the bucket to add");
  if (!isBucketName(bucket)) {
    throw usage(
      `Flag --add-bucket is ${JSON.stringify(bucket)}, which is not a valid R2 bucket name (3-63 characters of a-z, 0-9 and -).`,
    );
  }
  const permission = oneOf<Permission>(values, "permission", PERMISSIONS, "object-read-only");
  const jurisdiction = oneOf<Jurisdiction>(values, "jurisdiction", JURISDICTIONS, "default");
  const { target, apiUrl } = tokenTarget(values, deps);
  const outcome = await rescope(
    clientFor(apiUrl, deps),
    { target, tokenId: id, bucket, permission, jurisdiction },
    (m) => deps.stderr(`${m}\n`),
  );
  deps.stdout(
    outcome === "added"
      ? `Added ${bucket} (${permission}, jurisdiction ${jurisdiction}) to token ${id}. The S3 endpoint may take up to a minute to honour it.\n`
      : `Token ${id} already grants ${permission} on ${bucket}.\n`,
  );
  return EXIT.ok;
}

export const rescopeCommand: Command = {
  options: {
    ...helpFlag,
    ...accessFlags,
    "token-id": { type: "string" },
    "add-bucket": { type: "string" },
    permission: { type: "string" },
    jurisdiction: { type: "string" },
  },
  run,
};
