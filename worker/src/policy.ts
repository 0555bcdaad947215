/**
 * The vending policy (the POLICY var): which repositories (by id, by name, or every repository of an
 * owner), optionally pinned to a ref, an environment or a reusable workflow, may get which buckets,
 * permissions, prefixes (with placeholders filled from the token's claims) and maximum lifetime.
 *
 * Rules are tried in order; the first rule that names the caller, whose claims match and which allows
 * the whole request wins. A refusal says which claim or which part of the request no rule allowed.
 */
import { z } from "zod";
import { parseDuration } from "../../src/config.js";
import {
  isNarrowed,
  JURISDICTIONS,
  type Jurisdiction,
  MAX_TTL_SECONDS,
  MIN_TTL_SECONDS,
  PERMISSIONS,
  type Permission,
} from "../../src/terms.js";

/** Without a ttl in the request the credentials live for an hour, or less where the rule's max_ttl is lower. */
export const DEFAULT_TTL_SECONDS = 3_600;

/** A bucket name, or a prefix of one ending in `*` (`logs-*`); `*` alone allows every bucket. */
const BUCKET_PATTERN = /^(?:\*|[a-z0-9][a-z0-9-]*\*|[a-z0-9][a-z0-9-]{1,61}[a-z0-9])$/;
const REPOSITORY = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const OWNER = /^[A-Za-z0-9_.-]+$/;
/** GitHub's numeric ids, as its OIDC tokens carry them: strings of digits. */
const GITHUB_ID = /^[1-9][0-9]*$/;

/** The claims a rule identifies its callers by; a rule pins at least one. */
const IDENTITY_CLAIMS = ["repository", "repository_id", "repository_owner", "repository_owner_id"] as const;
/** What a prefix may be filled from; every one is followed by `/` where it is used. */
const PLACEHOLDERS = [
  "repository",
  "repository_id",
  "repository_owner",
  "repository_owner_id",
  "ref_name",
  "environment",
] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];
const PLACEHOLDER_LIST = PLACEHOLDERS.map((name) => `{${name}}`).join(", ");

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const text = String(value).trim();
  const seconds = parseDuration(text);
  if (seconds === undefined || seconds < MIN_TTL_SECONDS || seconds > MAX_TTL_SECONDS) {
    ctx.addIssue({
      code: "custom",
      message: `max_ttl must be a lifetime between 60 s and 7 d, such as 900, 15m, 2h or 1d`,
    });
    return z.NEVER;
  }
  return { seconds, text };
});

const NO_BRACES =
  "braces are not allowed here: placeholders such as {repository_id} are filled only in prefixes";

const claimValue = z
  .string()
  .trim()
  .min(1)
  .refine((value) => !/[{}]/.test(value), NO_BRACES);

const githubId = (key: string) =>
  z
    .string({
      error: `${key} must be a string of digits, e.g. "123": GitHub's numeric id, quoted as in the OIDC token`,
    })
    .regex(GITHUB_ID, `${key} must be a string of digits without leading zeros, e.g. "123"`);

/**
 * Why a prefix template is malformed, or nothing. A placeholder must be followed by `/`, so a filled
 * value always ends where the caller's space begins: repository id 12 can never reach 123….
 */
function templateProblems(prefix: string): string[] {
  const problems: string[] = [];
  for (const match of prefix.matchAll(/\{([^{}]*)\}|[{}]/g)) {
    const [whole, name] = match;
    if (name === undefined) {
      problems.push(
        `a lone ${whole} is not allowed: braces only enclose a placeholder (${PLACEHOLDER_LIST})`,
      );
    } else if (!(PLACEHOLDERS as readonly string[]).includes(name)) {
      problems.push(`${whole} is not a placeholder: use ${PLACEHOLDER_LIST}`);
    } else if (prefix[match.index + whole.length] !== "/") {
      problems.push(
        `the placeholder ${whole} must be followed by / (write ${whole}/), so that one value cannot reach another that starts with it`,
      );
    }
  }
  return problems;
}

const prefixTemplate = z
  .string()
  .min(1, "a prefix cannot be empty")
  .superRefine((prefix, ctx) => {
    for (const message of templateProblems(prefix)) ctx.addIssue({ code: "custom", message });
  });

