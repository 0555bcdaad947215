// The emulator's permission evaluation (emulator/policy.ts), pure: grants, denies and resource keys.
import { describe, expect, it } from "vitest";
import { expandPolicies, holds, missingToGrant, parsePatterns, targets } from "../../emulator/policy.js";

describe("policy (pure)", () => {
  const acct = "0123456789abcdef0123456789abcdef";
  const grantsFor = (policies: Parameters<typeof expandPolicies>[0]) => expandPolicies(policies);

  it("bucket item groups apply to bucket keys and the nested all-buckets form only", () => {
    const exact = grantsFor([
      {
        effect: "allow",
        groups: ["r2.bucket.item.write"],
        resources: { [`com.cloudflare.edge.r2.bucket.${acct}_default_b1`]: "*" },
      },
    ]);
    expect(holds(exact, "object.write", targets.bucket(acct, "default", "b1"))).toBe(true);
    expect(holds(exact, "object.write", targets.bucket(acct, "eu", "b1"))).toBe(false);
    expect(holds(exact, "object.write", targets.bucket(acct, "default", "b2"))).toBe(false);
    const nested = grantsFor([
      {
        effect: "allow",
        groups: ["r2.bucket.item.read"],
        resources: { [`com.cloudflare.api.account.${acct}`]: { "com.cloudflare.edge.r2.bucket.*": "*" } },
      },
    ]);
    expect(holds(nested, "object.read", targets.bucket(acct, "eu", "anything"))).toBe(true);
    expect(holds(nested, "object.write", targets.bucket(acct, "eu", "anything"))).toBe(false);
    const flat = grantsFor([
      {
        effect: "allow",
        groups: ["r2.bucket.item.read"],
        resources: { [`com.cloudflare.api.account.${acct}`]: "*" },
      },
    ]);
    expect(holds(flat, "object.read", targets.bucket(acct, "default", "b1"))).toBe(false);
  });

  it("storage write implies item write on every bucket of the account; deny beats allow", () => {
    const grants = grantsFor([
      {
        effect: "allow",
        groups: ["r2.storage.write"],
        resources: { [`com.cloudflare.api.account.${acct}`]: "*" },
      },
      {
        effect: "deny",
        groups: ["r2.bucket.item.write"],
        resources: { [`com.cloudflare.edge.r2.bucket.${acct}_default_secret`]: "*" },
      },
    ]);
    expect(holds(grants, "object.write", targets.bucket(acct, "default", "b1"))).toBe(true);
    expect(holds(grants, "bucket.write", targets.account(acct))).toBe(true);
    expect(holds(grants, "object.write", targets.bucket(acct, "default", "secret"))).toBe(false);
    expect(holds(grants, "object.read", targets.bucket(acct, "default", "secret"))).toBe(false);
    // A creator with a deny on one bucket cannot hand out all buckets.
    expect(
      missingToGrant(grants, [
        {
          effect: "allow",
          groups: ["r2.bucket.item.write"],
          resources: { [`com.cloudflare.api.account.${acct}`]: { "com.cloudflare.edge.r2.bucket.*": "*" } },
        },
      ]),
    ).not.toHaveLength(0);
    expect(
      missingToGrant(grants, [
        {
          effect: "allow",
          groups: ["r2.bucket.item.write"],
          resources: { [`com.cloudflare.edge.r2.bucket.${acct}_eu_b`]: "*" },
        },
      ]),
    ).toHaveLength(0);
  });

  it("storage read does not cover item write; item read does not cover storage read", () => {
    const read = grantsFor([
      {
        effect: "allow",
        groups: ["r2.storage.read"],
        resources: { [`com.cloudflare.api.account.${acct}`]: "*" },
      },
    ]);
    expect(holds(read, "object.read", targets.bucket(acct, "default", "b"))).toBe(true);
    expect(holds(read, "object.write", targets.bucket(acct, "default", "b"))).toBe(false);
    expect(
      missingToGrant(read, [
        {
          effect: "allow",
          groups: ["r2.storage.write"],
          resources: { [`com.cloudflare.api.account.${acct}`]: "*" },
        },
      ]),
    ).not.toHaveLength(0);
  });

  it("rejects malformed resource maps", () => {
    expect(() => parsePatterns({ "com.cloudflare.edge.r2.bucket.nounderscore": "*" })).toThrow();
    expect(() => parsePatterns({ [`com.cloudflare.api.account.${acct}`]: 3 })).toThrow();
    expect(parsePatterns({ "com.cloudflare.api.account.zone.abc": "*" })).toEqual([]);
  });
});
