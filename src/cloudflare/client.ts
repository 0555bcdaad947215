import * as z from "zod/mini";
import { ActionError } from "../errors.js";
import "../zod-locale.js";
import { hintFor } from "./hints.js";
import { DEFAULT_RETRY_POLICY, parseRetryAfter, type RetryPolicy, withRetries } from "./retry.js";

/** What the core needs from its host: HTTP, a clock, a way to wait and randomness. Injected, never global. */
export interface HttpDeps {
  fetch: (input: string, init: RequestInit) => Promise<Response>;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

const cloudflareMessage = z.looseObject({ code: z.number(), message: z.string() });

/** Cloudflare's v4 envelope. IAM endpoints send message objects, R2 endpoints plain strings. */
const envelope = z.looseObject({
  success: z.boolean(),
  errors: z._default(z.array(cloudflareMessage), []),
  messages: z._default(z.array(z.union([cloudflareMessage, z.string()])), []),
  result: z.unknown(),
  result_info: z.optional(z.unknown()),
});

export interface CloudflareErrorDetails {
  method: string;
  path: string;
  status: number | undefined;
  errors: { code: number; message: string }[];
  cfRay: string | undefined;
  /** What the request is about when the path does not say it, e.g. "bucket my-bucket". */
  subject?: string | undefined;
  /** What went wrong in a few words, for retry lines: `HTTP 503`, `ENOTFOUND api.cloudflare.invalid`, `ECONNRESET`. */
  cause: string;
  /** The request may have been acted on although we got no usable answer (network error after sending, 5xx, bad body). */
  ambiguous: boolean;
  retryable: boolean;
  retryAfterMs: number | undefined;
}

export class CloudflareError extends ActionError {
  readonly details: CloudflareErrorDetails;

  constructor(summary: string, details: CloudflareErrorDetails, hint?: string, cause?: unknown) {
    const where = `Cloudflare API ${details.method} ${details.path}${details.subject ? ` (${details.subject})` : ""}`;
    const status = details.status === undefined ? "" : ` HTTP ${details.status}`;
    // Cloudflare's messages often end with a period; the sentence adds its own.
    const codes = details.errors.map((e) => `${e.code} ${e.message.replace(/[.\s]+$/, "")}`).join("; ");
    const ray = details.cfRay ? ` (cf-ray ${details.cfRay})` : "";
    super(
      details.status === undefined ? "network" : "cloudflare",
      `${where} failed:${status}${codes ? ` — ${codes}` : ""}${summary ? ` ${summary}` : ""}${ray}.`.replace(
        / +/g,
        " ",
      ),
      hint,
      { cause },
    );
    this.name = "CloudflareError";
    this.details = details;
  }

  get status(): number | undefined {
    return this.details.status;
  }

  hasCode(code: number): boolean {
    return this.details.errors.some((e) => e.code === code);
  }
}

/**
 * A refusal of the caller rather than of the request (another token may be allowed): 401 or 403, or
 * another 4xx (not 429) that carries Cloudflare's authentication (10000) or authorization (9109) code.
 */
export function refusesCaller(error: unknown): error is CloudflareError {
  if (!(error instanceof CloudflareError) || error.status === undefined) return false;
  if (error.status === 401 || error.status === 403) return true;
  return error.status < 500 && error.status !== 429 && (error.hasCode(10000) || error.hasCode(9109));
}

export interface RequestOptions<T> {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  token: string;
  result: z.core.$ZodType<T>;
  body?: unknown;
  headers?: Record<string, string>;
  query?: Record<string, string | number | boolean | undefined>;
  /** Named in errors when the path does not say it, e.g. "bucket my-bucket". */
  subject?: string;
  /** Called after a failure that may have been acted on, before retrying or giving up (e.g. delete an orphan). */
  onAmbiguousFailure?: (error: CloudflareError) => Promise<void>;
}

export interface Page<T> {
  result: T;
  resultInfo: unknown;
}

const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The one HTTP client for Cloudflare's v4 API: envelope parsing, error rendering and the retry
 * policy (network errors, 429 with Retry-After and 5xx; never other 4xx).
 */
export class CloudflareClient {
  readonly apiUrl: string;
  private readonly deps: HttpDeps;
  private readonly policy: RetryPolicy;
  private readonly log: (message: string) => void;

  constructor(options: {
    apiUrl: string;
    deps: HttpDeps;
    retry?: RetryPolicy;
    log?: (message: string) => void;
  }) {
    this.apiUrl = options.apiUrl.replace(/\/+$/, "");
    this.deps = options.deps;
    this.policy = options.retry ?? DEFAULT_RETRY_POLICY;
    this.log = options.log ?? (() => {});
  }

  async request<T>(options: RequestOptions<T>): Promise<T> {
    return (await this.requestPage(options)).result;
  }

  async requestPage<T>(options: RequestOptions<T>): Promise<Page<T>> {
    return withRetries(() => this.once(options), {
      policy: this.policy,
      deps: this.deps,
      verdict: (error) => (error instanceof CloudflareError ? error.details : undefined),
      onFailure: async (error) => {
        if (error instanceof CloudflareError && error.details.ambiguous)
          await options.onAmbiguousFailure?.(error);
      },
      onRetry: (error, delay, next) =>
        this.log(
          `${options.method} ${options.path} failed (${(error as CloudflareError).details.cause}); retrying in ${Math.round(delay)} ms (attempt ${next} of ${this.policy.maxAttempts}).`,
        ),
    });
  }

