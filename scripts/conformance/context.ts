// What every check works with: the API and S3 of the target, the run's resources, and shared
// fixtures (the run's buckets and tokens, made once, on first use).
import { setTimeout as sleep } from "node:timers/promises";
import { Skip } from "./check.js";
import {
  type ApiAnswer,
  type ApiCall,
  acceptedByS3,
  callApi,
  callS3,
  describeAnswer,
  describeS3,
  randomHex,
  type S3Answer,
  type S3Credentials,
  tokenS3Credentials,
} from "./http.js";
import { type Jurisdiction, Resources, type Target } from "./resources.js";

export interface CreatedToken {
  id: string;
  name: string;
  value: string;
}

export interface Group {
  id: string;
  name: string;
  scopes?: string[];
  category?: unknown;
  is_selectable?: unknown;
}

export interface Readiness {
  ms: number;
  attempts: number;
  /** Answers while refused, e.g. "403 AccessDenied" → count. */
  refusals: Map<string, number>;
}

export const GROUP = {
  storageWrite: "Workers R2 Storage Write",
  storageRead: "Workers R2 Storage Read",
  itemWrite: "Workers R2 Storage Bucket Item Write",
  itemRead: "Workers R2 Storage Bucket Item Read",
} as const;

export interface ContextOptions {
  target: Target;
  /** Against a real account (or the emulator through --live): waits are longer. */
  live: boolean;
  runId: string;
  signal: AbortSignal;
  /** Progress for people (stderr); the verdicts go elsewhere. */
  log: (line: string) => void;
  /** How long to wait for credentials to be accepted at S3. */
  readyTimeoutMs: number;
  pollIntervalMs: number;
}

const once = <T>(make: () => Promise<T>): (() => Promise<T>) => {
  let p: Promise<T> | undefined;
  return () => {
    p ??= make();
    // A failed fixture is tried again by the next check that needs it.
    p.catch(() => {
      p = undefined;
    });
    return p;
  };
};

export class Context {
  readonly target: Target;
  readonly live: boolean;
  readonly prefix: string;
  readonly resources: Resources;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
  readonly readyTimeoutMs: number;
  readonly pollIntervalMs: number;
  /** Set by the propagation check: how long a new token took to be accepted at S3. */
  propagation: Readiness | undefined;

  constructor(o: ContextOptions) {
    this.target = o.target;
    this.live = o.live;
    this.prefix = `r2e-conformance-${o.runId}-`;
    this.resources = new Resources(this.prefix);
    this.signal = o.signal;
    this.log = o.log;
    this.readyTimeoutMs = o.readyTimeoutMs;
    this.pollIntervalMs = o.pollIntervalMs;
  }

  /** `/accounts/<id><path>`. */
  account(path = ""): string {
    return `/accounts/${this.target.accountId}${path}`;
  }

  /** A call with the run's token unless `call.token` says otherwise. */
  api(method: string, path: string, call: Partial<ApiCall> = {}): Promise<ApiAnswer> {
    this.signal.throwIfAborted();
    return callApi(this.target.apiUrl, method, path, {
      token: this.target.token,
      ...call,
      signal: this.signal,
    });
  }

  s3Endpoint(jurisdiction: Jurisdiction = "default"): string {
    const endpoint = this.target.s3Endpoints[jurisdiction];
    if (!endpoint)
      throw new Skip(
        `no S3 endpoint for the ${jurisdiction} jurisdiction (--s3-endpoint ${jurisdiction}=URL)`,
      );
    return endpoint;
  }

  s3(
    path: string,
    credentials: S3Credentials | undefined,
    init: {
      method?: string;
      headers?: Record<string, string>;
      body?: string;
      jurisdiction?: Jurisdiction;
    } = {},
  ): Promise<S3Answer> {
    this.signal.throwIfAborted();
    return callS3(`${this.s3Endpoint(init.jurisdiction)}${path}`, credentials, {
      ...init,
      signal: this.signal,
    });
  }

  // --- what the run's token is ------------------------------------------------------------------

  /** The run's token: its id (its S3 access key id) and whether it is account- or user-owned. */
  readonly self = once(async () => {
    const account = await this.api("GET", this.account("/tokens/verify"));
    if (account.status === 200 && typeof account.result?.id === "string") {
      return { id: account.result.id as string, owner: "account" as const };
    }
    const user = await this.api("GET", "/user/tokens/verify");
    if (user.status === 200 && typeof user.result?.id === "string") {
      return { id: user.result.id as string, owner: "user" as const };
    }
    throw new Error(
      `the token does not verify: account verify ${describeAnswer(account)}, user verify ${describeAnswer(user)}`,
    );
  });

  /** The run's token's own S3 credentials (it holds R2 Storage Write on the account). */
  async selfS3(): Promise<S3Credentials> {
    return tokenS3Credentials({ id: (await this.self()).id, value: this.target.token });
  }

