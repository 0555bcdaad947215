import * as z from "zod/mini";
import { InputError, type InputProblem } from "./errors.js";

/** Every input of action.yml, in the order users read them. The CLI's flags carry the same names. */
export const INPUT_NAMES = [
  "api-token",
  "account-id",
  "bucket",
  "permission",
  "mode",
  "prefixes",
  "objects",
  "ttl",
  "jurisdiction",
  "parent-access-key-id",
  "token-scope",
  "create-bucket",
  "location-hint",
  "wait-timeout",
  "export-env",
  "revoke",
  "token-name",
  "api-url",
  "s3-endpoint",
  "vending-url",
  "audience",
] as const;
export type InputName = (typeof INPUT_NAMES)[number];

/** Raw inputs as the runner (or the command line) hands them over: strings, possibly empty. */
export type RawInputs = Partial<Record<InputName, string>>;

export const PERMISSIONS = [
  "object-read-only",
  "object-read-write",
  "admin-read-only",
  "admin-read-write",
] as const;
export type Permission = (typeof PERMISSIONS)[number];
export const JURISDICTIONS = ["default", "eu", "us", "fedramp"] as const;
export type Jurisdiction = (typeof JURISDICTIONS)[number];
export const MODES = ["token", "temporary"] as const;
export type Mode = (typeof MODES)[number];
export const TOKEN_SCOPES = ["account", "user"] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];
export const LOCATION_HINTS = ["apac", "eeur", "enam", "weur", "wnam", "oc"] as const;
export type LocationHint = (typeof LOCATION_HINTS)[number];

export const DEFAULT_API_URL = "https://api.cloudflare.com/client/v4";
export const MIN_TTL_SECONDS = 60;
export const MAX_TTL_SECONDS = 604_800;
export const MAX_WAIT_TIMEOUT_SECONDS = 3_600;
/** Cloudflare's limit on token names is 120; the mint id and its space take 9. */
export const MAX_TOKEN_NAME_LENGTH = 111;

export interface Config {
  apiToken: string;
  accountId: string;
  buckets: string[];
  permission: Permission;
  mode: Mode;
  prefixes: string[];
  objects: string[];
  ttlSeconds: number;
  jurisdiction: Jurisdiction;
  parentAccessKeyId: string | undefined;
  tokenScope: TokenScope;
  createBucket: boolean;
  locationHint: LocationHint | undefined;
  waitTimeoutSeconds: number;
  exportEnv: boolean;
  revoke: boolean;
  tokenName: string | undefined;
  apiUrl: string;
  /** Empty in keyless mode without an s3-endpoint input: the vending Worker names the endpoint. */
  s3Endpoint: string;
  /** Keyless mode: the credential-vending Worker that mints for a GitHub OIDC token; no api-token needed. */
  vendingUrl: string | undefined;
  /** The OIDC token's audience in keyless mode: the audience input, or the vending-url's origin. */
  audience: string | undefined;
}

const ENV_FALLBACKS = [
  ["api-token", "CLOUDFLARE_API_TOKEN"],
  ["account-id", "CLOUDFLARE_ACCOUNT_ID"],
] as const satisfies readonly (readonly [InputName, keyof ConfigEnv])[];

/** Environment variables the configuration falls back to. */
export interface ConfigEnv {
  CLOUDFLARE_API_TOKEN?: string | undefined;
  CLOUDFLARE_ACCOUNT_ID?: string | undefined;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
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

export function defaultS3Endpoint(accountId: string, jurisdiction: Jurisdiction): string {
  return jurisdiction === "default"
    ? `https://${accountId}.r2.cloudflarestorage.com`
    : `https://${accountId}.${jurisdiction}.r2.cloudflarestorage.com`;
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
    return reject(ctx, `Input ${name} is ${quote(value)}, which is not a boolean. Use true or false.`);
  });

const enumInput = <T extends readonly [string, ...string[]]>(name: InputName, values: T) =>
  input((value, ctx): T[number] => {
    const trimmed = value.trim();
    if ((values as readonly string[]).includes(trimmed)) return trimmed as T[number];
    return reject(
      ctx,
      `Input ${name} is ${quote(value)}, which is not supported. Use one of: ${oneOf(values)}.`,
    );
  });