const ruleSchema = z
  .object({
    repository: z
      .string()
      .regex(REPOSITORY, "repository must be owner/name, exactly as GitHub spells it")
      .optional(),
    repository_id: githubId("repository_id").optional(),
    repository_owner: z
      .string()
      .regex(OWNER, "repository_owner must be the owner's name (an organization or user), without /")
      .optional(),
    repository_owner_id: githubId("repository_owner_id").optional(),
    ref: claimValue.optional(),
    environment: claimValue.optional(),
    job_workflow_ref: claimValue.optional(),
    buckets: z
      .array(
        z
          .string()
          .regex(
            BUCKET_PATTERN,
            "each bucket must be an R2 bucket name, or a name prefix ending in * (logs-*), or * alone",
          ),
      )
      .min(1),
    permissions: z.array(z.enum(PERMISSIONS)).min(1),
    prefixes: z.array(prefixTemplate).min(1).optional(),
    /** A bucket name is unique per jurisdiction only: an eu "artifacts" is another bucket. Default: default only. */
    jurisdictions: z.array(z.enum(JURISDICTIONS)).min(1).default(["default"]),
    max_ttl: duration,
  })
  // A misspelt key (say `bucket` or `prefix`) must not silently widen a rule: it is a configuration error.
  .strict()
  .superRefine((rule, ctx) => {
    if (!IDENTITY_CLAIMS.some((claim) => rule[claim] !== undefined)) {
      ctx.addIssue({
        code: "custom",
        message: `a rule must pin at least one of ${IDENTITY_CLAIMS.join(", ")} (prefer the ids: names can be re-registered)`,
      });
    }
    // Admin credentials change the bucket itself (CORS, lifecycle rules), which no key prefix confines.
    const admin = rule.permissions.filter((p) => p.startsWith("admin-"));
    if (rule.prefixes && admin.length > 0) {
      ctx.addIssue({
        code: "custom",
        path: ["permissions"],
        message: `${admin.join(" and ")} cannot go with prefixes: admin credentials configure the whole bucket (CORS, lifecycle), which a prefix does not confine. Use object-read-only or object-read-write with prefixes, or a rule without prefixes for admin`,
      });
    }
  });

