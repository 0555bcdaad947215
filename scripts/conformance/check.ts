// What a conformance check is and what it can conclude (docs/cloudflare-api.md §9).
import type { Context } from "./context.js";

export type Verdict =
  | { verdict: "confirmed"; note?: string }
  | { verdict: "refuted"; observed: string }
  | { verdict: "skipped"; why: string };

export interface Check {
  /** The id an `// Assumption (conformance: <id>)` in emulator/ names. */
  id: string;
  /** The assumption in one sentence, as the emulator holds it by default. */
  assumption: string;
  run(ctx: Context): Promise<Verdict>;
}

/** Thrown inside a check that cannot run here (a missing permission group, no S3 endpoint…). */
export class Skip extends Error {}

export const confirmed = (note?: string): Verdict =>
  note === undefined ? { verdict: "confirmed" } : { verdict: "confirmed", note };
export const refuted = (observed: string): Verdict => ({ verdict: "refuted", observed });
export const skipped = (why: string): Verdict => ({ verdict: "skipped", why });
/** A check that makes one observation: confirmed when `ok`, else refuted with what it saw. */
export const holds = (ok: boolean, observed: string): Verdict => (ok ? confirmed() : refuted(observed));

/** Collects what a check saw that the assumption did not predict; refuted when anything was. */
export class Findings {
  private readonly seen: string[] = [];

  /** Records `observed` unless `ok`. */
  expect(ok: boolean, observed: string): void {
    if (!ok) this.seen.push(observed);
  }

  get verdict(): Verdict {
    return this.seen.length === 0 ? confirmed() : refuted(this.seen.join("; "));
  }

  verdictWith(note: string): Verdict {
    return this.seen.length === 0 ? confirmed(note) : refuted(this.seen.join("; "));
  }
}
