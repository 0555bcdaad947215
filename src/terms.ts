/**
 * The contract's words: the action's inputs and their defaults, and the values and limits they
 * take. action.yml, the CLI's flags, the Worker's settings and the Cloudflare calls all speak
 * these; a test holds action.yml to this table. Nothing here parses anything.
 */

/** Every input of action.yml with its default, in the order users read them. The CLI's flags carry the same names. */
export const INPUT_DEFAULTS = {
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
  "api-url": "https://api.cloudflare.com/client/v4",
  "s3-endpoint": "",
  "vending-url": "",
  audience: "",
  "aws-profile": "",
} as const;
export type InputName = keyof typeof INPUT_DEFAULTS;
export const INPUT_NAMES = Object.keys(INPUT_DEFAULTS) as InputName[];

/** Inputs that take true or false (on the command line, switches). */
export const BOOLEAN_INPUTS: ReadonlySet<string> = new Set<InputName>([
  "create-bucket",
  "export-env",
  "revoke",
]);

/** Environment variables that stand in for an empty input. */
export const ENV_FALLBACKS = {
  "api-token": "CLOUDFLARE_API_TOKEN",
  "account-id": "CLOUDFLARE_ACCOUNT_ID",
} as const satisfies Partial<Record<InputName, string>>;

export const DEFAULT_API_URL = INPUT_DEFAULTS["api-url"];

export const PERMISSIONS = [
  "object-read-only",
  "object-read-write",
  "admin-read-only",
  "admin-read-write",
] as const;
export type Permission = (typeof PERMISSIONS)[number];
export const JURISDICTIONS = ["default", "eu", "us", "fedramp"] as const;
export type Jurisdiction = (typeof JURISDICTIONS)[number];
/** Jurisdictions Cloudflare's API names that the action cannot serve yet, and why. */
export const NOT_YET_JURISDICTIONS: Readonly<Record<string, string>> = {
  "fedramp-high": "Cloudflare's API accepts it, but its S3 endpoint is not documented",
};
export const MODES = ["token", "temporary"] as const;
export type Mode = (typeof MODES)[number];
export const TOKEN_SCOPES = ["account", "user"] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];
export const LOCATION_HINTS = ["apac", "eeur", "enam", "weur", "wnam", "oc"] as const;
export type LocationHint = (typeof LOCATION_HINTS)[number];

export const MIN_TTL_SECONDS = 60;
export const MAX_TTL_SECONDS = 604_800;
export const MAX_WAIT_TIMEOUT_SECONDS = 3_600;
/** Cloudflare's limit on token names. */
export const MAX_CLOUDFLARE_TOKEN_NAME = 120;
/** What a token-name may use: the mint id and its space take 9 of Cloudflare's 120. */
export const MAX_TOKEN_NAME_LENGTH = MAX_CLOUDFLARE_TOKEN_NAME - 9;

/** admin-* grants account-level R2 storage groups; object-* the per-bucket item groups. */
export function isAdmin(permission: Permission): boolean {
  return permission.startsWith("admin-");
}

/** Credentials narrowed below a whole bucket: by key prefixes or exact object keys. */
export function isNarrowed(request: { prefixes: readonly string[]; objects: readonly string[] }): boolean {
  return request.prefixes.length > 0 || request.objects.length > 0;
}

/** The S3 endpoint of an account in a jurisdiction. */
export function defaultS3Endpoint(accountId: string, jurisdiction: Jurisdiction): string {
  return jurisdiction === "default"
    ? `https://${accountId}.r2.cloudflarestorage.com`
    : `https://${accountId}.${jurisdiction}.r2.cloudflarestorage.com`;
}
