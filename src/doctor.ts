/**
 * doctor: what the token can do. It reads (verify, its own token, a page of tokens, the buckets) and
 * never writes. With its own policies in hand each verdict is known; without them it is inferred from
 * what Cloudflare refused, and says from what. Verdicts that rest on a rule Cloudflare does not
 * document name the conformance check that settles it (`npm run conformance`).
 */
import * as z from "zod/mini";
import { type CloudflareClient, CloudflareError, refusesCaller } from "./cloudflare/client.js";
import {
  accountResourceKey,
  bucketResourceKey,
  groupLabel,
  PERMISSION_GROUPS,
  SCOPE_ACCOUNT,
  SCOPE_BUCKET,
} from "./cloudflare/permission-groups.js";
import { getBucket } from "./cloudflare/r2.js";
import { getToken, type Policy, type TokenTarget, tokensPath, verifyToken } from "./cloudflare/tokens.js";
import { isAdmin, type Jurisdiction, type Permission, TOKEN_SCOPES, type TokenScope } from "./terms.js";

export const CAPABILITIES = ["token", "hybrid", "temporary", "create-bucket", "rescope", "sweep"] as const;
export type Capability = (typeof CAPABILITIES)[number];

/**
 * The conformance checks (docs/cloudflare-api.md §8) whose assumptions a verdict rests on. The ids
 * follow `npm run conformance`; the last two have no check yet.
 */
export const CHECKS = {
  storageCoversItems: "storage-write-covers-items",
  groupResourceScope: "group-resource-scope",
  tempCallers: "temp-creds-callers",
  bucketScopedRest: "bucket-scoped-rest-callers",
  verifyCrossOwner: "verify-cross-owner",
  grantWithinHoldings: "grant-within-holdings",
  tokensWriteCoversRead: "tokens-write-covers-read",
} as const;

export type Status = "possible" | "impossible" | "undecided";

export interface Missing {
  /** Cloudflare's permission-group name, e.g. "Account API Tokens Write". */
  group: string;
  /** The resource it must be granted on (a resource key of a token policy). */
  resource: string;
  /** Another grant that would do as well. */
  or?: { group: string; resource: string };
}

export interface Verdict {
  capability: Capability;
  /** The bucket the verdict is about; undefined for the account-wide ones or "any bucket". */
  bucket: string | undefined;
  status: Status;
  /** known: read from the token's own policies; inferred: from what Cloudflare refused or allowed. */
  basis: "known" | "inferred";
  /** Why, in a sentence: what grants it, or what was refused. */
  because: string;
  missing: Missing[];
  /** Conformance check ids of the emulator assumptions the verdict rests on. */
  checks: string[];
  /** Without --bucket: the only buckets it works for, when not every bucket. */
  only?: string[];
}

export interface DoctorReport {
  token: {
    id: string | undefined;
    owner: TokenScope | undefined;
    status: string | undefined;
    expiresOn: string | undefined;
    policies: "read" | "unreadable";
  };
  permission: Permission;
  jurisdiction: Jurisdiction;
  buckets: string[];
  notes: string[];
  verdicts: Verdict[];
}

export interface DoctorRequest {
  token: string;
  accountId: string;
  /** Where to verify; undefined tries both owners. */
  scope: TokenScope | undefined;
  buckets: string[];
  permission: Permission;
  jurisdiction: Jurisdiction;
  checks: readonly Capability[];
}

// --- What a policy grants: the documented groups, expanded into actions on resources ----------------

type Action =
  | "tokens.read"
  | "tokens.write"
  | "bucket.read"
  | "bucket.write"
  | "object.read"
  | "object.write";
type Kind = "account" | "user" | "bucket";
interface Pattern {
  kind: Kind;
  /** account: [account]; user: [user]; bucket: [account, jurisdiction, bucket]; "*" matches anything. */
  parts: string[];
}
interface Grant {
  effect: "allow" | "deny";
  action: Action;
  pattern: Pattern;
  /** "policy 2 (Workers R2 Storage Write)". */
  source: string;
  /** A check id when the grant exists only through an undocumented containment. */
  assumption: string | undefined;
}