  /**
   * Query values are encoded as Cloudflare's own SDK sends them (a space is %20): URLSearchParams
   * would write `+`, and whether Cloudflare decodes `+` in a permission-group name is not documented.
   */
  private url(path: string, query: RequestOptions<unknown>["query"]): string {
    const pairs = Object.entries(query ?? {}).filter(([, value]) => value !== undefined);
    const search = pairs.map(
      ([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`,
    );
    return `${this.apiUrl}${path}${search.length > 0 ? `?${search.join("&")}` : ""}`;
  }

  private async once<T>(options: RequestOptions<T>): Promise<Page<T>> {
    const { method, path } = options;
    const base = {
      method,
      path,
      subject: options.subject,
      errors: [],
      cfRay: undefined,
      retryAfterMs: undefined,
    };
    let response: Response;
    try {
      response = await this.deps.fetch(this.url(path, options.query), {
        method,
        headers: {
          authorization: `Bearer ${options.token}`,
          accept: "application/json",
          ...(options.body === undefined ? {} : { "content-type": "application/json" }),
          ...options.headers,
        },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (cause) {
      // A write may have been acted on unless the connection was never made.
      throw new CloudflareError(
        `network error: ${networkReason(cause)}`,
        {
          ...base,
          status: undefined,
          cause: networkCause(cause),
          ambiguous: method !== "GET" && !neverConnected(cause),
          retryable: true,
        },
        "Check that this machine can reach the Cloudflare API ({name:api-url}) and, behind a proxy, that HTTPS_PROXY/NO_PROXY are right.",
        cause,
      );
    }

    const status = response.status;
    const cfRay = response.headers.get("cf-ray") ?? undefined;
    let text: string;
    try {
      text = await response.text();
    } catch (cause) {
      throw new CloudflareError(
        `connection lost while reading the answer: ${networkReason(cause)}`,
        { ...base, status, cause: networkCause(cause), cfRay, ambiguous: method !== "GET", retryable: true },
        undefined,
        cause,
      );
    }
    const serverError = status >= 500;
    const rateLimited = status === 429;
    const retryable = serverError || rateLimited;
    const retryAfterMs =
      rateLimited || serverError
        ? parseRetryAfter(response.headers.get("retry-after"), this.deps.now())
        : undefined;

    // An answer we cannot read may still have been acted on (a 2xx, or a 5xx half-way).
    const unreadable = {
      ...base,
      status,
      cause: `HTTP ${status} with an unreadable body`,
      cfRay,
      ambiguous: method !== "GET" && (status < 400 || serverError),
      retryable: retryable || status < 400,
      retryAfterMs,
    };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new CloudflareError("the answer is not valid JSON", unreadable, hintFor(status, []));
    }
    const parsed = envelope.safeParse(json);
    if (!parsed.success) throw new CloudflareError("the answer is not a Cloudflare API envelope", unreadable);
    const body = parsed.data;
    if (status < 200 || status >= 300 || !body.success) {
      const errors = body.errors.map((e) => ({ code: e.code, message: e.message }));
      throw new CloudflareError(
        body.success ? "" : status < 300 ? "success is false" : "",
        {
          ...base,
          status,
          cause: `HTTP ${status}${errors.length > 0 ? ` (${errors.map((e) => e.code).join(", ")})` : ""}`,
          cfRay,
          errors,
          ambiguous: method !== "GET" && serverError,
          retryable,
          retryAfterMs,
        },
        hintFor(
          status,
          errors.map((e) => e.code),
          errors.map((e) => e.message),
          { method, path },
        ),
      );
    }
    const result = z.safeParse(options.result, body.result);
    if (!result.success) {
      throw new CloudflareError(
        `the result does not have the expected shape (${result.error.issues
          .slice(0, 3)
          .map((i) => `${i.path.join(".") || "result"}: ${i.message}`)
          .join("; ")})`,
        // A well-formed success with a result we cannot use: acted on, and retrying would not help.
        {
          ...base,
          status,
          cause: `HTTP ${status} with an unexpected result`,
          cfRay,
          ambiguous: method !== "GET",
          retryable: false,
        },
      );
    }
    return { result: result.data, resultInfo: body.result_info };
  }
}

/** Errors that happen before any byte of the request can have left this machine. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH"]);

function neverConnected(cause: unknown): boolean {
  for (let error = cause, depth = 0; error instanceof Error && depth < 5; depth++) {
    const code = (error as Error & { code?: unknown }).code;
    if (typeof code === "string" && NOT_SENT.has(code)) return true;
    error = (error as Error & { cause?: unknown }).cause;
  }
  return false;
}

/** The system error code (and host) behind a failed fetch, e.g. `ENOTFOUND api.cloudflare.invalid`. */
function networkCause(cause: unknown): string {
  if (cause instanceof Error && cause.name === "TimeoutError")
    return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  for (let error = cause, depth = 0; error instanceof Error && depth < 5; depth++) {
    const { code, hostname } = error as Error & { code?: unknown; hostname?: unknown };
    if (typeof code === "string" && code !== "")
      return typeof hostname === "string" ? `${code} ${hostname}` : code;
    error = (error as Error & { cause?: unknown }).cause;
  }
  return "network error";
}

function networkReason(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = (cause as Error & { cause?: unknown }).cause;
    if (cause.name === "TimeoutError") return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
    if (inner instanceof Error && inner.message) return `${cause.message} (${inner.message})`;
    return cause.message;
  }
  return String(cause);
}
