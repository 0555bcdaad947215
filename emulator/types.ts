// Public types of the emulator (re-exported from index.ts). Other code depends on these shapes.

export type Jurisdiction = "default" | "eu" | "us" | "fedramp";
export const JURISDICTIONS: readonly Jurisdiction[] = ["default", "eu", "us", "fedramp"];

export type TempCredentialCallers = "parent" | "storage-write" | "parent-or-storage-write";

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
  tempCredentialCallers?: TempCredentialCallers;
  /** Per calling token, Cloudflare API only. */
  rateLimit?: { requests: number; windowMs: number };
  /** Live tokens per owner; default 50 (user) / 500 (account). */
  quotas?: { user: number; account: number };
}

export type SettableOptions = Partial<
  Pick<
    EmulatorOptions,
    "propagationDelayMs" | "revocationDelayMs" | "latencyMs" | "rateLimit" | "tempCredentialCallers"
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
  | { type: "success-false" };

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
  close(): Promise<void>;
}
