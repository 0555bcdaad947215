/** The policy's parsing and decisions (worker/src/policy.ts), without a runtime. */
import { describe, expect, it } from "vitest";
import {
  bucketAllowed,
  decide,
  type Policy,
  type PolicyRequest,
  parsePolicy,
} from "../../worker/src/policy.js";

function policy(rules: unknown[]): Policy {
  const parsed = parsePolicy({ rules });
  if ("problem" in parsed) throw new Error(parsed.problem);
  return parsed.policy;
}

const request = (overrides: Partial<PolicyRequest> = {}): PolicyRequest => ({
  buckets: ["artifacts"],
  jurisdiction: "default",
  permission: "object-read-only",
  prefixes: [],
  objects: [],
  ttl: undefined,
  ...overrides,
});

const rule = (overrides: Record<string, unknown> = {}) => ({
  repository: "octo-org/octo-repo",
  buckets: ["artifacts"],
  permissions: ["object-read-only"],
  max_ttl: "2h",
  ...overrides,
});

describe("parsePolicy", () => {
  it("accepts JSON text and objects; max_ttl as a duration or seconds", () => {
    expect(parsePolicy(JSON.stringify({ rules: [rule()] }))).toHaveProperty("policy");
    const parsed = parsePolicy({ rules: [rule({ max_ttl: 900 })] });
    expect("policy" in parsed && parsed.policy.rules[0]?.max_ttl).toEqual({ seconds: 900, text: "900" });
  });

  it.each([
    ["an unknown key in a rule", { rules: [rule({ prefix: ["a/"] })] }, "rules.0"],
    ["an unknown top-level key", { rules: [rule()], default: "allow" }, "POLICY"],
    ["a repository without owner", { rules: [rule({ repository: "octo-repo" })] }, "rules.0.repository"],
    ["no buckets", { rules: [rule({ buckets: [] })] }, "rules.0.buckets"],
    ["a glob not at the end", { rules: [rule({ buckets: ["*-logs"] })] }, "rules.0.buckets.0"],
    ["an unknown permission", { rules: [rule({ permissions: ["object-write"] })] }, "rules.0.permissions.0"],
    ["an empty prefix", { rules: [rule({ prefixes: [""] })] }, "rules.0.prefixes.0"],
    ["an unknown jurisdiction", { rules: [rule({ jurisdictions: ["apac"] })] }, "rules.0.jurisdictions.0"],
    ["a max_ttl under 60 s", { rules: [rule({ max_ttl: "30s" })] }, "rules.0.max_ttl"],
    ["no max_ttl", { rules: [rule({ max_ttl: undefined })] }, "rules.0.max_ttl"],
  ])("refuses %s", (_name, value, path) => {
    const parsed = parsePolicy(value);
    expect(parsed).toHaveProperty("problem");
    expect("problem" in parsed && parsed.problem).toContain(path);
  });
});

describe("bucket patterns", () => {
  it("a name matches itself; a trailing * matches the prefix; * matches all", () => {
    expect(bucketAllowed("artifacts", "artifacts")).toBe(true);
    expect(bucketAllowed("artifacts", "artifacts-2")).toBe(false);
    expect(bucketAllowed("logs-*", "logs-nightly")).toBe(true);
    expect(bucketAllowed("logs-*", "logs")).toBe(false);
    expect(bucketAllowed("*", "anything")).toBe(true);
  });
});

describe("decide", () => {
  const claims = { repository: "octo-org/octo-repo", ref: "refs/heads/main" };

  it("the first rule whose claims match and which allows the request wins", () => {
    const p = policy([
      rule({ ref: "refs/heads/dev", max_ttl: "7d" }),
      rule({ buckets: ["other"] }),
      rule({ max_ttl: "30m" }),
      rule({ max_ttl: "1d" }),
    ]);
    expect(decide(p, claims, request())).toEqual({ allowed: true, rule: 3, ttlSeconds: 1800 });
  });

  it("without a ttl: an hour, or the rule's max_ttl when lower; a ttl up to max_ttl is granted as asked", () => {
    expect(decide(policy([rule()]), claims, request())).toMatchObject({ ttlSeconds: 3600 });
    expect(decide(policy([rule({ max_ttl: "10m" })]), claims, request())).toMatchObject({ ttlSeconds: 600 });
    const asked = request({ ttl: { seconds: 7200, text: "2h" } });
    expect(decide(policy([rule()]), claims, asked)).toMatchObject({ allowed: true, ttlSeconds: 7200 });
  });

  it("pins compare exactly; a missing claim is (none)", () => {
    const p = policy([rule({ environment: "prod" })]);
    expect(decide(p, claims, request())).toEqual({
      allowed: false,
      message:
        "environment (none) is not allowed for octo-org/octo-repo: the policy requires environment prod",
    });
    expect(decide(p, { ...claims, environment: "prod" }, request())).toMatchObject({ allowed: true });
    const pinned = policy([
      rule({ job_workflow_ref: "octo-org/shared/.github/workflows/deploy.yml@refs/heads/main" }),
    ]);
    expect(
      decide(
        pinned,
        { ...claims, job_workflow_ref: "octo-org/octo-repo/.github/workflows/ci.yml@x" },
        request(),
      ),
    ).toMatchObject({
      allowed: false,
      message: expect.stringContaining("job_workflow_ref octo-org/octo-repo/"),
    });
  });

  it("repository matching is exact (GitHub's spelling)", () => {
    expect(decide(policy([rule()]), { repository: "Octo-Org/octo-repo" }, request())).toEqual({
      allowed: false,
      message: "repository Octo-Org/octo-repo is not in the policy",
    });
  });

  it("every bucket of a request must be allowed by the same rule", () => {
    const p = policy([rule({ buckets: ["a-1"] }), rule({ buckets: ["b-1"] })]);
    const both = decide(p, claims, request({ buckets: ["a-1", "b-1"] }));
    expect(both).toMatchObject({ allowed: false });
    expect(!both.allowed && both.message).toBe(
      "no rule of the policy allows this request for octo-org/octo-repo: rule 1: bucket b-1 is not allowed for octo-org/octo-repo; rule 2: bucket a-1 is not allowed for octo-org/octo-repo",
    );
  });

  it("jurisdictions: default only unless the rule lists others (an eu bucket is another bucket)", () => {
    expect(decide(policy([rule()]), claims, request({ jurisdiction: "eu" }))).toEqual({
      allowed: false,
      message: "jurisdiction eu is not allowed for octo-org/octo-repo (the policy allows default)",
    });
    const eu = policy([rule({ jurisdictions: ["eu"] })]);
    expect(decide(eu, claims, request({ jurisdiction: "eu" }))).toMatchObject({ allowed: true });
    expect(decide(eu, claims, request())).toMatchObject({ allowed: false });
  });

  it("prefixes: the request must narrow, under the policy's prefixes (objects too)", () => {
    const p = policy([rule({ prefixes: ["pipelines/", "shared/"] })]);
    expect(decide(p, claims, request({ prefixes: ["pipelines/x/"] }))).toMatchObject({ allowed: true });
    expect(decide(p, claims, request({ objects: ["shared/config.json"] }))).toMatchObject({ allowed: true });
    expect(decide(p, claims, request({ prefixes: ["pipelines"] }))).toEqual({
      allowed: false,
      message: "prefix pipelines is outside the policy's prefixes pipelines/, shared/ for octo-org/octo-repo",
    });
    expect(decide(p, claims, request())).toMatchObject({
      allowed: false,
      message: expect.stringContaining("narrows octo-org/octo-repo to the prefixes pipelines/, shared/"),
    });
  });
});