interface GroupRule {
  accepts: Kind;
  yields: { actions: Action[]; on: (p: Pattern) => Pattern; assumption?: string }[];
}
const same = (p: Pattern) => p;
const bucketsOf = (p: Pattern): Pattern => ({ kind: "bucket", parts: [p.parts[0] ?? "*", "*", "*"] });
const TOKENS_WRITE: GroupRule["yields"] = [
  { actions: ["tokens.write"], on: same },
  { actions: ["tokens.read"], on: same, assumption: CHECKS.tokensWriteCoversRead },
];
const GROUP_RULES: Record<string, GroupRule> = {
  "Account API Tokens Write": { accepts: "account", yields: TOKENS_WRITE },
  "Account API Tokens Read": { accepts: "account", yields: [{ actions: ["tokens.read"], on: same }] },
  "API Tokens Write": { accepts: "user", yields: TOKENS_WRITE },
  "API Tokens Read": { accepts: "user", yields: [{ actions: ["tokens.read"], on: same }] },
  "Workers R2 Storage Write": {
    accepts: "account",
    yields: [
      { actions: ["bucket.read", "bucket.write"], on: same },
      { actions: ["object.read", "object.write"], on: bucketsOf, assumption: CHECKS.storageCoversItems },
    ],
  },
  "Workers R2 Storage Read": {
    accepts: "account",
    yields: [
      { actions: ["bucket.read"], on: same },
      { actions: ["object.read"], on: bucketsOf, assumption: CHECKS.storageCoversItems },
    ],
  },
  "Workers R2 Storage Bucket Item Write": {
    accepts: "bucket",
    yields: [{ actions: ["object.read", "object.write"], on: same }],
  },
  "Workers R2 Storage Bucket Item Read": {
    accepts: "bucket",
    yields: [{ actions: ["object.read"], on: same }],
  },
};

const ACCOUNT_KEY = `${SCOPE_ACCOUNT}.`;
const BUCKET_KEY = `${SCOPE_BUCKET}.`;
const USER_KEY = "com.cloudflare.api.user.";

function bucketPattern(rest: string, account?: string): Pattern | undefined {
  if (rest === "*") return { kind: "bucket", parts: [account ?? "*", "*", "*"] };
  const [owner, jurisdiction, ...name] = rest.split("_");
  if (!owner || !jurisdiction || name.length === 0) return undefined;
  if (account !== undefined && owner !== "*" && owner !== account) return undefined;
  return { kind: "bucket", parts: [account ?? owner, jurisdiction, name.join("_")] };
}

/** Resource maps as token policies write them: flat keys, or buckets nested under their account. */
function patternsOf(resources: Policy["resources"]): Pattern[] {
  const out: Pattern[] = [];
  for (const [key, value] of Object.entries(resources)) {
    if (key.startsWith(BUCKET_KEY) && value === "*") {
      const p = bucketPattern(key.slice(BUCKET_KEY.length));
      if (p) out.push(p);
    } else if (key.startsWith(USER_KEY) && value === "*") {
      out.push({ kind: "user", parts: ["*"] });
    } else if (key.startsWith(ACCOUNT_KEY)) {
      const account = key.slice(ACCOUNT_KEY.length);
      if (account.includes(".")) continue; // zones and other resource types
      if (value === "*") out.push({ kind: "account", parts: [account] });
      else {
        for (const [child, childValue] of Object.entries(value)) {
          if (childValue !== "*" || !child.startsWith(BUCKET_KEY)) continue;
          const p = bucketPattern(child.slice(BUCKET_KEY.length), account);
          if (p) out.push(p);
        }
      }
    }
  }
  return out;
}

