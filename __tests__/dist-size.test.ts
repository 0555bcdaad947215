import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const dist = join(import.meta.dirname, "..", "dist");

/** Every .js file a runner loads for an entry, lazily loaded chunks included. */
function shippedBytes(entry: string): number {
  return readdirSync(join(dist, entry))
    .filter((file) => file.endsWith(".js"))
    .reduce((sum, file) => sum + statSync(join(dist, entry, file)).size, 0);
}

describe("bundle size", () => {
  // The smallest of the credential actions we measure ourselves against ships 650 KB per entry.
  it.each(["main", "post"])("dist/%s ships less than 650,000 bytes of JavaScript", (entry) => {
    expect(shippedBytes(entry)).toBeGreaterThan(10_000);
    expect(shippedBytes(entry)).toBeLessThan(650_000);
  });
});
