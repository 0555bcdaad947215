/** When credentials minted now with this lifetime expire, in epoch milliseconds. */
export function expiresAt(nowMs: number, ttlSeconds: number): number {
  return nowMs + ttlSeconds * 1000;
}

/** Cloudflare's RFC 3339 form in whole seconds: 2026-11-27T23:30:00Z. */
export function wholeSecondsIso(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** Seconds as the largest whole unit, so messages speak the units users write (1h, 15m). */
export function formatDuration(seconds: number): string {
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
  ] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/**
 * An expiry a server answered, as an ISO instant; `fallbackMs` (what was asked for) when the answer
 * is missing or not a date. It runs right after a mint, where a throw would leave the token alive.
 */
export function answeredExpiry(answered: string | null | undefined, fallbackMs: number): string {
  const ms = answered ? Date.parse(answered) : Number.NaN;
  return new Date(Number.isNaN(ms) ? fallbackMs : ms).toISOString();
}