const checkUrl =
  (name: InputName, example: string) =>
  (value: string, ctx: Ctx): string => {
    const trimmed = value.trim();
    let parsed: URL | undefined;
    try {
      parsed = new URL(trimmed);
    } catch {
      parsed = undefined;
    }
    if (
      !parsed ||
      (parsed.protocol !== "https:" && parsed.protocol !== "http:") ||
      parsed.search ||
      parsed.hash
    ) {
      return reject(
        ctx,
        `Input ${name} is ${quote(value)}, which is not an http(s) URL without query or fragment. Use a URL such as ${example}.`,
      );
    }
    // Passed through as given, only without the trailing slash the contract forbids.
    return trimmed.replace(/\/+$/, "");
  };

const secretInput = (name: InputName, missing: string) =>
  input((value, ctx) => {
    const trimmed = value.trim();
    if (trimmed.length === 0) return reject(ctx, missing);
    // Never quote the value: it is a secret. A newline or space inside means a pasted secret went wrong.
    if (/[\s\p{Cc}]/u.test(trimmed)) {
      return reject(
        ctx,
        `Input ${name} contains whitespace or control characters (for example a newline), so it cannot be a Cloudflare API token. Store the token alone in the secret, with nothing around it.`,
      );
    }
    return trimmed;
  });

