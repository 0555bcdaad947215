/**
 * The vending policy (the POLICY var): which repositories, optionally pinned to a ref, an environment
 * or a reusable workflow, may get which buckets, permissions, prefixes and maximum lifetime.
 *
 * Rules are tried in order; the first rule whose claims match and which allows the whole request wins.
 * A refusal says which claim or which part of the request no rule allowed.
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

const claimValue = z.string().trim().min(1);

const ruleSchema = z
  .object({
    repository: z.string().regex(REPOSITORY, "repository must be owner/name, exactly as GitHub spells it"),
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
    prefixes: z.array(z.string().min(1, "a prefix cannot be empty")).min(1).optional(),
    /** A bucket name is unique per jurisdiction only: an eu "artifacts" is another bucket. Default: default only. */
    jurisdictions: z.array(z.enum(JURISDICTIONS)).min(1).default(["default"]),
    max_ttl: duration,
  })
  // A misspelt key (say `bucket` or `prefix`) must not silently widen a rule: it is a configuration error.
  .strict();

export const policySchema = z.object({ rules: z.array(ruleSchema).min(1) }).strict();
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
  | { allowed: true; rule: number; ttlSeconds: number }
  | { allowed: false; message: string };

const PINNED_CLAIMS = ["ref", "environment", "job_workflow_ref"] as const;

export function bucketAllowed(pattern: string, bucket: string): boolean {
  return pattern.endsWith("*") ? bucket.startsWith(pattern.slice(0, -1)) : bucket === pattern;
}

function list(values: readonly string[]): string {
  return values.join(", ");
}

/** Why a rule's pinned claims do not match, or undefined when they do. */
function claimMismatch(rule: Rule, claims: PolicyClaims): string | undefined {
  for (const claim of PINNED_CLAIMS) {
    const wanted = rule[claim];
    if (wanted === undefined || claims[claim] === wanted) continue;
    const actual = claims[claim];
    return `${claim} ${actual === undefined || actual === "" ? "(none)" : actual} is not allowed for ${claims.repository}: the policy requires ${claim} ${wanted}`;
  }
  return undefined;
}

/** Why a claim-matching rule does not allow the request, or undefined when it does. */
function requestMismatch(rule: Rule, claims: PolicyClaims, request: PolicyRequest): string | undefined {
  const repo = claims.repository;
  const refused = request.buckets.filter((bucket) => !rule.buckets.some((p) => bucketAllowed(p, bucket)));
  if (refused.length === 1) return `bucket ${refused[0]} is not allowed for ${repo}`;
  if (refused.length > 1) return `buckets ${list(refused)} are not allowed for ${repo}`;
  if (!rule.jurisdictions.includes(request.jurisdiction)) {
    return `jurisdiction ${request.jurisdiction} is not allowed for ${repo} (the policy allows ${list(rule.jurisdictions)})`;
  }
  if (!rule.permissions.includes(request.permission)) {
    return `permission ${request.permission} is not allowed for ${repo} (the policy allows ${list(rule.permissions)})`;
  }
  if (rule.prefixes) {
    const allowed = rule.prefixes;
    if (!isNarrowed(request)) {
      return `the policy narrows ${repo} to the prefixes ${list(allowed)}: ask for prefixes (or objects) under them`;
    }
    const under = (key: string) => allowed.some((prefix) => key.startsWith(prefix));
    const outside = [
      ...request.prefixes.filter((p) => !under(p)).map((p) => `prefix ${p}`),
      ...request.objects.filter((o) => !under(o)).map((o) => `object ${o}`),
    ];
    if (outside.length > 0) {
      return `${list(outside)} ${outside.length === 1 ? "is" : "are"} outside the policy's prefixes ${list(allowed)} for ${repo}`;
    }
  }
  if (request.ttl !== undefined && request.ttl.seconds > rule.max_ttl.seconds) {
    return `ttl ${request.ttl.text} exceeds the policy's max_ttl ${rule.max_ttl.text}`;
  }
  return undefined;
}

/**
 * The first rule for the caller's repository whose pinned claims match and which allows the whole
 * request wins. Otherwise the refusal names the failed claim or request part; when several rules were
 * candidates, each one's reason, numbered as in POLICY (from 1).
 */
export function decide(policy: Policy, claims: PolicyClaims, request: PolicyRequest): Decision {
  const candidates = policy.rules
    .map((rule, index) => ({ rule, number: index + 1 }))
    .filter(({ rule }) => rule.repository === claims.repository);
  if (candidates.length === 0) {
    return { allowed: false, message: `repository ${claims.repository} is not in the policy` };
  }
  const reasons: { number: number; reason: string }[] = [];
  for (const { rule, number } of candidates) {
    const reason = claimMismatch(rule, claims) ?? requestMismatch(rule, claims, request);
    if (reason === undefined) {
      const ttlSeconds = request.ttl?.seconds ?? Math.min(DEFAULT_TTL_SECONDS, rule.max_ttl.seconds);
      return { allowed: true, rule: number, ttlSeconds };
    }
    reasons.push({ number, reason });
  }
  if (reasons.length === 1) return { allowed: false, message: (reasons[0] as { reason: string }).reason };
  return {
    allowed: false,
    message: `no rule of the policy allows this request for ${claims.repository}: ${reasons
      .map(({ number, reason }) => `rule ${number}: ${reason}`)
      .join("; ")}`,
  };
}