  /** The account's permission groups, by name. */
  readonly groups = once(async () => {
    const res = await this.api("GET", this.account("/tokens/permission_groups"));
    if (res.status !== 200 || !Array.isArray(res.result)) {
      throw new Error(`cannot list permission groups: ${describeAnswer(res)}`);
    }
    return new Map((res.result as Group[]).map((g) => [g.name, g]));
  });

  async groupId(name: string): Promise<string> {
    const g = (await this.groups()).get(name);
    if (!g) throw new Skip(`Cloudflare lists no permission group named ${JSON.stringify(name)}`);
    return g.id;
  }

  // --- resources of the run ---------------------------------------------------------------------

  name(label: string): string {
    return `${this.prefix}${label}`;
  }

  bucketKey(bucket: string, jurisdiction: Jurisdiction = "default"): string {
    return `com.cloudflare.edge.r2.bucket.${this.target.accountId}_${jurisdiction}_${bucket}`;
  }

  accountKey(): string {
    return `com.cloudflare.api.account.${this.target.accountId}`;
  }

  async policy(group: string, resources: Record<string, unknown>) {
    return { effect: "allow", permission_groups: [{ id: await this.groupId(group) }], resources };
  }

  /** An expiry an hour ahead, so a token the clean-up misses still dies. */
  inAnHour(): string {
    return new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  /** POST …/tokens with the run's name for `label`; tracked when it succeeds. */
  async createToken(
    label: string,
    body: Record<string, unknown>,
    call: Partial<ApiCall> = {},
  ): Promise<{ answer: ApiAnswer; token?: CreatedToken }> {
    const name = this.name(label);
    const answer = await this.api("POST", this.account("/tokens"), {
      ...call,
      body: { expires_on: this.inAnHour(), ...body, name },
    });
    const id = answer.result?.id;
    if (typeof id === "string") this.resources.token(id, name);
    if (answer.status === 200 && typeof id === "string" && typeof answer.result?.value === "string") {
      return { answer, token: { id, name, value: answer.result.value } };
    }
    return { answer };
  }

  /** A token that must be created for the check to go on. */
  async mustCreateToken(
    label: string,
    policies: unknown[],
    extra: Record<string, unknown> = {},
  ): Promise<CreatedToken> {
    const { answer, token } = await this.createToken(label, { policies, ...extra });
    if (!token) throw new Error(`could not create token ${this.name(label)}: ${describeAnswer(answer)}`);
    return token;
  }

  async deleteToken(id: string): Promise<ApiAnswer> {
    const answer = await this.api("DELETE", this.account(`/tokens/${id}`));
    if (answer.status === 200) this.resources.tokenDeleted(id);
    return answer;
  }

  jurisdictionHeaders(jurisdiction: Jurisdiction): Record<string, string> {
    return jurisdiction === "default" ? {} : { "cf-r2-jurisdiction": jurisdiction };
  }

  /** POST …/r2/buckets with the run's name for `label`; tracked when it succeeds. */
  async createBucket(
    label: string,
    jurisdiction: Jurisdiction = "default",
    extra: Record<string, unknown> = {},
  ): Promise<{ answer: ApiAnswer; name: string }> {
    const name = this.name(label);
    this.resources.jurisdictions.add(jurisdiction);
    const answer = await this.api("POST", this.account("/r2/buckets"), {
      body: { name, ...extra },
      headers: this.jurisdictionHeaders(jurisdiction),
    });
    if (answer.status === 200) this.resources.bucket(name, jurisdiction);
    return { answer, name };
  }

  private async mustCreateBucket(label: string, jurisdiction: Jurisdiction): Promise<string> {
    const { answer, name } = await this.createBucket(label, jurisdiction);
    if (answer.status !== 200)
      throw new Error(`could not create bucket ${name} (${jurisdiction}): ${describeAnswer(answer)}`);
    return name;
  }

  /** The run's bucket in the default jurisdiction. */
  readonly bucket = once(() => this.mustCreateBucket("main", "default"));
  /** The run's bucket in the eu jurisdiction. */
  readonly euBucket = once(() => this.mustCreateBucket("eu", "eu"));

  /** A token holding only Bucket Item Write on the run's bucket: what the action mints. */
  readonly itemWriter = once(async () => {
    const bucket = await this.bucket();
    const policy = await this.policy(GROUP.itemWrite, { [this.bucketKey(bucket)]: "*" });
    return this.apiReady(await this.mustCreateToken("item-writer", [policy]));
  });

  /** The same on the eu bucket. */
  readonly euItemWriter = once(async () => {
    const bucket = await this.euBucket();
    const policy = await this.policy(GROUP.itemWrite, { [this.bucketKey(bucket, "eu")]: "*" });
    return this.apiReady(await this.mustCreateToken("eu-item-writer", [policy]));
  });

  /** A token holding only Workers R2 Storage Read on the account. */
  readonly storageReader = once(async () => {
    const policy = await this.policy(GROUP.storageRead, { [this.accountKey()]: "*" });
    return this.apiReady(await this.mustCreateToken("storage-reader", [policy]));
  });

  /**
   * Waits until a new token verifies at the API, so that what a check then sees with it is the
   * endpoint's answer, not the token being too new.
   */
  async apiReady(token: CreatedToken): Promise<CreatedToken> {
    const start = Date.now();
    for (;;) {
      const res = await this.api("GET", this.account("/tokens/verify"), { token: token.value });
      if (res.status === 200) return token;
      if (Date.now() - start >= this.readyTimeoutMs) {
        throw new Error(`token ${token.name} never verified at the API: ${describeAnswer(res)}`);
      }
      await sleep(this.pollIntervalMs, undefined, { signal: this.signal });
    }
  }

  /**
   * The run's bucket, once S3 no longer answers NoSuchBucket for it (a new bucket may take a moment
   * to reach S3). Probed with the run's own credentials; any other answer ends the wait.
   */
  readonly bucketAtS3 = once(async () => {
    const bucket = await this.bucket();
    const creds = await this.selfS3();
    const ready = await this.waitAccepted(
      `bucket ${bucket}`,
      () => this.s3(`/${bucket}?list-type=2&max-keys=1`, creds),
      (answer) => answer.code !== "NoSuchBucket",
    );
    if (!ready) throw new Error(`S3 does not find bucket ${bucket} with the run's own token`);
    return bucket;
  });

  /** An object in the run's bucket, written with the run's own S3 credentials. */
  readonly probeObject = once(async () => {
    const bucket = await this.bucketAtS3();
    const key = "conformance/probe.txt";
    const put = await this.s3(`/${bucket}/${key}`, await this.selfS3(), { method: "PUT", body: "probe" });
    if (put.status !== 200)
      throw new Error(`could not write ${key} with the run's own token: ${describeS3(put)}`);
    return { bucket, key };
  });

  // --- waiting for S3 ---------------------------------------------------------------------------

  /**
   * Polls S3 with `probe` until an answer is not a 401 or 403 (or `readyTimeoutMs` passes). Returns
   * how long it took, or undefined on a timeout.
   */
  async waitAccepted(
    what: string,
    probe: () => Promise<S3Answer>,
    accepted: (answer: S3Answer) => boolean = acceptedByS3,
  ): Promise<Readiness | undefined> {
    const start = Date.now();
    const refusals = new Map<string, number>();
    let attempts = 0;
    for (;;) {
      attempts += 1;
      const answer = await probe();
      if (accepted(answer)) return { ms: Date.now() - start, attempts, refusals };
      if (attempts === 1) {
        this.log(`waiting for ${what} at S3 (up to ${Math.round(this.readyTimeoutMs / 1000)} s)…`);
      }
      const key = describeS3(answer).replace(/^HTTP /, "");
      refusals.set(key, (refusals.get(key) ?? 0) + 1);
      if (Date.now() - start >= this.readyTimeoutMs) return undefined;
      await sleep(this.pollIntervalMs, undefined, { signal: this.signal });
    }
  }

  /** Waits until a token's S3 credentials are accepted on the run's bucket (a GET of a missing key). */
  async tokenReady(token: CreatedToken): Promise<Readiness> {
    const bucket = await this.bucketAtS3();
    const missing = `conformance/missing-${randomHex(4)}`;
    const ready = await this.waitAccepted(`token ${token.name}`, () =>
      this.s3(`/${bucket}/${missing}`, tokenS3Credentials(token)),
    );
    if (!ready)
      throw new Error(`token ${token.name} was not accepted at S3 within ${this.readyTimeoutMs} ms`);
    return ready;
  }

  /**
   * Creates a control token (Item Read on the run's bucket) and waits until S3 accepts it: a token
   * created before it has then had as long to propagate, so a refusal of that one is a real answer.
   */
  async controlReady(): Promise<void> {
    const bucket = await this.bucket();
    const control = await this.mustCreateToken(`control-${randomHex(2)}`, [
      await this.policy(GROUP.itemRead, { [this.bucketKey(bucket)]: "*" }),
    ]);
    await this.tokenReady(control);
  }

  /** Temporary credentials for the run's item writer, minted by the run's token. */
  async tempCredentials(
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<ApiAnswer> {
    const [bucket, parent] = await Promise.all([this.bucket(), this.itemWriter()]);
    return this.api("POST", this.account("/r2/temp-access-credentials"), {
      body: {
        bucket,
        parentAccessKeyId: parent.id,
        permission: "object-read-only",
        ttlSeconds: 900,
        ...body,
      },
      headers,
    });
  }
}
