/**
 * Runs async work with a bounded number in flight: end-to-end cases are real processes, and the
 * machine has two cores, so many cases share a small pool instead of all starting at once.
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`mapWithConcurrency: bad limit ${limit}`);
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const index = next++;
      if (index >= items.length) return;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Settles every item (a failing case does not stop the others); errors come back as values. */
export function settleWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<({ ok: true; value: R } | { ok: false; error: unknown })[]> {
  return mapWithConcurrency(items, limit, async (item, index) => {
    try {
      return { ok: true as const, value: await work(item, index) };
    } catch (error) {
      return { ok: false as const, error };
    }
  });
}
