/** Bounds of the one retry policy: attempts, total time, and the full-jitter backoff curve. */
export interface RetryPolicy {
  /** Tries when the server gives no Retry-After (network errors, most 5xx): our own backoff. */
  maxAttempts: number;
  /**
   * Tries when the server says how long to wait (429 under a shared rate limit): those waits are
   * the server's, so the time budget ends them; this only guards against a misbehaving server.
   */
  maxDirectedAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** No call keeps retrying past this (docs/design.md §4: at most 60 s per call in total). */
  totalBudgetMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 8,
  maxDirectedAttempts: 30,
  baseDelayMs: 500,
  maxDelayMs: 10_000,
  totalBudgetMs: 60_000,
};

/** Full jitter (AWS architecture blog): a uniform wait in [0, min(cap, base·2^(attempt-1))). */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Retry-After is either whole seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export interface RetryDeps {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

/** How a failure may be retried: not at all (undefined or retryable false), or after Retry-After. */
export interface RetryVerdict {
  retryable: boolean;
  retryAfterMs?: number | undefined;
}

/**
 * The one retry loop: full-jitter backoff or Retry-After, bounded by attempts and by total time.
 * `onFailure` sees every failure before the verdict (e.g. to delete an orphan after an ambiguous create).
 */
export async function withRetries<T>(
  run: () => Promise<T>,
  options: {
    policy: RetryPolicy;
    deps: RetryDeps;
    verdict: (error: unknown) => RetryVerdict | undefined;
    onFailure?: (error: unknown) => Promise<void>;
    onRetry?: (error: unknown, delayMs: number, nextAttempt: number) => void;
  },
): Promise<T> {
  const { policy, deps } = options;
  const started = deps.now();
  let backoffFailures = 0;
  let directedFailures = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      await options.onFailure?.(error);
      const verdict = options.verdict(error);
      if (!verdict?.retryable) throw error;
      // A server that paces us (Retry-After of a second or more) is bounded by the time budget;
      // our own backoff, and a Retry-After of 0, by the attempt count.
      const directed = (verdict.retryAfterMs ?? 0) > 0;
      if (directed) directedFailures++;
      else backoffFailures++;
      const exhausted =
        backoffFailures >= policy.maxAttempts || directedFailures >= policy.maxDirectedAttempts;
      if (exhausted) throw error;
      const delay =
        verdict.retryAfterMs ?? retryDelayMs(policy, backoffFailures + directedFailures, deps.random);
      if (deps.now() - started + delay > policy.totalBudgetMs) throw error;
      options.onRetry?.(error, delay, attempt + 1);
      await deps.sleep(delay);
    }
  }
}
