import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const dist = join(import.meta.dirname, "..", "dist");

/** Every .js file a runner (or a shell) loads for an entry, lazily loaded chunks included. */
function shippedBytes(entry: string): number {
  return (readdirSync(join(dist, entry), { recursive: true }) as string[])
    .filter((file) => file.endsWith(".js"))
    .reduce((sum, file) => sum + statSync(join(dist, entry, file)).size, 0);
}

describe("bundle size", () => {
  // The smallest of the credential actions we measure ourselves against ships 650 KB per entry;
  // the CLI, which laptops download and start for every credential_process call, is held to the same.
  it.each(["main", "post", "cli"])("dist/%s ships less than 650,000 bytes of JavaScript", (entry) => {
    expect(shippedBytes(entry)).toBeGreaterThan(10_000);
    expect(shippedBytes(entry)).toBeLessThan(650_000);
  });
});