/** A digit, or another placeholder (whose value may start with one): what an id placeholder can meet. */
const STARTS_LIKE_AN_ID = /^(?:[0-9]|\{)/;

/** The `{name}` at `at`, if one starts there (a lone brace is reported by the rule's own check). */
function placeholderAt(text: string, at: number): string | undefined {
  const end = text[at] === "{" ? text.indexOf("}", at) : -1;
  return end > at ? text.slice(at, end + 1) : undefined;
}

/**
 * Why two prefixes of the policy can be filled into the same key space, or nothing. They are read
 * side by side: where one has a placeholder and the other has anything else at that place, a filled
 * value could equal the other's (repository id 123 and owner id 123 both give `123/`; an owner named
 * `shared` reaches a literal `shared/`). An id placeholder only meets digits or another placeholder.
 * One prefix ending inside the other is a wider grant the policy spells out, not a collision.
 */
function collision(a: string, b: string): string | undefined {
  let [i, j] = [0, 0];
  while (i < a.length && j < b.length) {
    const [pa, pb] = [placeholderAt(a, i), placeholderAt(b, j)];
    if (pa !== undefined && pa === pb) {
      i += pa.length;
      j += pa.length;
      continue;
    }
    if (pa === undefined && pb === undefined) {
      if (a[i] !== b[j]) return undefined;
      i += 1;
      j += 1;
      continue;
    }
    const [placeholder, facing] = pa !== undefined ? [pa, b.slice(j)] : [pb as string, a.slice(i)];
    if (placeholder.endsWith("_id}") && !STARTS_LIKE_AN_ID.test(facing)) return undefined;
    return `${JSON.stringify(a)} and ${JSON.stringify(b)} can meet: ${placeholder} could be filled with what the other has there, so one caller could reach another's keys. Give each its own literal start, e.g. "repo/{repository_id}/" and "owner/{repository_owner_id}/"`;
  }
  return undefined;
}

/** Whether two bucket patterns (a name, `name-prefix*`, or `*`) can name one bucket. */
function patternsMeet(a: string, b: string): boolean {
  const stem = (p: string) => (p.endsWith("*") ? p.slice(0, -1) : undefined);
  const [sa, sb] = [stem(a), stem(b)];
  if (sa !== undefined && sb !== undefined) return sa.startsWith(sb) || sb.startsWith(sa);
  if (sa !== undefined) return b.startsWith(sa);
  if (sb !== undefined) return a.startsWith(sb);
  return a === b;
}

/** Whether two rules can grant keys in the same bucket: prefixes of rules that cannot never meet. */
function shareABucket(a: z.infer<typeof ruleSchema>, b: z.infer<typeof ruleSchema>): boolean {
  return (
    a.jurisdictions.some((j) => b.jurisdictions.includes(j)) &&
    a.buckets.some((x) => b.buckets.some((y) => patternsMeet(x, y)))
  );
}

export const policySchema = z
  .object({ rules: z.array(ruleSchema).min(1) })
  .strict()
  .superRefine(({ rules }, ctx) => {
    // zod runs this refinement even when a rule failed its own checks: compare well-formed rules only.
    const wellFormed = (rule: (typeof rules)[number]) =>
      Array.isArray(rule.buckets) && Array.isArray(rule.jurisdictions) && Array.isArray(rule.prefixes);
    const all = rules.flatMap((rule, r) =>
      wellFormed(rule)
        ? (rule.prefixes ?? []).map((prefix, i) => ({ rule, prefix, path: ["rules", r, "prefixes", i] }))
        : [],
    );
    const reported = new Set<string>();
    for (const a of all) {
      for (const b of all) {
        const message = shareABucket(a.rule, b.rule) ? collision(a.prefix, b.prefix) : undefined;
        const pair = [a.prefix, b.prefix].sort().join("\n");
        if (message === undefined || reported.has(pair)) continue;
        reported.add(pair);
        ctx.addIssue({ code: "custom", path: a.path, message });
      }
    }
  });
export type Policy = z.infer<typeof policySchema>;
export type Rule = Policy["rules"][number];

/** Parses the POLICY var (a JSON string, or an object when wrangler.toml gives it as a table). */
export function parsePolicy(value: unknown): { policy: Policy } | { problem: string } {
  let data = value;
  if (typeof value === "string") {
    try {
      data = JSON.parse(value);
    } catch (error) {
      return { problem: `POLICY is not valid JSON (${(error as Error).message}).` };
    }
  }
  const parsed = policySchema.safeParse(data);
  if (parsed.success) return { policy: parsed.data };
  const issues = parsed.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "POLICY"}: ${issue.message}`)
    .join("; ");
  return { problem: `POLICY is not a valid policy (${issues}). See worker/README.md for its shape.` };
}

/** The verified claims the policy looks at. */
export interface PolicyClaims {
  repository: string;
  repository_id?: string | undefined;
  repository_owner?: string | undefined;
  repository_owner_id?: string | undefined;
  ref?: string | undefined;
  environment?: string | undefined;
  job_workflow_ref?: string | undefined;
}

/** What the caller asks for, after parseConfig validated it. */
export interface PolicyRequest {
  buckets: string[];
  jurisdiction: Jurisdiction;
  permission: Permission;
  prefixes: string[];
  objects: string[];
  /** undefined: the request named no ttl. */
  ttl: { seconds: number; text: string } | undefined;
}

export type Decision =
  | {
      allowed: true;
      rule: number;
      ttlSeconds: number;
      /** What the credentials are narrowed to: the request's, or the rule's filled prefixes when it asked for none. */
      prefixes: string[];
      objects: string[];
      /** The rule narrowed a request that asked for the whole bucket. */
      narrowedByPolicy: boolean;
    }
  | { allowed: false; message: string };

const PINNED_CLAIMS = ["ref", "environment", "job_workflow_ref"] as const;

export function bucketAllowed(pattern: string, bucket: string): boolean {
  return pattern.endsWith("*") ? bucket.startsWith(pattern.slice(0, -1)) : bucket === pattern;
}

function list(values: readonly string[]): string {
  return values.join(", ");
}

const shown = (value: string | undefined): string => (value === undefined || value === "" ? "(none)" : value);

/** The rule names this caller by at least one identity claim: its refusal reasons are worth giving. */
function namesCaller(rule: Rule, claims: PolicyClaims): boolean {
  return IDENTITY_CLAIMS.some((claim) => rule[claim] !== undefined && rule[claim] === claims[claim]);
}

/** Why a rule's pinned claims do not match, or undefined when they do. */
function claimMismatch(rule: Rule, claims: PolicyClaims): string | undefined {
  for (const claim of IDENTITY_CLAIMS) {
    const wanted = rule[claim];
    if (wanted === undefined || claims[claim] === wanted) continue;
    const of = claim === "repository" ? "" : ` for ${claims.repository}`;
    return `${claim} ${shown(claims[claim])} does not match the policy's ${wanted}${of}`;
  }
  for (const claim of PINNED_CLAIMS) {
    const wanted = rule[claim];
    if (wanted === undefined || claims[claim] === wanted) continue;
    return `${claim} ${shown(claims[claim])} is not allowed for ${claims.repository}: the policy requires ${claim} ${wanted}`;
  }
  return undefined;
}