/** Every (effect, action, resource) the policies give; a group applies only to its own resource type. */
function grantsOf(policies: readonly Policy[]): Grant[] {
  const grants: Grant[] = [];
  policies.forEach((policy, index) => {
    const patterns = patternsOf(policy.resources);
    for (const group of policy.permission_groups) {
      const name = groupLabel(group);
      const rule = GROUP_RULES[name];
      if (!rule) continue;
      for (const pattern of patterns.filter((p) => p.kind === rule.accepts)) {
        for (const y of rule.yields) {
          for (const action of y.actions) {
            grants.push({
              effect: policy.effect,
              action,
              pattern: y.on(pattern),
              source: `policy ${index + 1} (${name})`,
              assumption: y.assumption,
            });
          }
        }
      }
    }
  });
  return grants;
}

const covers = (p: Pattern, t: Pattern) =>
  p.kind === t.kind && p.parts.every((part, i) => part === "*" || part === t.parts[i]);
const overlaps = (p: Pattern, t: Pattern) =>
  p.kind === t.kind && p.parts.every((part, i) => part === "*" || t.parts[i] === "*" || part === t.parts[i]);

interface Held {
  ok: boolean;
  via: Grant[];
  deniedBy: Grant | undefined;
}

function holds(grants: readonly Grant[], actions: readonly Action[], target: Pattern): Held {
  const via: Grant[] = [];
  for (const action of actions) {
    const deny = grants.find(
      (g) => g.effect === "deny" && g.action === action && overlaps(g.pattern, target),
    );
    if (deny) return { ok: false, via, deniedBy: deny };
    // A grant without an assumption first, so a verdict cites a check only when it must.
    const allows = grants.filter(
      (g) => g.effect === "allow" && g.action === action && covers(g.pattern, target),
    );
    const allow = allows.find((g) => !g.assumption) ?? allows[0];
    if (!allow) return { ok: false, via, deniedBy: undefined };
    via.push(allow);
  }
  return { ok: true, via, deniedBy: undefined };
}

// --- Requirements per capability, in Cloudflare's words --------------------------------------------

interface Requirement {
  actions: Action[];
  target: Pattern;
  missing: Missing;
}

/** `reads`: the capability also lists or GETs tokens (rescope, sweep), not only creates them. */
function tokensRequirement(owner: TokenScope, accountId: string, reads = false): Requirement {
  const actions: Action[] = reads ? ["tokens.read", "tokens.write"] : ["tokens.write"];
  return owner === "account"
    ? {
        actions,
        target: { kind: "account", parts: [accountId] },
        missing: { group: "Account API Tokens Write", resource: accountResourceKey(accountId) },
      }
    : {
        actions,
        target: { kind: "user", parts: ["*"] },
        missing: { group: "API Tokens Write", resource: `${USER_KEY}<your user id>` },
      };
}

function storageWrite(accountId: string): Requirement {
  return {
    actions: ["bucket.read", "bucket.write"],
    target: { kind: "account", parts: [accountId] },
    missing: { group: "Workers R2 Storage Write", resource: accountResourceKey(accountId) },
  };
}

/** What a child with `permission` on the bucket needs its creator to hold (it may grant only that). */
function permissionRequirement(
  permission: Permission,
  accountId: string,
  jurisdiction: Jurisdiction,
  bucket: string,
): Requirement {
  const group = PERMISSION_GROUPS[permission];
  const storage = permission.endsWith("write") ? "Workers R2 Storage Write" : "Workers R2 Storage Read";
  if (isAdmin(permission)) {
    return {
      actions: permission === "admin-read-write" ? ["bucket.read", "bucket.write"] : ["bucket.read"],
      target: { kind: "account", parts: [accountId] },
      missing: { group: group.name, resource: accountResourceKey(accountId) },
    };
  }
  return {
    actions: permission === "object-read-write" ? ["object.read", "object.write"] : ["object.read"],
    target: { kind: "bucket", parts: [accountId, bucket === "*" ? "*" : jurisdiction, bucket] },
    missing: {
      group: group.name,
      resource:
        bucket === "*" ? `${BUCKET_KEY}${accountId}_*` : bucketResourceKey(accountId, jurisdiction, bucket),
      or: { group: storage, resource: accountResourceKey(accountId) },
    },
  };
}

