/** The policy's parsing and decisions (worker/src/policy.ts), without a runtime. */
import { describe, expect, it } from "vitest";
import {
  bucketAllowed,
  decide,
  fillPrefixes,
  namesOnlyRules,
  type Policy,
  type PolicyRequest,
  parsePolicy,
  refName,
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

  it("accepts ids as strings of digits, an owner's name, and a rule that pins only an owner id", () => {
    const parsed = parsePolicy({
      rules: [
        rule({ repository_id: "123", repository_owner_id: "456" }),
        rule({ repository: undefined, repository_owner: "octo-org" }),
        rule({ repository: undefined, repository_owner_id: "456", prefixes: ["{repository_id}/"] }),
      ],
    });
    expect(parsed).toHaveProperty("policy");
  });

  // Every malformed new key is a configuration error that names the key and says what to write.
  it.each([
    [
      "repository_id as a JSON number",
      { repository_id: 123 },
      "rules.0.repository_id",
      'string of digits, e.g. "123"',
    ],
    [
      "repository_id that is not digits",
      { repository_id: "octo-repo" },
      "rules.0.repository_id",
      "string of digits",
    ],
    [
      "repository_id with a leading zero",
      { repository_id: "0123" },
      "rules.0.repository_id",
      "without leading zeros",
    ],
    ["repository_id that is empty", { repository_id: "" }, "rules.0.repository_id", "string of digits"],
    [
      "repository_owner_id as a number",
      { repository_owner_id: 456 },
      "rules.0.repository_owner_id",
      "string of digits",
    ],
    [
      "repository_owner_id with a sign",
      { repository_owner_id: "-456" },
      "rules.0.repository_owner_id",
      "string of digits",
    ],
    [
      "repository_owner with a slash",
      { repository_owner: "octo-org/octo-repo" },
      "rules.0.repository_owner",
      "owner's name",
    ],
    ["repository_owner that is empty", { repository_owner: "" }, "rules.0.repository_owner", "owner's name"],
    [
      "a rule that pins no repository, id or owner",
      { repository: undefined },
      "rules.0",
      "must pin at least one of repository, repository_id, repository_owner, repository_owner_id",
    ],
    [
      "an unknown placeholder in a prefix",
      { prefixes: ["{repo}/"] },
      "rules.0.prefixes.0",
      "{repo} is not a placeholder",
    ],
    [
      "a claim that is no placeholder ({sha})",
      { prefixes: ["{sha}/"] },
      "rules.0.prefixes.0",
      "{sha} is not a placeholder",
    ],
    [
      "a placeholder not followed by /",
      { prefixes: ["{repository_id}"] },
      "rules.0.prefixes.0",
      "must be followed by /",
    ],
    [
      "a placeholder followed by text",
      { prefixes: ["{repository_id}-x/"] },
      "rules.0.prefixes.0",
      "must be followed by /",
    ],
    [
      "two placeholders run together",
      { prefixes: ["{repository_owner}{repository_id}/"] },
      "rules.0.prefixes.0",
      "{repository_owner} must be followed by /",
    ],
    ["a lone brace in a prefix", { prefixes: ["data/{x/"] }, "rules.0.prefixes.0", "a lone { is not allowed"],
    ["a placeholder in ref", { ref: "refs/heads/{ref_name}" }, "rules.0.ref", "only in prefixes"],
    [
      "a placeholder in environment",
      { environment: "{environment}" },
      "rules.0.environment",
      "only in prefixes",
    ],
    [
      "a placeholder in job_workflow_ref",
      { job_workflow_ref: "{repository}/.github/workflows/x.yml@refs/heads/main" },
      "rules.0.job_workflow_ref",
      "only in prefixes",
    ],
    [
      "a placeholder in repository",
      { repository: "octo-org/{repository}" },
      "rules.0.repository",
      "owner/name",
    ],
    ["a placeholder in buckets", { buckets: ["{repository_id}"] }, "rules.0.buckets.0", "R2 bucket name"],
  ])("refuses %s, naming it", (_name, overrides, path, message) => {
    const parsed = parsePolicy({ rules: [rule(overrides)] });
    expect(parsed).toHaveProperty("problem");
    const problem = "problem" in parsed ? parsed.problem : "";
    expect(problem).toContain(`${path}: `);
    expect(problem).toContain(message);
  });

  // GitHub numbers repositories and owners separately: the same number can be both.
  it.each([
    [
      "a repository id and an owner id at the same place",
      [["{repository_id}/"], ["{repository_owner_id}/"]],
      '"{repository_id}/" and "{repository_owner_id}/" can meet: {repository_id} could be filled',
    ],
    [
      "an owner's name and a literal prefix",
      [["{repository_owner}/"], ["shared/"]],
      "{repository_owner} could be filled",
    ],
    [
      "a repository id and a branch name further in",
      [["r/{repository_owner}/{repository_id}/"], ["r/{repository_owner}/{ref_name}/"]],
      "{repository_id} could be filled",
    ],
    ["two placeholders in one rule's list", [["{repository_id}/", "{repository_owner_id}/"]], "can meet"],
  ])("refuses prefixes that can be filled into one key space in a bucket: %s", (_name, lists, message) => {
    const parsed = parsePolicy({ rules: lists.map((prefixes) => rule({ prefixes })) });
    const problem = "problem" in parsed ? parsed.problem : "";
    expect(problem).toContain(message);
    expect(problem).toContain('Give each its own literal start, e.g. "repo/{repository_id}/"');
    expect(problem.match(/can meet/g)).toHaveLength(1);
    expect(problem).toMatch(/rules\.[01]\.prefixes\.[01]: /);
  });

  it("accepts prefixes that cannot meet: distinct literal starts, an id facing letters, other buckets, a wider literal grant", () => {
    const parsed = parsePolicy({
      rules: [
        rule({ prefixes: ["repo/{repository_id}/"] }),
        rule({ prefixes: ["owner/{repository_owner_id}/"] }),
        rule({ prefixes: ["repo/"] }),
        rule({ buckets: ["other"], prefixes: ["{repository_id}/", "shared/"] }),
        rule({ buckets: ["third"], prefixes: ["{repository_owner_id}/"] }),
        rule({ buckets: ["logs-*"], prefixes: ["{repository_id}/"] }),
        rule({ buckets: ["metrics-*"], prefixes: ["{repository_owner_id}/"] }),
      ],
    });
    expect(parsed).toHaveProperty("policy");
    // A pattern that can name the same bucket is the same bucket.
    const overlapping = parsePolicy({
      rules: [
        rule({ buckets: ["logs-*"], prefixes: ["{repository_id}/"] }),
        rule({ buckets: ["logs-nightly"], prefixes: ["{repository_owner_id}/"] }),
      ],
    });
    expect("problem" in overlapping ? overlapping.problem : "").toContain("can meet");
  });

  it("refuses admin permissions with prefixes: a key prefix does not confine the bucket's configuration", () => {
    const parsed = parsePolicy({
      rules: [
        rule({ permissions: ["object-read-write", "admin-read-write"], prefixes: ["{repository_id}/"] }),
      ],
    });
    const problem = "problem" in parsed ? parsed.problem : "";
    expect(problem).toContain("rules.0.permissions: admin-read-write cannot go with prefixes");
    expect(parsePolicy({ rules: [rule({ permissions: ["admin-read-write"] })] })).toHaveProperty("policy");
  });

  it("warns about each rule that pins names only, with the fix", () => {
    const p = policy([
      rule(),
      rule({ repository_id: "123" }),
      rule({ repository: undefined, repository_owner: "octo-org" }),
      rule({ repository: undefined, repository_owner: "octo-org", repository_owner_id: "456" }),
    ]);
    const warnings = namesOnlyRules(p);
    expect(warnings.map((w) => w.rule)).toEqual([1, 3]);
    expect(warnings[0]?.message).toContain("rule 1 pins repository octo-org/octo-repo by name only");
    expect(warnings[0]?.message).toContain('add "repository_id" (gh api repos/octo-org/octo-repo --jq .id)');
    expect(warnings[1]?.message).toContain("repository_owner octo-org by name only");
    expect(warnings[1]?.message).toContain('add "repository_owner_id"');
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
    expect(decide(p, claims, request())).toEqual({
      allowed: true,
      rule: 3,
      ttlSeconds: 1800,
      prefixes: [],
      objects: [],
      narrowedByPolicy: false,
    });
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

  it("prefixes: a request stays under the policy's prefixes (objects too); one without is narrowed to them", () => {
    const p = policy([rule({ prefixes: ["pipelines/", "shared/"] })]);
    expect(decide(p, claims, request({ prefixes: ["pipelines/x/"] }))).toMatchObject({
      allowed: true,
      prefixes: ["pipelines/x/"],
      objects: [],
      narrowedByPolicy: false,
    });
    expect(decide(p, claims, request({ objects: ["shared/config.json"] }))).toMatchObject({
      allowed: true,
      prefixes: [],
      objects: ["shared/config.json"],
    });
    expect(decide(p, claims, request({ prefixes: ["pipelines"] }))).toEqual({
      allowed: false,
      message: "prefix pipelines is outside the policy's prefixes pipelines/, shared/ for octo-org/octo-repo",
    });
    expect(decide(p, claims, request())).toMatchObject({
      allowed: true,
      prefixes: ["pipelines/", "shared/"],
      objects: [],
      narrowedByPolicy: true,
    });
  });

  it("a rule with prefixes narrows one bucket only (narrowed credentials cover one bucket); the next rule may allow several", () => {
    const narrowing = rule({ buckets: ["a-1", "b-1"], prefixes: ["x/"] });
    const whole = rule({ buckets: ["a-1", "b-1"] });
    const both = request({ buckets: ["a-1", "b-1"] });
    expect(decide(policy([narrowing]), claims, both)).toEqual({
      allowed: false,
      message:
        "the policy narrows octo-org/octo-repo to the prefixes x/, and narrowed credentials cover one bucket: ask for one of a-1, b-1 at a time",
    });
    expect(decide(policy([narrowing, whole]), claims, both)).toMatchObject({ allowed: true, rule: 2 });
    // The first rule that allows wins: narrowing now allows what it once refused.
    expect(decide(policy([narrowing, whole]), claims, request({ buckets: ["a-1"] }))).toMatchObject({
      allowed: true,
      rule: 1,
      prefixes: ["x/"],
    });
  });
});

describe("ids and owners", () => {
  const claims = {
    repository: "octo-org/octo-repo",
    repository_id: "123",
    repository_owner: "octo-org",
    repository_owner_id: "456",
    ref: "refs/heads/main",
  };

  it("a repository re-registered under a pinned name is refused by its id, naming the claim", () => {
    const p = policy([rule({ repository_id: "123" })]);
    expect(decide(p, claims, request())).toMatchObject({ allowed: true });
    expect(decide(p, { ...claims, repository_id: "987" }, request())).toEqual({
      allowed: false,
      message: "repository_id 987 does not match the policy's 123 for octo-org/octo-repo",
    });
    expect(decide(p, { ...claims, repository_id: undefined }, request())).toEqual({
      allowed: false,
      message: "repository_id (none) does not match the policy's 123 for octo-org/octo-repo",
    });
  });

  it("a renamed repository is still refused when the rule also pins the old name", () => {
    const p = policy([rule({ repository_id: "123" })]);
    expect(decide(p, { ...claims, repository: "octo-org/renamed" }, request())).toEqual({
      allowed: false,
      message: "repository octo-org/renamed does not match the policy's octo-org/octo-repo",
    });
  });

  it("an id-only rule names the caller by its id; a caller it does not name is not in the policy (with its ids)", () => {
    const p = policy([rule({ repository: undefined, repository_id: "123" })]);
    expect(decide(p, { ...claims, repository: "octo-org/renamed" }, request())).toMatchObject({
      allowed: true,
    });
    expect(decide(p, { ...claims, repository_id: "987" }, request())).toEqual({
      allowed: false,
      message:
        "repository octo-org/octo-repo is not in the policy (repository_id 987, repository_owner_id 456)",
    });
  });

  it("an owner-id rule covers every repository of that owner and no other; an owner transferred away is refused", () => {
    const p = policy([rule({ repository: undefined, repository_owner_id: "456" })]);
    const other = { ...claims, repository: "octo-org/another", repository_id: "124" };
    expect(decide(p, other, request())).toMatchObject({ allowed: true, rule: 1 });
    expect(decide(p, { ...claims, repository_owner_id: "999" }, request())).toMatchObject({
      allowed: false,
      message: expect.stringContaining("repository octo-org/octo-repo is not in the policy"),
    });
    const both = policy([
      rule({ repository: undefined, repository_owner: "octo-org", repository_owner_id: "456" }),
    ]);
    expect(decide(both, { ...claims, repository_owner_id: "999" }, request())).toEqual({
      allowed: false,
      message: "repository_owner_id 999 does not match the policy's 456 for octo-org/octo-repo",
    });
  });

  it("an owner-name rule compares the repository_owner claim exactly", () => {
    const p = policy([rule({ repository: undefined, repository_owner: "octo-org" })]);
    expect(decide(p, claims, request())).toMatchObject({ allowed: true });
    expect(decide(p, { ...claims, repository_owner: "Octo-Org" }, request())).toMatchObject({
      allowed: false,
    });
  });
});

describe("placeholders in prefixes", () => {
  const claims = {
    repository: "octo-org/octo-repo",
    repository_id: "123",
    repository_owner: "octo-org",
    repository_owner_id: "456",
    ref: "refs/heads/main",
    environment: "prod",
  };

  it("are filled from the verified claims", () => {
    expect(
      fillPrefixes(
        [
          "{repository}/",
          "{repository_id}/",
          "o/{repository_owner}/",
          "{repository_owner_id}/{repository_id}/",
          "refs/{ref_name}/",
          "env/{environment}/",
        ],
        claims,
      ),
    ).toEqual({
      prefixes: ["octo-org/octo-repo/", "123/", "o/octo-org/", "456/123/", "refs/main/", "env/prod/"],
    });
    expect(fillPrefixes(["{ref_name}/"], { ...claims, ref: "refs/tags/v1.2.3" })).toEqual({
      prefixes: ["v1.2.3/"],
    });
  });

  it("{ref_name} is the branch or tag; another ref has none", () => {
    expect(refName("refs/heads/feature/x")).toBe("feature/x");
    expect(refName("refs/tags/v1")).toBe("v1");
    expect(refName("refs/pull/7/merge")).toBeUndefined();
    expect(refName(undefined)).toBeUndefined();
  });

  it("one rule for every repository of an owner, each confined to its own id", () => {
    const p = policy([
      {
        repository_owner_id: "456",
        buckets: ["data"],
        permissions: ["object-read-write"],
        prefixes: ["{repository_id}/"],
        max_ttl: "1h",
      },
    ]);
    const ask = (extra: Partial<PolicyRequest>) =>
      request({ buckets: ["data"], permission: "object-read-write", ...extra });
    expect(decide(p, claims, ask({}))).toMatchObject({
      allowed: true,
      prefixes: ["123/"],
      narrowedByPolicy: true,
    });
    expect(decide(p, claims, ask({ prefixes: ["123/build/"] }))).toMatchObject({
      allowed: true,
      prefixes: ["123/build/"],
    });
    // Repository 12 cannot reach 123…: its prefix is 12/, which 123/ does not start with.
    expect(decide(p, { ...claims, repository_id: "12" }, ask({ prefixes: ["123/"] }))).toEqual({
      allowed: false,
      message: "prefix 123/ is outside the policy's prefixes 12/ for octo-org/octo-repo",
    });
    expect(decide(p, { ...claims, repository_id: "12" }, ask({ objects: ["123/secret"] }))).toMatchObject({
      allowed: false,
    });
  });

  it("a claim the token does not carry (or an empty one) makes the rule not match; never an empty prefix", () => {
    const p = policy([rule({ prefixes: ["env/{environment}/"] })]);
    const { environment: _none, ...withoutEnvironment } = claims;
    expect(decide(p, withoutEnvironment, request())).toEqual({
      allowed: false,
      message:
        "the policy's prefix env/{environment}/ needs the environment claim, which the token does not carry (octo-org/octo-repo)",
    });
    expect(decide(p, { ...claims, environment: "" }, request())).toMatchObject({ allowed: false });
    const byRef = policy([rule({ prefixes: ["{ref_name}/"] })]);
    expect(decide(byRef, { ...claims, ref: "refs/pull/7/merge" }, request())).toEqual({
      allowed: false,
      message:
        "the policy's prefix {ref_name}/ needs a branch or tag ref, but ref is refs/pull/7/merge (octo-org/octo-repo)",
    });
    // A later rule without the placeholder still applies.
    const fallback = policy([rule({ prefixes: ["env/{environment}/"] }), rule({ prefixes: ["shared/"] })]);
    expect(decide(fallback, withoutEnvironment, request())).toMatchObject({
      allowed: true,
      rule: 2,
      prefixes: ["shared/"],
    });
  });
});
