/**
 * Inputs (or the CLI's flags, or the Worker's request) → one typed Config, validated before any
 * network call. Messages name settings through placeholders (`{input:ttl}`, `{set:mode=token}`,
 * see errors.ts) so that the action speaks of inputs and the CLI of flags from the same text.
 */
import * as z from "zod/mini";
import {
  hidingUserInfo,
  httpUrl,
  isBucketName,
  isCleartextRemote,
  isHex32,
  isUnusableToken,
} from "./checks.js";
import { InputError, type InputProblem } from "./errors.js";
import {
  DEFAULT_API_URL,
  defaultS3Endpoint,
  ENV_FALLBACKS,
  INPUT_DEFAULTS,
  INPUT_NAMES,
  type InputName,
  isAdmin,
  isNarrowed,
  JURISDICTIONS,
  type Jurisdiction,
  LOCATION_HINTS,
  type LocationHint,
  MAX_TOKEN_NAME_LENGTH,
  MAX_TTL_SECONDS,
  MAX_WAIT_TIMEOUT_SECONDS,
  MIN_TTL_SECONDS,
  MODES,
  NOT_YET_JURISDICTIONS,
  PERMISSIONS,
  TOKEN_SCOPES,
} from "./terms.js";

/** Raw inputs as the runner (or the command line) hands them over: strings, possibly empty. */
export type RawInputs = Partial<Record<InputName, string>>;

/** Environment variables the configuration falls back to. */
export type ConfigEnv = Partial<
  Record<(typeof ENV_FALLBACKS)[keyof typeof ENV_FALLBACKS], string | undefined>
>;

/** AWS profile names the tool writes: what the AWS CLI, boto3 and the JavaScript SDK all read unquoted. */
export const AWS_PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+@-]{0,63}$/;

const DURATION = /^(\d+)([smhd]?)$/;
const UNIT_SECONDS: Record<string, number> = { "": 1, s: 1, m: 60, h: 3_600, d: 86_400 };