/** `refs/heads/main` → `main`, `refs/tags/v1` → `v1`; other refs (pull requests) have no name to fill. */
export function refName(ref: string | undefined): string | undefined {
  const match = /^refs\/(?:heads|tags)\/(.+)$/.exec(ref ?? "");
  return match?.[1];
}

function placeholderValue(name: Placeholder, claims: PolicyClaims): string | undefined {
  const value = name === "ref_name" ? refName(claims.ref) : claims[name];
  // An empty claim must never fill a prefix: "{environment}/" would become "/", shared by every caller.
  return value === undefined || value === "" ? undefined : value;
}

/**
 * The rule's prefixes with their placeholders filled from the verified claims, or why the rule does
 * not apply: a claim the token does not carry (or a ref that is no branch or tag) never fills a
 * prefix with an empty string.
 */
export function fillPrefixes(
  templates: readonly string[],
  claims: PolicyClaims,
): { prefixes: string[] } | { reason: string } {
  const filled: string[] = [];
  for (const template of templates) {
    let missing: string | undefined;
    const prefix = template.replace(/\{([a-z_]+)\}/g, (whole, name: Placeholder) => {
      const value = placeholderValue(name, claims);
      if (value === undefined) missing ??= whole;
      return value ?? "";
    });
    if (missing !== undefined) {
      const why =
        missing === "{ref_name}"
          ? `a branch or tag ref, but ref is ${shown(claims.ref)}`
          : `the ${missing.slice(1, -1)} claim, which the token does not carry`;
      return { reason: `the policy's prefix ${template} needs ${why} (${claims.repository})` };
    }
    if (!filled.includes(prefix)) filled.push(prefix);
  }
  return { prefixes: filled };
}

type Grant = Omit<Extract<Decision, { allowed: true }>, "allowed" | "rule" | "ttlSeconds">;

/** Why a claim-matching rule does not allow the request, or what it grants. */
function requestMismatch(
  rule: Rule,
  claims: PolicyClaims,
  request: PolicyRequest,
): { reason: string } | { grant: Grant } {
  const repo = claims.repository;
  const refused = request.buckets.filter((bucket) => !rule.buckets.some((p) => bucketAllowed(p, bucket)));
  if (refused.length === 1) return { reason: `bucket ${refused[0]} is not allowed for ${repo}` };
  if (refused.length > 1) return { reason: `buckets ${list(refused)} are not allowed for ${repo}` };
  if (!rule.jurisdictions.includes(request.jurisdiction)) {
    return {
      reason: `jurisdiction ${request.jurisdiction} is not allowed for ${repo} (the policy allows ${list(rule.jurisdictions)})`,
    };
  }
  if (!rule.permissions.includes(request.permission)) {
    return {
      reason: `permission ${request.permission} is not allowed for ${repo} (the policy allows ${list(rule.permissions)})`,
    };
  }
  let grant: Grant = { prefixes: request.prefixes, objects: request.objects, narrowedByPolicy: false };
  if (rule.prefixes) {
    const filled = fillPrefixes(rule.prefixes, claims);
    if ("reason" in filled) return filled;
    const allowed = filled.prefixes;
    if (!isNarrowed(request)) {
      // Narrowed credentials are temporary credentials, which cover one bucket.
      if (request.buckets.length > 1) {
        return {
          reason: `the policy narrows ${repo} to the prefixes ${list(allowed)}, and narrowed credentials cover one bucket: ask for one of ${list(request.buckets)} at a time`,
        };
      }
      grant = { prefixes: allowed, objects: [], narrowedByPolicy: true };
    } else {
      const under = (key: string) => allowed.some((prefix) => key.startsWith(prefix));
      const outside = [
        ...request.prefixes.filter((p) => !under(p)).map((p) => `prefix ${p}`),
        ...request.objects.filter((o) => !under(o)).map((o) => `object ${o}`),
      ];
      if (outside.length > 0) {
        return {
          reason: `${list(outside)} ${outside.length === 1 ? "is" : "are"} outside the policy's prefixes ${list(allowed)} for ${repo}`,
        };
      }
    }
  }
  if (request.ttl !== undefined && request.ttl.seconds > rule.max_ttl.seconds) {
    return { reason: `ttl ${request.ttl.text} exceeds the policy's max_ttl ${rule.max_ttl.text}` };
  }
  return { grant };
}

