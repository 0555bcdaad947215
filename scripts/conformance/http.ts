// Raw calls to the Cloudflare v4 API and to the R2 S3 endpoint, returning what came back (status,
// error codes, S3 error code) instead of throwing, so a check sees exactly what Cloudflare answered.
import { createHash, randomBytes } from "node:crypto";
import { AwsClient } from "aws4fetch";

export interface ApiAnswer {
  status: number;
  /** The codes of `errors`, in order. */
  codes: number[];
  errors: { code: number; message: string; error_chain?: { code: number }[] }[];
  success: boolean | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: results are arbitrary JSON, read by each check
  result: any;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  resultInfo: any;
  /** The body as text, for answers that are not a v4 envelope. */
  text: string;
}

export interface ApiCall {
  /** A token value; `null` sends no Authorization header. */
  token: string | null;
  body?: unknown;
  /** Sent as it is (for bodies that are not JSON). */
  rawBody?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

const REQUEST_TIMEOUT_MS = 30_000;

function timeoutSignal(signal: AbortSignal | undefined): AbortSignal {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

/** One call; `path` is below the API URL and carries its query string as written. */
export async function callApi(
  apiUrl: string,
  method: string,
  path: string,
  call: ApiCall,
): Promise<ApiAnswer> {
  const headers: Record<string, string> = { accept: "application/json", ...call.headers };
  if (call.token !== null) headers.authorization ??= `Bearer ${call.token}`;
  let body: string | undefined;
  if (call.rawBody !== undefined) body = call.rawBody;
  else if (call.body !== undefined) body = JSON.stringify(call.body);
  if (body !== undefined) headers["content-type"] ??= "application/json";
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers,
    body,
    signal: timeoutSignal(call.signal),
  });
  const text = await response.text();
  // biome-ignore lint/suspicious/noExplicitAny: arbitrary JSON
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const errors = Array.isArray(json?.errors) ? json.errors : [];
  return {
    status: response.status,
    codes: errors.map((e: { code: number }) => e.code),
    errors,
    success: typeof json?.success === "boolean" ? json.success : undefined,
    result: json?.result,
    resultInfo: json?.result_info,
    text,
  };
}

/** "HTTP 403, codes 10000 Authentication error", the way refuted lines quote an answer. */
export function describeAnswer(a: ApiAnswer): string {
  if (a.status === 0) return "no answer";
  const codes = a.errors.map((e) => `${e.code}${e.message ? ` ${e.message.replace(/[.\s]+$/, "")}` : ""}`);
  return `HTTP ${a.status}${codes.length > 0 ? `, codes ${codes.join("; ")}` : ", no error codes"}`;
}

export function answerIs(a: ApiAnswer, status: number, code?: number): boolean {
  return a.status === status && (code === undefined || a.codes.includes(code));
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3Answer {
  status: number;
  /** The S3 error `<Code>`, when the body is an S3 error. */
  code: string | undefined;
  text: string;
  headers: Headers;
}

/** The S3 credentials of an API token: its id and the SHA-256 of its value (docs/cloudflare-api.md §4). */
export function tokenS3Credentials(token: { id: string; value: string }): S3Credentials {
  return { accessKeyId: token.id, secretAccessKey: createHash("sha256").update(token.value).digest("hex") };
}

/** A signed S3 request (aws4fetch, region auto, no retries), or an unsigned one without credentials. */
export async function callS3(
  url: string,
  credentials: S3Credentials | undefined,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    signal?: AbortSignal;
  } = {},
): Promise<S3Answer> {
  const request = {
    method: init.method ?? "GET",
    headers: init.headers ?? {},
    body: init.body,
    signal: timeoutSignal(init.signal),
  };
  const response = credentials
    ? await new AwsClient({ ...credentials, service: "s3", region: "auto", retries: 0 }).fetch(url, request)
    : await fetch(url, request);
  const text = request.method === "HEAD" ? "" : await response.text();
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  return { status: response.status, code, text, headers: response.headers };
}

export function describeS3(a: S3Answer): string {
  return `HTTP ${a.status}${a.code ? ` ${a.code}` : ""}`;
}

/**
 * Accepted by S3's authentication: anything but 401 and 403, and not a NoSuchBucket either (a new
 * bucket may take a moment to be seen at S3, and says nothing about the credentials).
 */
export function acceptedByS3(a: S3Answer): boolean {
  return a.status !== 401 && a.status !== 403 && a.code !== "NoSuchBucket";
}

export const randomHex = (bytes: number) => randomBytes(bytes).toString("hex");
