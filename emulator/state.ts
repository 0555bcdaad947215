// The emulator's in-memory world: tokens, temporary credentials, buckets and objects, and the
// call logs. Route modules read and change it; nothing here speaks HTTP.
import type { GroupKey, PermissionGroup } from "./permission-groups.js";
import { expandPolicies, type Grant, type ResolvedPolicy } from "./policy.js";
import type {
  Assumptions,
  CallRecord,
  Jurisdiction,
  S3CallRecord,
  TempAccessKeyId,
  TempCredentialCallers,
  TokenScope,
} from "./types.js";

export interface StoredPolicy {
  id: string;
  effect: "allow" | "deny";
  permission_groups: { id: string; name: string }[];
  resources: Record<string, unknown>;
  groups: GroupKey[];
}

export interface TokenRecord {
  id: string;
  name: string;
  scope: TokenScope;
  value: string;
  /** S3 secret access key: sha256 hex of `value` (docs/cloudflare-api.md §4). */
  secret: string;
  disabled: boolean;
  issuedOn: number;
  modifiedOn: number;
  notBefore?: number;
  expiresOn?: number;
  condition?: unknown;
  policies: StoredPolicy[];
  seeded: boolean;
  /**
   * Odd-shaped tokens (seedOddTokens): the object the API answers for this token, as it is, in place
   * of the one built from the fields above.
   */
  shape?: Record<string, unknown>;
  /** Insertion order, to list tokens stably. */
  seq: number;
  deletedAt?: number;
}

export type TempPermission =
  | "admin-read-write"
  | "admin-read-only"
  | "object-read-write"
  | "object-read-only";

export interface TempCredRecord {
  accessKeyId: string;
  secret: string;
  sessionToken: string;
  parentId: string;
  bucket: string;
  jurisdiction: Jurisdiction;
  permission: TempPermission;
  prefixes?: string[];
  objects?: string[];
  createdAt: number;
  expiresAt: number;
}

export interface StoredObject {
  body: Uint8Array;
  etag: string;
  lastModified: number;
  contentType?: string;
  metadata: Record<string, string>;
}

export interface MultipartUpload {
  key: string;
  initiated: number;
  contentType?: string;
  metadata: Record<string, string>;
  parts: Map<number, { body: Uint8Array; etag: string }>;
}

/** A bucket CORS rule in the camelCase shape of the REST API (docs/cloudflare-api.md §5). */
export interface CorsRule {
  id?: string;
  allowed: { methods: string[]; origins: string[]; headers?: string[] };
  exposeHeaders?: string[];
  maxAgeSeconds?: number;
}

export interface Bucket {
  name: string;
  jurisdiction: Jurisdiction;
  creationDate: number;
  location: string;
  storageClass: "Standard" | "InfrequentAccess";
  objects: Map<string, StoredObject>;
  uploads: Map<string, MultipartUpload>;
  /** Set through `PUT …/r2/buckets/{b}/cors`; undefined when no policy is set. */
  cors?: CorsRule[];
}

interface MutableOptions {
  propagationDelayMs: number;
  revocationDelayMs: number;
  latencyMs: number;
  rateLimit?: { requests: number; windowMs: number };
  tempCredentialCallers: TempCredentialCallers;
  tempAccessKeyId: TempAccessKeyId;
  assumptions: Assumptions;
  quotas: { user: number; account: number };
  /** How far the emulator's clock runs ahead of the real one (API and S3 alike). */
  clockOffsetMs: number;
}

type TokenStatus = "active" | "disabled" | "expired";

export class State {
  readonly tokens = new Map<string, TokenRecord>();
  readonly tokenIdByValue = new Map<string, string>();
  /** Temporary credentials by session token: their access key ids need not be unique (§8.10). */
  readonly temps = new Map<string, TempCredRecord>();
  readonly buckets = new Map<string, Bucket>();
  calls: CallRecord[] = [];
  s3Calls: S3CallRecord[] = [];
  private seq = 0;

  constructor(
    readonly accountId: string,
    readonly userId: string,
    readonly groups: PermissionGroup[],
    readonly options: MutableOptions,
    private readonly realNow: () => number = Date.now,
  ) {}

  /** The emulator's time: what every expiry, signature date and log entry is measured against. */
  now(): number {
    return this.realNow() + this.options.clockOffsetMs;
  }

  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  groupById(id: string): PermissionGroup | undefined {
    return this.groups.find((g) => g.id === id);
  }

  statusOf(t: TokenRecord): TokenStatus {
    if (t.disabled) return "disabled";
    if (t.expiresOn !== undefined && t.expiresOn <= this.now()) return "expired";
    return "active";
  }

  /** A token the Cloudflare API accepts as caller: live, active and past not_before. */
  usableForApi(t: TokenRecord | undefined): t is TokenRecord {
    return (
      t !== undefined &&
      t.deletedAt === undefined &&
      this.statusOf(t) === "active" &&
      (t.notBefore === undefined || t.notBefore <= this.now())
    );
  }

  tokenByValue(value: string): TokenRecord | undefined {
    const id = this.tokenIdByValue.get(value);
    return id === undefined ? undefined : this.tokens.get(id);
  }

  liveToken(id: string): TokenRecord | undefined {
    const t = this.tokens.get(id);
    return t && t.deletedAt === undefined ? t : undefined;
  }

  grantsOf(t: TokenRecord): Grant[] {
    const resolved: ResolvedPolicy[] = t.policies.map((p) => ({
      effect: p.effect,
      groups: p.groups,
      resources: p.resources,
    }));
    return expandPolicies(resolved);
  }

  ownerCount(scope: TokenScope): number {
    let n = 0;
    for (const t of this.tokens.values()) if (t.scope === scope && t.deletedAt === undefined) n += 1;
    return n;
  }

  /** The first temporary credential with this access key id (several may share their parent's). */
  tempWithKey(accessKeyId: string): TempCredRecord | undefined {
    return [...this.temps.values()].find((t) => t.accessKeyId === accessKeyId);
  }

  bucket(name: string, jurisdiction: Jurisdiction): Bucket | undefined {
    return this.buckets.get(`${jurisdiction}/${name}`);
  }

  addBucket(b: Bucket): void {
    this.buckets.set(`${b.jurisdiction}/${b.name}`, b);
  }

  removeBucket(name: string, jurisdiction: Jurisdiction): void {
    this.buckets.delete(`${jurisdiction}/${name}`);
  }

  bucketsIn(jurisdiction: Jurisdiction): Bucket[] {
    return [...this.buckets.values()].filter((b) => b.jurisdiction === jurisdiction);
  }
}
