/**
 * `cors get|set|clear`: a bucket's CORS policy through Cloudflare's REST API, for people who cannot
 * open the dashboard. `set` replaces the whole policy, so it shows what it replaces first.
 */
import fs from "node:fs";
import type { CloudflareClient } from "../../cloudflare/client.js";
import {
  type BucketTarget,
  type CorsRule,
  deleteBucketCors,
  getBucketCors,
  putBucketCors,
} from "../../cloudflare/r2.js";
import { parseTokenAccess } from "../../config.js";
import { type CorsFlags, corsRuleFromFlags, corsRulesFromJson } from "../../cors.js";
import { JURISDICTIONS, type Jurisdiction } from "../../terms.js";
import {
  bucketFlag,
  type CliDeps,
  type Command,
  clientFor,
  EXIT,
  helpFlag,
  listFlag,
  type Options,
  oneOf,
  str,
  usage,
  type Values,
} from "../common.js";
import { mintOptionsFor } from "../mint-flags.js";

const targetFlags = mintOptionsFor(["account-id", "api-url", "jurisdiction"]);
const shared = { ...helpFlag, ...targetFlags, bucket: { type: "string" } } as const satisfies Options;

interface Target {
  bucket: string;
  target: BucketTarget;
  /** One client for the command's every call. */
  client: CloudflareClient;
}

function targetOf(values: Values, deps: CliDeps): Target {
  const bucket = bucketFlag(values, "bucket", "the bucket whose CORS policy to read or change");
  const jurisdiction = oneOf<Jurisdiction>(values, "jurisdiction", JURISDICTIONS, "default");
  const access = parseTokenAccess(
    { "account-id": str(values, "account-id"), "api-url": str(values, "api-url") },
    deps.env,
  );
  return {
    bucket,
    target: { accountId: access.accountId, token: access.apiToken, jurisdiction },
    client: clientFor(access.apiUrl, deps),
  };
}

/** The policy as `get` prints it: the API's own shape, so `set --file` takes it back. */
function policyJson(rules: readonly CorsRule[]): string {
  return `${JSON.stringify({ rules }, null, 2)}\n`;
}

function where(t: Target): string {
  return t.target.jurisdiction === "default"
    ? `bucket ${t.bucket}`
    : `bucket ${t.bucket} (${t.target.jurisdiction})`;
}

const RULE_FLAGS = ["origin", "method", "header", "expose-header", "max-age"] as const;

/** The rules `set` writes, from --file or from the rule flags; validated before any call. */
function rulesToSet(values: Values): CorsRule[] {
  const file = str(values, "file");
  const given = RULE_FLAGS.filter((flag) => values[flag] !== undefined);
  if (file !== undefined) {
    if (given.length > 0) {
      throw usage(
        `Flag --file holds the whole policy; it cannot be combined with ${given.map((f) => `--${f}`).join(", ")}.`,
      );
    }
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (error) {
      throw usage(
        `Flag --file is ${JSON.stringify(file)}, which cannot be read: ${(error as Error).message}.`,
      );
    }
    return corsRulesFromJson(text, file);
  }
  const flags: CorsFlags = {
    origins: listFlag(values, "origin"),
    methods: listFlag(values, "method"),
    headers: listFlag(values, "header"),
    exposeHeaders: listFlag(values, "expose-header"),
    maxAge: str(values, "max-age"),
  };
  return [corsRuleFromFlags(flags)];
}

async function get(values: Values, deps: CliDeps): Promise<number> {
  const t = targetOf(values, deps);
  const rules = await getBucketCors(t.client, t.target, t.bucket);
  if (rules.length === 0)
    deps.stderr(`The ${where(t)} has no CORS policy: browsers may not call it from web pages.\n`);
  deps.stdout(policyJson(rules));
  return EXIT.ok;
}

/** Shows what is about to be replaced or removed, so it can be put back with `set --file`. */
async function showBefore(t: Target, deps: CliDeps, verb: string): Promise<void> {
  const before = await getBucketCors(t.client, t.target, t.bucket);
  deps.stderr(
    before.length === 0
      ? `The ${where(t)} had no CORS policy.\n`
      : `${verb} the CORS policy of the ${where(t)}, which was:\n${policyJson(before)}`,
  );
}

async function showAfter(t: Target, deps: CliDeps): Promise<void> {
  const after = await getBucketCors(t.client, t.target, t.bucket);
  deps.stderr(
    after.length === 0
      ? `The ${where(t)} now has no CORS policy (browsers may take up to 30 s to see it).\n`
      : `The ${where(t)} now has this policy (browsers may take up to 30 s to see it):\n`,
  );
  deps.stdout(policyJson(after));
}

async function set(values: Values, deps: CliDeps): Promise<number> {
  const rules = rulesToSet(values);
  const t = targetOf(values, deps);
  await showBefore(t, deps, "Replacing");
  await putBucketCors(t.client, t.target, t.bucket, rules);
  await showAfter(t, deps);
  return EXIT.ok;
}

async function clear(values: Values, deps: CliDeps): Promise<number> {
  const t = targetOf(values, deps);
  await showBefore(t, deps, "Removing");
  await deleteBucketCors(t.client, t.target, t.bucket);
  await showAfter(t, deps);
  return EXIT.ok;
}

export const corsGetCommand: Command = { options: shared, run: get };
export const corsClearCommand: Command = { options: shared, run: clear };
export const corsSetCommand: Command = {
  options: {
    ...shared,
    origin: { type: "string", multiple: true },
    method: { type: "string", multiple: true },
    header: { type: "string", multiple: true },
    "expose-header": { type: "string", multiple: true },
    "max-age": { type: "string" },
    file: { type: "string" },
  },
  run: set,
};

/** `cors` alone: its help with --help; with any other flag of its sub-commands, the sub-command it lacks. */
export const corsCommand: Command = {
  options: corsSetCommand.options,
  run: async () => {
    throw usage("cors needs a sub-command: get, set or clear (e.g. cors get --bucket my-bucket).");
  },
};
