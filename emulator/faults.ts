// Fault injection bookkeeping: which injected fault (if any) applies to the next call on a route.
import type { Fault, FaultKind, RouteName } from "./types.js";

interface ActiveFault {
  fault: Fault;
  /** Calls seen on the fault's route (and scope) since injection. */
  seen: number;
}

export class FaultBook {
  private active: ActiveFault[] = [];

  inject(fault: Fault): void {
    this.active.push({ fault, seen: 0 });
  }

  clear(): void {
    this.active = [];
  }

  /** Counts the call against every matching fault and returns the first one that fires. */
  next(route: RouteName, scope: "account" | "user" | undefined): FaultKind | undefined {
    let fired: FaultKind | undefined;
    for (const a of this.active) {
      const f = a.fault;
      if (f.route !== route || (f.scope !== undefined && f.scope !== scope)) continue;
      a.seen += 1;
      const start = f.nth ?? 1;
      const end = start + (f.times ?? 1);
      if (!fired && a.seen >= start && a.seen < end) fired = f.kind;
    }
    this.active = this.active.filter((a) => a.seen < (a.fault.nth ?? 1) + (a.fault.times ?? 1) - 1);
    return fired;
  }
}

/**
 * Sliding-window rate limit per calling token (Cloudflare API only).
 * Assumption (conformance: rate-limit-accounting): only authenticated requests count, and refused
 * (429) requests do not consume capacity; Cloudflare documents the limit (1200 / 5 min per token)
 * but not this accounting.
 */
export class RateLimiter {
  private readonly hits = new Map<string, number[]>();

  /** Returns undefined when allowed (and records the hit), else seconds until a slot frees up. */
  check(
    tokenId: string,
    limit: { requests: number; windowMs: number } | undefined,
    now: number,
  ): number | undefined {
    if (!limit) return undefined;
    const recent = (this.hits.get(tokenId) ?? []).filter((t) => t > now - limit.windowMs);
    if (recent.length >= limit.requests) {
      this.hits.set(tokenId, recent);
      const oldest = recent[0] ?? now;
      // "The number of seconds, rounded up, until more capacity is available" (docs/cloudflare-api.md §1).
      return Math.max(1, Math.ceil((oldest + limit.windowMs - now) / 1000));
    }
    recent.push(now);
    this.hits.set(tokenId, recent);
    return undefined;
  }
}