/** Splits a list input on commas and newlines; entries are trimmed, empty ones dropped, duplicates removed. */
export function splitList(value: string): string[] {
  const entries = value
    .split(/[,\n]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  return [...new Set(entries)];
}

/** `90`, `90s`, `15m`, `1h`, `7d` → seconds; anything else → undefined. */
export function parseDuration(value: string): number | undefined {
  const match = DURATION.exec(value.trim());
  if (!match) return undefined;
  const [, amount = "", unit = ""] = match;
  const seconds = Number(amount) * (UNIT_SECONDS[unit] ?? Number.NaN);
  return Number.isSafeInteger(seconds) ? seconds : undefined;
}

function quote(value: string): string {
  return JSON.stringify(value);
}

function oneOf(values: readonly string[]): string {
  return values.join(", ");
}

type Ctx = z.core.ParsePayload<string>;

/** Records an input problem; its message is shown as is. */
function problem(ctx: Ctx, message: string): void {
  ctx.issues.push({ code: "custom", message, input: ctx.value });
}

/** Records an input problem and gives up on the input. */
function reject(ctx: Ctx, message: string): never {
  problem(ctx, message);
  return z.NEVER;
}

/** A string input turned into its typed value by `parse`, which rejects what it cannot use. */
const input = <T>(parse: (value: string, ctx: Ctx) => T) =>
  z.pipe(
    z.string(),
    z.transform((value: string, ctx) => parse(value, ctx as Ctx)),
  );

const booleanInput = (name: InputName) =>
  input((value, ctx) => {
    const normalised = value.trim().toLowerCase();
    if (normalised === "true") return true;
    if (normalised === "false") return false;
    return reject(ctx, `{input:${name}} is ${quote(value)}, which is not a boolean. Use true or false.`);
  });

const enumInput = <T extends readonly [string, ...string[]]>(name: InputName, values: T) =>
  input((value, ctx): T[number] => {
    const trimmed = value.trim();
    if ((values as readonly string[]).includes(trimmed)) return trimmed as T[number];
    return reject(
      ctx,
      `{input:${name}} is ${quote(value)}, which is not supported. Use one of: ${oneOf(values)}.`,
    );
  });

const checkUrl =
  (name: InputName, example: string, carries: string) =>
  (value: string, ctx: Ctx): string => {
    const url = httpUrl(value);
    if (url === undefined) {
      return reject(
        ctx,
        `{input:${name}} is ${quote(hidingUserInfo(value))}, which is not an http(s) URL without user name, password, query or fragment. Use a URL such as ${example}.`,
      );
    }
    if (isCleartextRemote(url)) {
      return reject(
        ctx,
        `{input:${name}} is ${quote(hidingUserInfo(value))}: plain http would carry ${carries} across the network unencrypted. Use https:// (plain http is accepted only for localhost, 127.0.0.0/8 and [::1]).`,
      );
    }
    return url;
  };

/** An optional input: empty is undefined, anything else goes through `then`. */
const optional = <T>(then: (value: string, ctx: Ctx) => T) =>
  input((value, ctx): T | undefined => (value.trim() === "" ? undefined : then(value, ctx)));

// Never quote the value: it is a secret.
const apiTokenInput = input((value, ctx) => {
  const trimmed = value.trim();
  if (trimmed.length === 0) {
    return reject(
      ctx,
      "{missing:api-token}. Pass a Cloudflare API token, e.g. {example:api-token}.{action-only: Secrets are not passed to workflows triggered from forks or by Dependabot, which is a common reason for an empty value.}",
    );
  }
  if (isUnusableToken(trimmed)) {
    return reject(
      ctx,
      "{input:api-token} contains whitespace or control characters (for example a newline), so it cannot be a Cloudflare API token. Store the token alone in the secret, with nothing around it.",
    );
  }
  return trimmed;
});

const accountIdInput = input((value, ctx) => {
  const trimmed = value.trim();
  if (isHex32(trimmed)) return trimmed;
  return reject(
    ctx,
    trimmed.length === 0
      ? "{missing:account-id}. Pass your Cloudflare account id (32 lowercase hex characters, shown in the dashboard's URL and on the R2 overview page)."
      : `{input:account-id} is ${quote(value)}, which is not a Cloudflare account id. Use the 32 lowercase hex characters of your account id.`,
  );
});

const tokenScopeInput = enumInput("token-scope", TOKEN_SCOPES);
const apiUrlInput = input(checkUrl("api-url", DEFAULT_API_URL, "the API token"));

const rawSchema = z.object({
  "api-token": apiTokenInput,
  "account-id": accountIdInput,
  bucket: input((value, ctx) => {
    const buckets = splitList(value);
    if (buckets.length === 0)
      return reject(ctx, "{input:bucket} is empty. Name the R2 bucket(s) to grant access to.");
    for (const bucket of buckets) {
      if (!isBucketName(bucket)) {
        problem(
          ctx,
          `{input:bucket} has ${quote(bucket)}, which is not a valid R2 bucket name. Use 3-63 characters of a-z, 0-9 and -, starting and ending with a letter or digit.`,
        );
      }
    }
    return buckets;
  }),
  permission: enumInput("permission", PERMISSIONS),
  mode: enumInput("mode", MODES),
  prefixes: input((value) => splitList(value)),
  objects: input((value) => splitList(value)),
  ttl: input((value, ctx) => {
    const seconds = parseDuration(value);
    if (seconds !== undefined && seconds >= MIN_TTL_SECONDS && seconds <= MAX_TTL_SECONDS) return seconds;
    return reject(
      ctx,
      `{input:ttl} is ${quote(value)}, which is not a lifetime between 60 s and 7 d. Use seconds or a whole number with s, m, h or d, for example 900, 15m, 1h or 2d.`,
    );
  }),
  jurisdiction: input((value, ctx) => {
    const trimmed = value.trim();
    if ((JURISDICTIONS as readonly string[]).includes(trimmed)) return trimmed as Jurisdiction;
    const why = NOT_YET_JURISDICTIONS[trimmed];
    return reject(
      ctx,
      why
        ? `{input:jurisdiction} is ${quote(value)}, which is not supported yet: ${why}. Use one of: ${oneOf(JURISDICTIONS)}.`
        : `{input:jurisdiction} is ${quote(value)}, which is not supported. Use one of: ${oneOf(JURISDICTIONS)}.`,
    );
  }),
  "parent-access-key-id": optional((value, ctx) => {
    if (isHex32(value.trim())) return value.trim();
    return reject(
      ctx,
      `{input:parent-access-key-id} is ${quote(value)}, which is not an R2 access key id. Use the 32 lowercase hex characters of the parent API token's id.`,
    );
  }),
  "token-scope": tokenScopeInput,
  "create-bucket": booleanInput("create-bucket"),
  // Cloudflare's own docs write WNAM, and Terraform's acceptance tests create buckets with ENAM.
  "location-hint": optional((value, ctx) => {
    const trimmed = value.trim().toLowerCase();
    if ((LOCATION_HINTS as readonly string[]).includes(trimmed)) return trimmed as LocationHint;
    return reject(
      ctx,
      `{input:location-hint} is ${quote(value)}, which is not supported. Use one of: ${oneOf(LOCATION_HINTS)}, or leave it empty.`,
    );
  }),
  "wait-timeout": input((value, ctx) => {
    const seconds = parseDuration(value);
    if (seconds !== undefined && seconds <= MAX_WAIT_TIMEOUT_SECONDS) return seconds;
    return reject(
      ctx,
      `{input:wait-timeout} is ${quote(value)}, which is not a number of seconds between 0 and ${MAX_WAIT_TIMEOUT_SECONDS}. Use for example 60, or 0 to skip the wait.`,
    );
  }),
  "export-env": booleanInput("export-env"),
  revoke: booleanInput("revoke"),
  "token-name": optional((value, ctx) => {
    const trimmed = value.trim();
    if (trimmed.length <= MAX_TOKEN_NAME_LENGTH && !/\p{Cc}/u.test(trimmed)) return trimmed;
    return reject(
      ctx,
      `{input:token-name} is ${quote(value)}, which is too long or has control characters. Use at most ${MAX_TOKEN_NAME_LENGTH} printable characters on one line (a space and an 8-character mint id are appended).`,
    );
  }),
  "api-url": apiUrlInput,
  // Empty means derived from account-id and jurisdiction (or named by the vending Worker).
  "s3-endpoint": optional(
    checkUrl("s3-endpoint", "https://<account-id>.r2.cloudflarestorage.com", "session tokens and your data"),
  ),
  "vending-url": optional(
    checkUrl(
      "vending-url",
      "https://r2-vending.example.workers.dev",
      "the job's OIDC token and the credentials",
    ),
  ),
  audience: optional((value) => value.trim()),
  "aws-profile": optional((value, ctx) => {
    const trimmed = value.trim();
    if (AWS_PROFILE_NAME.test(trimmed)) return trimmed;
    return reject(
      ctx,
      `{input:aws-profile} is ${quote(value)}, which is not a profile name this tool writes. Use up to 64 letters, digits and . _ + @ -, starting with a letter or digit (e.g. r2).`,
    );
  }),
});

/** The typed config, inferred from what the schema produces (keyless mode skips the token checks). */
const configSchema = (keyless: boolean) =>
  z.pipe(
    keyless ? z.extend(rawSchema, { "api-token": z.string(), "account-id": z.string() }) : rawSchema,
    z.transform((p) => ({
      apiToken: p["api-token"],
      accountId: p["account-id"],
      buckets: p.bucket,
      permission: p.permission,
      mode: p.mode,
      prefixes: p.prefixes,
      objects: p.objects,
      ttlSeconds: p.ttl,
      jurisdiction: p.jurisdiction,
      parentAccessKeyId: p["parent-access-key-id"],
      tokenScope: p["token-scope"],
      createBucket: p["create-bucket"],
      locationHint: p["location-hint"],
      waitTimeoutSeconds: p["wait-timeout"],
      exportEnv: p["export-env"],
      revoke: p.revoke,
      tokenName: p["token-name"],
      apiUrl: p["api-url"],
      /** Empty in keyless mode without an s3-endpoint input: the vending Worker names the endpoint. */
      s3Endpoint: p["s3-endpoint"] ?? (keyless ? "" : defaultS3Endpoint(p["account-id"], p.jurisdiction)),
      /** Keyless mode: the credential-vending Worker that mints for a GitHub OIDC token. */
      vendingUrl: p["vending-url"],
      /** The OIDC token's audience in keyless mode: the audience input, or the vending-url's origin. */
      audience: p.audience ?? (p["vending-url"] ? new URL(p["vending-url"]).origin : undefined),
      /** Also publish the credentials as this AWS profile (the action only). */
      awsProfile: p["aws-profile"],
    })),
  );
export type Config = z.output<ReturnType<typeof configSchema>>;

/**
 * Contradictions between inputs.
 * Each rule names every input involved, so the message says what to change.
 */
interface Rule {
  applies(config: Config): boolean;
  problem(config: Config): InputProblem;
}

/** Inputs the vending Worker decides itself; each must keep its default in keyless mode. */
const KEYLESS_REASON = {
  "api-token": "holds the account token, so the workflow needs none (only permissions: id-token: write)",
  "account-id": "mints in the account it is configured for",
  mode: "mints revocable child tokens (token mode, narrowed where asked), not temporary mode",
  "parent-access-key-id": "mints from its own token",
  "token-scope": "decides where its child tokens live",
  "create-bucket": "does not create buckets",
  "location-hint": "does not create buckets",
  "token-name": "names each child token after the repository and run from the OIDC token",
  "api-url": "talks to Cloudflare itself",
} as const satisfies Partial<Record<InputName, string>>;

const RULES: Rule[] = [
  {
    applies: (c) => c.vendingUrl === undefined && c.audience !== undefined,
    problem: () => ({
      inputs: ["audience", "vending-url"],
      message:
        "{input:audience} applies only with vending-url (keyless mode). Remove audience, or set vending-url.",
    }),
  },
  {
    applies: (c) => c.buckets.length > 1 && c.mode === "temporary",
    problem: (c) => ({
      inputs: ["bucket", "mode"],
      message: `{inputs:bucket,mode} conflict: mode temporary mints credentials for one bucket, but {name:bucket} names ${c.buckets.length} (${c.buckets.join(", ")}). Name one bucket, or use {set:mode=token}.`,
    }),
  },
  {
    applies: (c) => c.buckets.length > 1 && c.mode === "token" && (isNarrowed(c) || isAdmin(c.permission)),
    problem: (c) => {
      const others = [
        ...(c.prefixes.length ? ["prefixes"] : []),
        ...(c.objects.length ? ["objects"] : []),
        ...(isAdmin(c.permission) ? ["permission"] : []),
      ];
      return {
        inputs: ["bucket", ...others],
        message: `{inputs:bucket,${others.join(",")}} conflict: narrowed and admin credentials cover one bucket${isAdmin(c.permission) ? ` (permission is ${c.permission})` : ""}, but {name:bucket} names ${c.buckets.length} (${c.buckets.join(", ")}). Name one bucket, or mint once per bucket.`,
      };
    },
  },
  {
    applies: (c) => c.mode === "token" && c.parentAccessKeyId !== undefined,
    problem: () => ({
      inputs: ["parent-access-key-id", "mode"],
      message:
        "{input:parent-access-key-id} applies only to mode temporary, but mode is token. Remove {name:parent-access-key-id}, or set {set:mode=temporary}.",
    }),
  },
  {
    applies: (c) => c.mode === "temporary" && c.tokenName !== undefined,
    problem: () => ({
      inputs: ["token-name", "mode"],
      message:
        "{input:token-name} applies only to mode token (mode temporary creates no token). Remove {name:token-name}, or set {set:mode=token}.",
    }),
  },
  {
    applies: (c) => !c.createBucket && c.locationHint !== undefined,
    problem: (c) => ({
      inputs: ["location-hint", "create-bucket"],
      message: `{input:location-hint} (${c.locationHint}) applies only to buckets that are created, but create-bucket is false. Remove {name:location-hint}, or set {set:create-bucket=true}.`,
    }),
  },
];

/** Defaults for what is missing or empty, then environment fallbacks; remembers which values came from the environment. */
function withDefaults(
  raw: RawInputs,
  env: ConfigEnv,
  useEnv: boolean,
): { values: Record<InputName, string>; fromEnv: Set<string> } {
  const values = {} as Record<InputName, string>;
  for (const name of INPUT_NAMES) {
    const given = raw[name] ?? "";
    values[name] = given.trim() === "" ? INPUT_DEFAULTS[name] : given;
  }
  const fromEnv = new Set<string>();
  for (const [name, variable] of Object.entries(ENV_FALLBACKS) as [InputName, keyof ConfigEnv][]) {
    const value = env[variable];
    if (useEnv && values[name].trim() === "" && value !== undefined && value.trim() !== "") {
      values[name] = value;
      fromEnv.add(name);
    }
  }
  return { values, fromEnv };
}

/** zod's issues as input problems; a value taken from the environment is named as such. */
function problemsOf(issues: readonly z.core.$ZodIssue[], fromEnv: Set<string>): InputProblem[] {
  return issues.map((issue) => {
    const name = String(issue.path[0]);
    if (!fromEnv.has(name)) return { inputs: [name], message: issue.message };
    const variable = ENV_FALLBACKS[name as keyof typeof ENV_FALLBACKS];
    return {
      inputs: [name, variable],
      message: issue.message.replace(`{input:${name}}`, `{fromenv:${name}}`),
    };
  });
}

/**
 * Parses raw inputs into one typed config, or throws an InputError that lists every problem.
 * Runs before any network call; it never quotes the API token.
 */
export function parseConfig(raw: RawInputs, env: ConfigEnv = {}): Config {
  const keyless = (raw["vending-url"] ?? "").trim() !== "";
  const { values, fromEnv } = withDefaults(raw, env, !keyless);
  if (keyless) {
    // The Worker holds the account token: an api-token or account-id given here would be ignored, so say so.
    const problems = (Object.keys(KEYLESS_REASON) as (keyof typeof KEYLESS_REASON)[])
      .filter((name) => values[name].trim() !== INPUT_DEFAULTS[name])
      .map(
        (name): InputProblem => ({
          inputs: [name, "vending-url"],
          message: `{input:${name}} does not apply with vending-url: the credential-vending Worker ${KEYLESS_REASON[name]}. Remove ${name}, or remove vending-url to mint with your own token.`,
        }),
      );
    if (problems.length > 0) throw new InputError(problems);
  }
  const parsed = z.safeParse(configSchema(keyless), values);
  if (!parsed.success) throw new InputError(problemsOf(parsed.error.issues, fromEnv));
  const config = parsed.data;
  const problems = RULES.filter((rule) => rule.applies(config)).map((rule) => rule.problem(config));
  if (problems.length > 0) throw new InputError(problems);
  return config;
}

/** What the commands that manage tokens directly need: the token, where its children live, the API. */
export interface TokenAccess {
  apiToken: string;
  accountId: string;
  tokenScope: (typeof TOKEN_SCOPES)[number];
  apiUrl: string;
}

const accessSchema = z.object({
  "api-token": apiTokenInput,
  "account-id": accountIdInput,
  "token-scope": tokenScopeInput,
  "api-url": apiUrlInput,
});

/**
 * The token, account, scope and API URL alone, parsed exactly as parseConfig parses them: for the
 * post step and the CLI's revoke, sweep and rescope. The account id is needed only for account-owned
 * tokens (user-owned ones live under /user/tokens).
 */
export function parseTokenAccess(raw: RawInputs, env: ConfigEnv = {}): TokenAccess {
  const { values, fromEnv } = withDefaults(raw, env, true);
  const userScoped = values["token-scope"].trim() === "user";
  const schema = userScoped ? z.extend(accessSchema, { "account-id": z.string() }) : accessSchema;
  const parsed = z.safeParse(schema, values);
  if (!parsed.success) throw new InputError(problemsOf(parsed.error.issues, fromEnv));
  const p = parsed.data;
  return {
    apiToken: p["api-token"],
    accountId: p["account-id"].trim(),
    tokenScope: p["token-scope"],
    apiUrl: p["api-url"],
  };
}