function requirements(
  capability: Capability,
  owner: TokenScope,
  request: DoctorRequest,
  bucket: string,
): { needs: Requirement[]; checks: string[]; what: string } {
  const tokens = tokensRequirement(owner, request.accountId);
  const child = permissionRequirement(request.permission, request.accountId, request.jurisdiction, bucket);
  const storage = storageWrite(request.accountId);
  switch (capability) {
    case "token":
      return {
        needs: [tokens, child],
        checks: [CHECKS.grantWithinHoldings],
        what: `create child tokens with ${request.permission}`,
      };
    case "hybrid":
      return {
        needs: [tokens, child, storage],
        checks: [CHECKS.grantWithinHoldings, CHECKS.tempCallers, CHECKS.bucketScopedRest],
        what: "create a child and ask temp-access-credentials for it",
      };
    case "temporary":
      return {
        needs: [storage, child],
        checks: [CHECKS.tempCallers],
        what: "ask temp-access-credentials with itself as the parent",
      };
    case "create-bucket":
      return { needs: [storage], checks: [], what: "create buckets" };
    case "rescope":
      return {
        needs: [tokensRequirement(owner, request.accountId, true), child],
        checks: [CHECKS.grantWithinHoldings],
        what: `read and rewrite tokens, granting ${request.permission} (a token is written back whole, so its other policies must be within this token's grants too)`,
      };
    case "sweep":
      return {
        needs: [tokensRequirement(owner, request.accountId, true)],
        checks: [],
        what: "list and delete this tool's child tokens",
      };
  }
}

const BUCKET_CAPABILITIES = new Set<Capability>(["token", "hybrid", "temporary", "rescope"]);

function unique(values: (string | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== undefined))];
}

/** Every bucket an allow policy names, for "only for these buckets" when no --bucket was given. */
function namedBuckets(
  grants: readonly Grant[],
  accountId: string,
): { jurisdiction: string; bucket: string }[] {
  const found = new Map<string, { jurisdiction: string; bucket: string }>();
  for (const g of grants) {
    const [account, jurisdiction = "*", bucket = "*"] = g.pattern.parts;
    if (
      g.effect === "allow" &&
      g.pattern.kind === "bucket" &&
      bucket !== "*" &&
      (account === accountId || account === "*")
    ) {
      found.set(`${jurisdiction}/${bucket}`, { jurisdiction, bucket });
    }
  }
  return [...found.values()];
}

function judgeKnown(
  capability: Capability,
  bucket: string | undefined,
  owner: TokenScope,
  grants: readonly Grant[],
  request: DoctorRequest,
): Verdict {
  const subject = bucket ?? "*";
  const { needs, checks, what } = requirements(capability, owner, request, subject);
  const results = needs.map((need) => ({ need, held: holds(grants, need.actions, need.target) }));
  const failing = results.filter((r) => !r.held.ok);
  const via = results.flatMap((r) => r.held.via);
  const assumptions = unique(via.map((g) => g.assumption));
  if (failing.length === 0) {
    return {
      capability,
      bucket,
      status: "possible",
      basis: "known",
      because: `its policies let it ${what}: ${unique(via.map((g) => g.source)).join(", ")}.`,
      missing: [],
      checks: unique([...checks, ...assumptions]),
    };
  }
  // Without a bucket, a token with item groups on some buckets still works for those.
  if (bucket === undefined && BUCKET_CAPABILITIES.has(capability)) {
    const only = namedBuckets(grants, request.accountId)
      .filter(({ jurisdiction, bucket: name }) =>
        needs.every((need) => {
          const target =
            need.target.kind === "bucket"
              ? { kind: "bucket" as const, parts: [request.accountId, jurisdiction, name] }
              : need.target;
          return holds(grants, need.actions, target).ok;
        }),
      )
      .map(({ jurisdiction, bucket: name }) =>
        jurisdiction === "default" ? name : `${name} (${jurisdiction})`,
      );
    if (only.length > 0) {
      return {
        capability,
        bucket,
        status: "possible",
        basis: "known",
        because: `its policies let it ${what} only for the buckets they name, not for every bucket of the account.`,
        missing: [],
        checks: unique([...checks, ...assumptions]),
        only,
      };
    }
  }
  const denied = failing.find((r) => r.held.deniedBy);
  return {
    capability,
    bucket,
    status: "impossible",
    basis: "known",
    because: denied
      ? `${denied.held.deniedBy?.source} denies what it needs to ${what}.`
      : `its policies do not let it ${what}.`,
    missing: failing.map((r) => r.need.missing),
    checks: unique([...checks, ...assumptions, CHECKS.groupResourceScope]),
  };
}

