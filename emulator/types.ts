// Public types of the emulator (re-exported from index.ts). Other code depends on these shapes.

export type Jurisdiction = "default" | "eu" | "us" | "fedramp";
export const JURISDICTIONS: readonly Jurisdiction[] = ["default", "eu", "us", "fedramp"];

export type TempCredentialCallers = "parent" | "storage-write" | "parent-or-storage-write";

/** Whether temporary credentials get an access key id of their own or reuse their parent's. */
export type TempAccessKeyId = "own" | "parent";

/**
 * Rules Cloudflare does not document, where the evidence points one way and a switch lets tests take
 * the other (emulator/README.md lists each with its conformance check; `npm run conformance` checks
 * them against a real account).
 */
export interface Assumptions {
  /** Tokens holding only bucket-scoped item groups on R2 REST endpoints (bucket list/get/create/delete, temp-access-credentials, cors): refused with 403 and code 10000 "Authentication error" (third-party live probe) — or allowed as today. */
  bucketScopedRestCallers: "refused" | "allowed";
  /** temp-access-credentials resolves `bucket` only in the jurisdiction of the cf-r2-jurisdiction header (default when absent) — or, as today, in any jurisdiction the parent covers. */
  tempCredentialJurisdiction: "header" | "any";
  /** REST bucket create of an existing name: code 10004 "The bucket you tried to create already exists, and you own it." with this HTTP status (S3 CreateBucket keeps 409/10073). */
  bucketCreateConflictStatus: 409 | 400;
  /** Token create/update naming a permission-group id Cloudflare does not know: this status and code. */
  unknownPermissionGroup: "400/1001" | "403/9109" | "404/7003";
  /** A `+` in a query string value: kept literally (so `name=Workers+R2…` matches nothing) or decoded as a space. */
  queryPlus: "literal" | "space";
  /** S3 uploads with an aws-chunked body whose checksum travels as a trailer (x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER or STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER): refused as R2 is reported to refuse them — or accepted as today. */
  checksumTrailer: "refused" | "accepted";
  /** DELETE of a token that was already deleted: 404/7003 as today, or 403/9109 (unverified either way). */
  deleteGoneToken: "404/7003" | "403/9109";
}

export interface EmulatorOptions {
  host?: string;
  apiPort?: number;
  accountId?: string;
  userId?: string;
  /** New credentials (tokens and temp creds) are refused by S3 with 403 for this long. */
  propagationDelayMs?: number;
  /** Deleted tokens (and their temp creds) are still honoured by S3 for this long. */
  revocationDelayMs?: number;
  /** Added before answering every Cloudflare API request. */
  latencyMs?: number;
  /** Group NAME -> id override, to simulate Cloudflare rotating IDs. */
  permissionGroupIds?: Partial<Record<string, string>>;
  /**
   * Who may call temp-access-credentials (docs/cloudflare-api.md §7, question 1); default
   * "storage-write": only an account-level R2 Storage Write token, for itself or another parent.
   */
  tempCredentialCallers?: TempCredentialCallers;
  /** Default "own": a fresh 32-hex access key id per temporary credential. */
  tempAccessKeyId?: TempAccessKeyId;
  /** Undocumented rules; each one not given takes its default (DEFAULT_ASSUMPTIONS). */
  assumptions?: Partial<Assumptions>;
  /** Per calling token, Cloudflare API only. */
  rateLimit?: { requests: number; windowMs: number };
  /** Live tokens per owner; default 50 (user) / 500 (account). */
  quotas?: { user: number; account: number };
  /**
   * Moves the emulator's clock (its API and S3 endpoints alike) this far ahead of the real one, so a
   * test can let presigned URLs, tokens and temporary credentials expire without waiting. Default 0.
   */
  clockOffsetMs?: number;
}

export type SettableOptions = Partial<
  Pick<
    EmulatorOptions,
    | "propagationDelayMs"
    | "revocationDelayMs"
    | "latencyMs"
    | "rateLimit"
    | "tempCredentialCallers"
    | "tempAccessKeyId"
    | "assumptions"
    | "clockOffsetMs"
  >
>;

export type TokenScope = "account" | "user";

export interface PolicyInput {
  effect: "allow" | "deny";
  permission_groups: { id: string; name?: string }[];
  resources: Record<string, string | Record<string, string>>;
}

export type SeedPreset = "minter" | "user-minter" | "r2-admin" | "r2-bucket-write" | "no-permissions";