/** The caller's ids, when the token carries them, so an owner can pin them. */
function idsOf(claims: PolicyClaims): string {
  const ids = [
    claims.repository_id ? `repository_id ${claims.repository_id}` : "",
    claims.repository_owner_id ? `repository_owner_id ${claims.repository_owner_id}` : "",
  ].filter((part) => part !== "");
  return ids.length > 0 ? ` (${ids.join(", ")})` : "";
}

/**
 * The first rule that names the caller, whose pinned claims all match and which allows the whole
 * request wins. Otherwise the refusal names the failed claim or request part; when several rules
 * named the caller, each one's reason, numbered as in POLICY (from 1).
 */
export function decide(policy: Policy, claims: PolicyClaims, request: PolicyRequest): Decision {
  const candidates = policy.rules
    .map((rule, index) => ({ rule, number: index + 1 }))
    .filter(({ rule }) => namesCaller(rule, claims));
  if (candidates.length === 0) {
    return {
      allowed: false,
      message: `repository ${claims.repository} is not in the policy${idsOf(claims)}`,
    };
  }
  const reasons: { number: number; reason: string }[] = [];
  for (const { rule, number } of candidates) {
    const mismatch = claimMismatch(rule, claims);
    const outcome = mismatch === undefined ? requestMismatch(rule, claims, request) : { reason: mismatch };
    if ("grant" in outcome) {
      const ttlSeconds = request.ttl?.seconds ?? Math.min(DEFAULT_TTL_SECONDS, rule.max_ttl.seconds);
      return { allowed: true, rule: number, ttlSeconds, ...outcome.grant };
    }
    reasons.push({ number, reason: outcome.reason });
  }
  if (reasons.length === 1) return { allowed: false, message: (reasons[0] as { reason: string }).reason };
  return {
    allowed: false,
    message: `no rule of the policy allows this request for ${claims.repository}: ${reasons
      .map(({ number, reason }) => `rule ${number}: ${reason}`)
      .join("; ")}`,
  };
}

/**
 * Rules that pin names only (repository, repository_owner) and no id: anyone who later creates a
 * repository or account of that name matches them. The Worker warns about each once per isolate.
 */
export function namesOnlyRules(policy: Policy): { rule: number; message: string }[] {
  return policy.rules.flatMap((rule, index) => {
    if (rule.repository_id !== undefined || rule.repository_owner_id !== undefined) return [];
    const names = (["repository", "repository_owner"] as const)
      .filter((claim) => rule[claim] !== undefined)
      .map((claim) => `${claim} ${rule[claim]}`)
      .join(" and ");
    const fix =
      rule.repository !== undefined
        ? `add "repository_id" (gh api repos/${rule.repository} --jq .id)`
        : `add "repository_owner_id" (gh api users/${rule.repository_owner} --jq .id)`;
    return [
      {
        rule: index + 1,
        message: `POLICY rule ${index + 1} pins ${names} by name only: whoever creates a repository or account of that name after a rename, deletion or transfer matches it. Pin the ids GitHub puts in the OIDC token: ${fix}.`,
      },
    ];
  });
}
