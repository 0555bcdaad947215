import { AwsV4Signer } from "aws4fetch";
import type { HttpDeps } from "./cloudflare/client.js";
import { randomHex } from "./crypto.js";
import { ActionError } from "./errors.js";

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Empty for token credentials. */
  sessionToken: string;
}

export interface ProbeTarget {
  endpoint: string;
  bucket: string;
  /** A key inside the minted scope; a GET of it answers 404 (or 200) once the credentials are honoured. */
  key: string;
}

export interface Readiness {
  waitedMs: number;
  probes: number;
}

/**
 * Cloudflare takes up to a minute to honour new credentials at the S3 endpoint. Poll every 250 ms
 * for the first 10 s (most propagation ends there, and a short interval keeps the step's tail short),
 * then back off to at most 2 s.
 */
export function pollIntervalMs(elapsedMs: number): number {
  if (elapsedMs < 10_000) return 250;
  return Math.min(2_000, 500 * 2 ** Math.floor((elapsedMs - 10_000) / 5_000));
}

const PROBE_TIMEOUT_MS = 5_000;

/** A URI component as SigV4 canonicalises it: RFC 3986, so `!'()*` too. */
const rfc3986 = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Path-style URL of a key, each segment encoded as SigV4 canonicalises it: the path sent is then the
 * path signed, whatever the server does or does not normalise (a prefix such as `run(1)/`).
 */
export function objectUrl(endpoint: string, bucket: string, key: string): string {
  const path = key.split("/").map(rfc3986).join("/");
  return `${endpoint.replace(/\/+$/, "")}/${encodeURIComponent(bucket)}/${path}`;
}

type ProbeResult =
  | { verdict: "accepted"; status: number }
  | { verdict: "not-yet"; reason: string }
  | { verdict: "no-bucket" };

/** S3's error code from an XML error body, e.g. NoSuchKey or NoSuchBucket. */
function s3ErrorCode(body: string): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
}

/**
 * One probe: a GET of at most one byte of a key inside the scope. A GET rather than a HEAD because
 * only a body tells "no such key" (authorised: the credentials work) from "no such bucket".
 */
async function probeOnce(
  target: ProbeTarget,
  credentials: S3Credentials,
  deps: HttpDeps,
): Promise<ProbeResult> {
  const signer = new AwsV4Signer({
    method: "GET",
    url: objectUrl(target.endpoint, target.bucket, target.key),
    headers: { range: "bytes=0-0" },
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    service: "s3",
    region: "auto",
  });
  const signed = await signer.sign();
  try {
    const response = await deps.fetch(signed.url.toString(), {
      method: "GET",
      headers: Object.fromEntries(signed.headers),
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    if (response.status === 404) {
      const body = await response.text();
      return s3ErrorCode(body) === "NoSuchBucket"
        ? { verdict: "no-bucket" }
        : { verdict: "accepted", status: 404 };
    }
    // 200/206 (the key exists) and 416 (it is empty) prove the credentials were authorised too.
    if ((response.status >= 200 && response.status < 300) || response.status === 416) {
      return { verdict: "accepted", status: response.status };
    }
    return { verdict: "not-yet", reason: `HTTP ${response.status}` };
  } catch (error) {
    return { verdict: "not-yet", reason: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Signs cheap one-byte GETs with the new credentials until the S3 endpoint accepts them.
 * Throws a readiness ActionError at the timeout; the caller deletes what it minted.
 */
async function waitUntilAccepted(
  target: ProbeTarget,
  credentials: S3Credentials,
  timeoutMs: number,
  deps: HttpDeps & { log?: (message: string) => void },
): Promise<Readiness> {
  const started = deps.now();
  const deadline = started + timeoutMs;
  let probes = 0;
  let lastReason = "no answer";
  for (;;) {
    const probeStarted = deps.now();
    probes++;
    const result = await probeOnce(target, credentials, deps);
    const elapsed = deps.now() - started;
    if (result.verdict === "accepted") return { waitedMs: elapsed, probes };
    if (result.verdict === "no-bucket") {
      throw new ActionError(
        "readiness",
        `The S3 endpoint ${target.endpoint} accepts the new credentials, but bucket ${target.bucket} does not exist there (NoSuchBucket).`,
        "Check the bucket name and {name:jurisdiction} (a bucket created in eu needs {set:jurisdiction=eu} and the eu endpoint), or set {set:create-bucket=true}.",
      );
    }
    lastReason = result.reason;
    deps.log?.(`S3 endpoint does not accept the new credentials yet (${lastReason}) after ${elapsed} ms.`);
    if (deps.now() >= deadline) break;
    // The last probe lands on the deadline itself, so the whole wait-timeout is used.
    const nextAt = Math.min(probeStarted + pollIntervalMs(elapsed), deadline);
    await deps.sleep(Math.max(0, nextAt - deps.now()));
  }
  throw new ActionError(
    "readiness",
    `The S3 endpoint ${target.endpoint} did not accept the new credentials within ${Math.round(timeoutMs / 1000)} s (${probes} probes of ${target.bucket}/${target.key}; last answer: ${lastReason}).`,
    "Cloudflare usually honours new credentials within a minute: raise {name:wait-timeout}, check {name:s3-endpoint} and {name:jurisdiction}, or set {set:wait-timeout=0} to skip the check.",
  );
}

/** What the readiness wait proves: the credentials reach this bucket (under the narrowing) at this endpoint. */
export interface ReadinessScope {
  endpoint: string;
  bucket: string;
  prefixes: readonly string[];
  objects: readonly string[];
  /** 0 skips the wait. */
  waitTimeoutSeconds: number;
}

export function readinessScope(config: {
  s3Endpoint: string;
  buckets: readonly string[];
  prefixes: readonly string[];
  objects: readonly string[];
  waitTimeoutSeconds: number;
}): ReadinessScope {
  return {
    endpoint: config.s3Endpoint,
    bucket: config.buckets[0] as string,
    prefixes: config.prefixes,
    objects: config.objects,
    waitTimeoutSeconds: config.waitTimeoutSeconds,
  };
}

/** A key the minted scope allows: a random one in the bucket or under the first prefix, else the first object. */
function probeKey(scope: Pick<ReadinessScope, "prefixes" | "objects">): string {
  const random = `r2-ephemeral-readiness-${randomHex(8)}`;
  if (scope.prefixes[0] !== undefined) return `${scope.prefixes[0]}${random}`;
  return scope.objects[0] ?? random;
}

/** Proves the credentials at the S3 endpoint (unless wait-timeout is 0) and says how long it took. */
export async function waitForReadiness(
  scope: ReadinessScope,
  credentials: S3Credentials,
  deps: HttpDeps & { log: (message: string) => void; debug: (message: string) => void },
): Promise<Readiness | undefined> {
  if (scope.waitTimeoutSeconds === 0) {
    deps.log("wait-timeout is 0: not checking that the S3 endpoint accepts the credentials yet.");
    return undefined;
  }
  const readiness = await waitUntilAccepted(
    { endpoint: scope.endpoint, bucket: scope.bucket, key: probeKey(scope) },
    credentials,
    scope.waitTimeoutSeconds * 1000,
    { ...deps, log: deps.debug },
  );
  deps.log(
    `The S3 endpoint accepted the credentials after ${readiness.waitedMs} ms (${readiness.probes} probe${readiness.probes === 1 ? "" : "s"}).`,
  );
  return readiness;
}