export interface SeedSpec {
  scope: TokenScope;
  name?: string;
  preset?: SeedPreset;
  policies?: PolicyInput[];
  expiresOn?: string;
  /** For `r2-bucket-write`: bucket names, or `<jurisdiction>:<name>`; a bare name uses the
   * jurisdiction the bucket exists in (default if it does not exist yet). */
  buckets?: string[];
}

export interface SeededToken {
  id: string;
  value: string;
}

export interface TokenPolicyView {
  id: string;
  effect: "allow" | "deny";
  permission_groups: { id: string; name: string }[];
  resources: Record<string, unknown>;
}

export interface TokenView {
  id: string;
  name: string;
  scope: TokenScope;
  status: "active" | "disabled" | "expired";
  issued_on: string;
  modified_on: string;
  not_before?: string;
  expires_on?: string;
  policies: TokenPolicyView[];
  seeded: boolean;
}

export type RouteName =
  | "tokens.create"
  | "tokens.list"
  | "tokens.get"
  | "tokens.update"
  | "tokens.delete"
  | "tokens.verify"
  | "tokens.roll"
  | "permission_groups.list"
  | "r2.temp_credentials"
  | "r2.buckets.list"
  | "r2.buckets.create"
  | "r2.buckets.get"
  | "r2.buckets.delete"
  | "r2.buckets.cors.get"
  | "r2.buckets.cors.put"
  | "r2.buckets.cors.delete"
  | "unknown";

export interface CallRecord {
  method: string;
  /** Without the /client/v4 prefix, with the query string. */
  path: string;
  route: RouteName;
  /** HTTP status answered; 0 when the connection was dropped without an answer. */
  status: number;
  /** Id of the calling token, never its value. */
  tokenId?: string;
  /** Parsed JSON request body. */
  body?: unknown;
  at: number;
}

export interface S3CallRecord {
  method: string;
  bucket: string;
  key: string;
  accessKeyId?: string;
  status: number;
  at: number;
}

export type FaultKind =
  | { type: "status"; status: number; retryAfter?: string; errors?: { code: number; message: string }[] }
  | { type: "latency"; ms: number }
  | { type: "drop-after" }
  | { type: "drop-before" }
  | { type: "malformed" }
  | { type: "success-false" }
  /**
   * Acts, then answers success with this result instead of its own (an older or leaner answer
   * shape); a function gets the result the emulator would have answered (an odd field in it).
   */
  | { type: "result-after"; result: unknown | ((own: unknown) => unknown) };

export interface Fault {
  route: RouteName;
  /** tokens.* routes exist for both scopes; omitted = both. */
  scope?: "account" | "user";
  /** 1-based call number on that route at which the fault starts (counted from injection). */
  nth?: number;
  /** How many consecutive calls it affects. */
  times?: number;
  kind: FaultKind;
}

export interface Emulator {
  readonly accountId: string;
  readonly userId: string;
  /** e.g. "http://127.0.0.1:41234/client/v4" (no trailing slash). */
  readonly apiUrl: string;
  /** e.g. "http://127.0.0.1:41234/__emulator". */
  readonly inspectUrl: string;
  /** One loopback listener per jurisdiction; path-style addressing. */
  s3Endpoint(jurisdiction?: Jurisdiction): string;
  /** Creates a token directly (not counted as an API call). */
  seedToken(spec: SeedSpec): SeededToken;
  /** Idempotent: an existing bucket is left alone. */
  createBucket(name: string, jurisdiction?: Jurisdiction): void;
  putObject(bucket: string, key: string, body: string | Uint8Array, jurisdiction?: Jurisdiction): void;
  getObject(bucket: string, key: string, jurisdiction?: Jurisdiction): Uint8Array | undefined;
  /**
   * Puts `count` tokens into the account's list shaped the way OAuth-provisioned or newer tokens may
   * look (unknown fields, missing `issued_on`/`status`, `expires_on: null`, policies the project does
   * not model): items a strict parser of the project's token schema would reject. They hold no
   * permissions, count as seeded, and can be read and deleted through the API.
   */
  seedOddTokens(count: number): { id: string; name: string }[];
  /** Tokens not deleted (expired ones included), without values. */
  liveTokens(): TokenView[];
  /** liveTokens() minus seeded ones. */
  liveChildTokens(): TokenView[];
  readonly calls: CallRecord[];
  s3Calls: S3CallRecord[];
  resetCalls(): void;
  injectFault(fault: Fault): void;
  clearFaults(): void;
  set(options: SettableOptions): void;
  /** The undocumented rules in force now (defaults merged with the start options and set()). */
  readonly assumptions: Readonly<Assumptions>;
  close(): Promise<void>;
}