// --- Inference when the token may not read its own policies -----------------------------------------

interface Probes {
  /** A page of the owner's tokens: allowed, or refused (undefined: not asked). */
  listTokens: "allowed" | "refused" | undefined;
  listBuckets: "allowed" | "refused" | undefined;
}

function judgeInferred(
  capability: Capability,
  bucket: string | undefined,
  owner: TokenScope,
  probes: Probes,
  request: DoctorRequest,
): Verdict {
  const { needs, checks, what } = requirements(capability, owner, request, bucket ?? "*");
  const needsTokens = needs.some((n) => n.actions.includes("tokens.write"));
  const needsStorage = needs.some((n) => n.actions.includes("bucket.write"));
  const base = { capability, bucket, basis: "inferred" as const };
  if (needsTokens && probes.listTokens === "refused") {
    return {
      ...base,
      status: "impossible",
      because: `Cloudflare refused it a list of its ${owner} tokens, so it holds neither ${owner === "account" ? "Account API Tokens Read nor Write" : "API Tokens Read nor Write"}: it cannot ${what}.`,
      missing: needs.filter((n) => n.actions.includes("tokens.write")).map((n) => n.missing),
      checks: unique([...checks, CHECKS.tokensWriteCoversRead]),
    };
  }
  if (needsStorage && probes.listBuckets === "refused") {
    return {
      ...base,
      status: "impossible",
      because: `Cloudflare refused it the list of buckets, so it holds no account-level Workers R2 Storage group: it cannot ${what}.`,
      missing: needs.filter((n) => n.actions.includes("bucket.write")).map((n) => n.missing),
      checks: unique([...checks, CHECKS.bucketScopedRest]),
    };
  }
  const clues = [
    probes.listBuckets === "allowed"
      ? "it may list buckets (Workers R2 Storage Read or Write on the account), and whether it may write cannot be told without writing"
      : undefined,
    probes.listTokens === "allowed" ? "it may list tokens" : undefined,
  ].filter(Boolean);
  return {
    ...base,
    status: "undecided",
    because: `it may not read its own policies${clues.length ? `; ${clues.join("; ")}` : ""}. To ${what} it needs what is listed.`,
    missing: needs.map((n) => n.missing),
    checks,
  };
}

// --- The calls ---------------------------------------------------------------------------------------

async function probe(call: () => Promise<unknown>): Promise<"allowed" | "refused"> {
  try {
    await call();
    return "allowed";
  } catch (error) {
    if (refusesCaller(error)) return "refused";
    throw error;
  }
}

/**
 * Answers what the token can do, from reads only: verify (on both owners' endpoints unless the scope
 * is given; the other's 401 is expected), a GET of its own token, and, when that is refused, a page of
 * tokens and the bucket list. Throws only for failures of the network or of Cloudflare itself.
 */