const rawSchema = z.object({
  "api-token": secretInput(
    "api-token",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a workflow expression users copy, not a JS template.
    "Input api-token is empty and CLOUDFLARE_API_TOKEN is not set. Pass a Cloudflare API token, e.g. api-token: ${{ secrets.CLOUDFLARE_API_TOKEN }}. Secrets are not passed to workflows triggered from forks or by Dependabot, which is a common reason for an empty value.",
  ),
  "account-id": input((value, ctx) => {
    const trimmed = value.trim();
    if (/^[0-9a-f]{32}$/.test(trimmed)) return trimmed;
    return reject(
      ctx,
      trimmed.length === 0
        ? "Input account-id is empty and CLOUDFLARE_ACCOUNT_ID is not set. Pass your Cloudflare account id (32 lowercase hex characters, shown in the dashboard's URL and on the R2 overview page)."
        : `Input account-id is ${quote(value)}, which is not a Cloudflare account id. Use the 32 lowercase hex characters of your account id.`,
    );
  }),
  bucket: input((value, ctx) => {
    const buckets = splitList(value);
    if (buckets.length === 0)
      return reject(ctx, "Input bucket is empty. Name the R2 bucket(s) to grant access to.");
    for (const bucket of buckets) {
      if (!BUCKET_NAME.test(bucket)) {
        problem(
          ctx,
          `Input bucket has ${quote(bucket)}, which is not a valid R2 bucket name. Use 3-63 characters of a-z, 0-9 and -, starting and ending with a letter or digit.`,
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
      `Input ttl is ${quote(value)}, which is not a lifetime between 60 s and 7 d. Use seconds or a whole number with s, m, h or d, for example 900, 15m, 1h or 2d.`,
    );
  }),
  jurisdiction: enumInput("jurisdiction", JURISDICTIONS),
  "parent-access-key-id": input((value, ctx) => {
    const trimmed = value.trim();
    if (trimmed === "") return undefined;
    if (/^[0-9a-f]{32}$/.test(trimmed)) return trimmed;
    return reject(
      ctx,
      `Input parent-access-key-id is ${quote(value)}, which is not an R2 access key id. Use the 32 lowercase hex characters of the parent API token's id.`,
    );
  }),
  "token-scope": enumInput("token-scope", TOKEN_SCOPES),
  "create-bucket": booleanInput("create-bucket"),
  "location-hint": input((value, ctx) => {
    const trimmed = value.trim();
    if (trimmed === "") return undefined;
    if ((LOCATION_HINTS as readonly string[]).includes(trimmed)) return trimmed as LocationHint;
    return reject(
      ctx,
      `Input location-hint is ${quote(value)}, which is not supported. Use one of: ${oneOf(LOCATION_HINTS)}, or leave it empty.`,
    );
  }),
  "wait-timeout": input((value, ctx) => {
    const seconds = parseDuration(value);
    if (seconds !== undefined && seconds <= MAX_WAIT_TIMEOUT_SECONDS) return seconds;
    return reject(
      ctx,
      `Input wait-timeout is ${quote(value)}, which is not a number of seconds between 0 and ${MAX_WAIT_TIMEOUT_SECONDS}. Use for example 60, or 0 to skip the wait.`,
    );
  }),
  "export-env": booleanInput("export-env"),
  revoke: booleanInput("revoke"),
  "token-name": input((value, ctx) => {
    const trimmed = value.trim();
    if (trimmed === "") return undefined;
    if (trimmed.length <= MAX_TOKEN_NAME_LENGTH && !/\p{Cc}/u.test(trimmed)) return trimmed;
    return reject(
      ctx,
      `Input token-name is ${quote(value)}, which is too long or has control characters. Use at most ${MAX_TOKEN_NAME_LENGTH} printable characters on one line (a space and an 8-character mint id are appended).`,
    );
  }),
  "api-url": input(checkUrl("api-url", DEFAULT_API_URL)),
  "vending-url": input((value, ctx) =>
    value.trim() === ""
      ? undefined
      : checkUrl("vending-url", "https://r2-vending.example.workers.dev")(value, ctx),
  ),
  audience: input((value) => (value.trim() === "" ? undefined : value.trim())),
  "s3-endpoint": input((value, ctx) => {
    // Empty means derived from account-id and jurisdiction after parsing.
    if (value.trim() === "") return undefined;
    return checkUrl("s3-endpoint", "https://<account-id>.r2.cloudflarestorage.com")(value, ctx);
  }),
});

/** The defaults of action.yml, applied when an input is missing or empty (the CLI passes no defaults). */
export const INPUT_DEFAULTS: Record<InputName, string> = {
  "api-token": "",
  "account-id": "",
  bucket: "",
  permission: "object-read-only",
  mode: "token",
  prefixes: "",
  objects: "",
  ttl: "1h",
  jurisdiction: "default",
  "parent-access-key-id": "",
  "token-scope": "account",
  "create-bucket": "false",
  "location-hint": "",
  "wait-timeout": "60",
  "export-env": "true",
  revoke: "true",
  "token-name": "",
  "api-url": DEFAULT_API_URL,
  "s3-endpoint": "",
  "vending-url": "",
  audience: "",
};

/**
 * Contradictions between inputs.
 * Each rule names every input involved, so the message says what to change.
 */
interface Rule {
  applies(config: Config): boolean;
  problem(config: Config): InputProblem;
}

const isAdmin = (config: Config) => config.permission.startsWith("admin-");
const narrows = (config: Config) => config.prefixes.length > 0 || config.objects.length > 0;

/** Inputs the vending Worker decides itself; each must keep its default in keyless mode. */
const KEYLESS_CONFLICTS = [
  "api-token",
  "account-id",
  "mode",
  "parent-access-key-id",
  "token-scope",
  "create-bucket",
  "location-hint",
  "token-name",
  "api-url",
] as const satisfies readonly InputName[];
const KEYLESS_REASON: Record<(typeof KEYLESS_CONFLICTS)[number], string> = {
  "api-token": "holds the account token, so the workflow needs none (only permissions: id-token: write)",
  "account-id": "mints in the account it is configured for",
  mode: "mints revocable child tokens (token mode, narrowed where asked), not temporary mode",
  "parent-access-key-id": "mints from its own token",
  "token-scope": "decides where its child tokens live",
  "create-bucket": "does not create buckets",
  "location-hint": "does not create buckets",
  "token-name": "names each child token after the repository and run from the OIDC token",
  "api-url": "talks to Cloudflare itself",
};

const RULES: Rule[] = [
  {
    applies: (c) => c.vendingUrl === undefined && c.audience !== undefined,
    problem: () => ({
      inputs: ["audience", "vending-url"],
      message:
        "Input audience applies only with vending-url (keyless mode). Remove audience, or set vending-url.",
    }),
  },
  {
    applies: (c) => c.buckets.length > 1 && c.mode === "temporary",
    problem: (c) => ({
      inputs: ["bucket", "mode"],
      message: `Inputs bucket and mode conflict: mode temporary mints credentials for one bucket, but bucket names ${c.buckets.length} (${c.buckets.join(", ")}). Name one bucket, or use mode token.`,
    }),
  },
  {
    applies: (c) => c.buckets.length > 1 && c.mode === "token" && (narrows(c) || isAdmin(c)),
    problem: (c) => ({
      inputs: [
        "bucket",
        ...(c.prefixes.length ? ["prefixes"] : []),
        ...(c.objects.length ? ["objects"] : []),
        ...(isAdmin(c) ? ["permission"] : []),
      ],
      message: `Inputs bucket and ${[c.prefixes.length ? "prefixes" : "", c.objects.length ? "objects" : "", isAdmin(c) ? `permission (${c.permission})` : ""].filter(Boolean).join(" and ")} conflict: narrowed and admin credentials cover one bucket, but bucket names ${c.buckets.length} (${c.buckets.join(", ")}). Name one bucket, or run the action once per bucket.`,
    }),
  },
  {
    applies: (c) => c.mode === "token" && c.parentAccessKeyId !== undefined,
    problem: () => ({
      inputs: ["parent-access-key-id", "mode"],
      message:
        "Input parent-access-key-id applies only to mode temporary, but mode is token. Remove parent-access-key-id, or set mode: temporary.",
    }),
  },
  {
    applies: (c) => c.mode === "temporary" && c.tokenName !== undefined,
    problem: () => ({
      inputs: ["token-name", "mode"],
      message:
        "Input token-name applies only to mode token (mode temporary creates no token). Remove token-name, or set mode: token.",
    }),
  },
  {
    applies: (c) => !c.createBucket && c.locationHint !== undefined,
    problem: (c) => ({
      inputs: ["location-hint", "create-bucket"],
      message: `Input location-hint (${c.locationHint}) applies only to buckets the action creates, but create-bucket is false. Remove location-hint, or set create-bucket: true.`,
    }),
  },
];

/**
 * Parses raw inputs into one typed config, or throws an InputError that lists every problem.
 * Runs before any network call; it never quotes the API token.
 */
export function parseConfig(raw: RawInputs, env: ConfigEnv = {}): Config {
  const withDefaults = {} as Record<InputName, string>;
  for (const name of INPUT_NAMES) {
    const given = raw[name] ?? "";
    withDefaults[name] = given.trim() === "" ? INPUT_DEFAULTS[name] : given;
  }
  const keyless = withDefaults["vending-url"].trim() !== "";
  if (keyless) {
    // The Worker holds the account token: an api-token or account-id given here would be ignored, so say so.
    const problems = KEYLESS_CONFLICTS.filter(
      (name) => withDefaults[name].trim() !== INPUT_DEFAULTS[name],
    ).map(
      (name): InputProblem => ({
        inputs: [name, "vending-url"],
        message: `Input ${name} does not apply with vending-url: the credential-vending Worker ${KEYLESS_REASON[name]}. Remove ${name}, or remove vending-url to mint with your own token.`,
      }),
    );
    if (problems.length > 0) throw new InputError(problems);
  }
  // Values taken from the environment are named as such in errors: the input itself was empty.
  const fromEnv = new Map<string, string>();
  for (const [input, variable] of ENV_FALLBACKS) {
    const value = env[variable];
    if (!keyless && withDefaults[input].trim() === "" && value !== undefined && value.trim() !== "") {
      withDefaults[input] = value;
      fromEnv.set(input, variable);
    }
  }

  const schema = keyless
    ? z.extend(rawSchema, { "api-token": z.string(), "account-id": z.string() })
    : rawSchema;
  const parsed = schema.safeParse(withDefaults);
  if (!parsed.success) {
    throw new InputError(
      parsed.error.issues.map((issue) => {
        const input = String(issue.path[0]);
        const variable = fromEnv.get(input);
        const message = variable
          ? issue.message.replace(
              `Input ${input}`,
              `Input ${input} is empty, so ${variable} was used; that value`,
            )
          : issue.message;
        return { inputs: [input, ...(variable ? [variable] : [])], message };
      }),
    );
  }
  const p = parsed.data;
  const config: Config = {
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
    s3Endpoint: p["s3-endpoint"] ?? (keyless ? "" : defaultS3Endpoint(p["account-id"], p.jurisdiction)),
    vendingUrl: p["vending-url"],
    audience: p.audience ?? (p["vending-url"] ? new URL(p["vending-url"]).origin : undefined),
  };
  const problems = RULES.filter((rule) => rule.applies(config)).map((rule) => rule.problem(config));
  if (problems.length > 0) throw new InputError(problems);
  return config;
}
