// Small numeric helpers shared by the bench sections.

/** Median; the mean of the two middle values (rounded) for an even count. */
export function median(numbers: readonly number[]): number {
  if (numbers.length === 0) throw new Error("median of nothing");
  const sorted = [...numbers].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : Math.round(((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2);
}

/** 1234 → "1,234 ms"; 61234 with `seconds` → "61.2 s". */
export function ms(value: number, unit: "ms" | "s" = "ms"): string {
  return unit === "s" ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value).toLocaleString("en-US")} ms`;
}

/** 123456 → "123,456 B (120.6 KiB)". */
export function bytes(value: number): string {
  return `${value.toLocaleString("en-US")} B (${(value / 1024).toFixed(1)} KiB)`;
}

/** A ratio with two significant decimals, e.g. "3.4×" or "0.037×". */
export function ratio(numerator: number, denominator: number): string {
  if (denominator <= 0) return "n/a";
  const r = numerator / denominator;
  return `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toPrecision(2)}×`;
}