export async function doctor(client: CloudflareClient, request: DoctorRequest): Promise<DoctorReport> {
  const notes: string[] = [];
  let owner: TokenScope | undefined;
  let verified: Awaited<ReturnType<typeof verifyToken>> | undefined;
  for (const scope of request.scope ? [request.scope] : TOKEN_SCOPES) {
    try {
      verified = await verifyToken(client, { scope, accountId: request.accountId, token: request.token });
      owner = scope;
      break;
    } catch (error) {
      if (!(error instanceof CloudflareError) || error.status !== 401) throw error;
      if (!request.scope)
        notes.push(
          `The ${scope} verify endpoint does not know the token (401): it is not ${scope}-owned [${CHECKS.verifyCrossOwner}].`,
        );
    }
  }
  const report: DoctorReport = {
    token: {
      id: verified?.id,
      owner,
      status: verified?.status,
      expiresOn: verified?.expires_on ?? undefined,
      policies: "unreadable",
    },
    permission: request.permission,
    jurisdiction: request.jurisdiction,
    buckets: request.buckets,
    notes,
    verdicts: [],
  };
  const subjects = (capability: Capability) =>
    BUCKET_CAPABILITIES.has(capability) && request.buckets.length > 0 ? request.buckets : [undefined];

  if (!verified || !owner || (verified.status !== undefined && verified.status !== "active")) {
    const why = !verified
      ? `Cloudflare does not know the token: verify answered 401 on ${request.scope ? `the ${request.scope} endpoint` : "both the account and the user endpoint"}.`
      : `the token is ${verified.status}.`;
    for (const capability of request.checks) {
      for (const bucket of subjects(capability)) {
        report.verdicts.push({
          capability,
          bucket,
          status: "impossible",
          basis: "known",
          because: why,
          missing: [],
          checks: [],
        });
      }
    }
    return report;
  }

  const target: TokenTarget = { scope: owner, accountId: request.accountId, token: request.token };
  let policies: Policy[] | undefined;
  try {
    policies = (await getToken(client, target, verified.id)).policies;
    report.token.policies = "read";
  } catch (error) {
    if (!refusesCaller(error)) throw error;
    notes.push(
      `It may not read its own token (GET ${tokensPath(owner, request.accountId)}/${verified.id} refused): the verdicts are inferred.`,
    );
  }

  for (const bucket of request.buckets) {
    try {
      await getBucket(
        client,
        { accountId: request.accountId, token: request.token, jurisdiction: request.jurisdiction },
        bucket,
      );
    } catch (error) {
      if (error instanceof CloudflareError && error.hasCode(10006)) {
        notes.push(
          `Bucket ${bucket} does not exist in jurisdiction ${request.jurisdiction}: create it first (mint --create-bucket), or check --jurisdiction.`,
        );
      } else if (!refusesCaller(error)) throw error;
    }
  }

  if (policies) {
    const grants = grantsOf(policies);
    for (const capability of request.checks) {
      for (const bucket of subjects(capability))
        report.verdicts.push(judgeKnown(capability, bucket, owner, grants, request));
    }
    return report;
  }

  const probes: Probes = {
    listTokens: await probe(() =>
      client.requestPage({
        method: "GET",
        path: tokensPath(owner, request.accountId),
        token: request.token,
        query: { page: 1, per_page: 5 },
        result: z.array(z.unknown()),
      }),
    ),
    listBuckets: await probe(() =>
      client.request({
        method: "GET",
        path: `/accounts/${request.accountId}/r2/buckets`,
        token: request.token,
        query: { per_page: 1 },
        result: z.unknown(),
      }),
    ),
  };
  for (const capability of request.checks) {
    for (const bucket of subjects(capability))
      report.verdicts.push(judgeInferred(capability, bucket, owner, probes, request));
  }
  return report;
}

/** 0: every checked capability is possible; 1: one is impossible; 3: none impossible, one undecided. */
export function doctorExitCode(report: DoctorReport): 0 | 1 | 3 {
  if (report.verdicts.some((v) => v.status === "impossible")) return 1;
  if (report.verdicts.some((v) => v.status === "undecided")) return 3;
  return 0;
}
