// API tokens: the model (validation, creation, views) and the /accounts/{a}/tokens… and
// /user/tokens… handlers (docs/cloudflare-api.md §3).
import { z } from "zod";
import type { Handler, RequestContext } from "./context.js";
import { type ApiError, apiError, errors } from "./envelope.js";
import { hexId, isoSeconds, s3SecretOf, tokenValue } from "./ids.js";
import {
  type Action,
  holds,
  missingToGrant,
  type Pattern,
  parsePatterns,
  ResourceError,
  targets,
} from "./policy.js";
import type { State, StoredPolicy, TokenRecord } from "./state.js";
import type { PolicyInput, TokenScope, TokenView } from "./types.js";

// RFC 3339 with a mandatory time zone, as the API documents (`2018-07-01T05:20:00Z`).
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const timestamp = z
  .string()
  .regex(RFC3339, "must be an RFC 3339 timestamp such as 2026-01-01T00:00:00Z")
  .refine((s) => !Number.isNaN(Date.parse(s)), "is not a valid date");

const policySchema = z.object({
  effect: z.enum(["allow", "deny"]),
  // "It is only required to pass the id of the permission group" (docs/cloudflare-api.md §3): names
  // are ignored.
  permission_groups: z.array(z.object({ id: z.string() })).min(1),
  resources: z.record(z.string(), z.unknown()),
});

const tokenBodySchema = z.object({
  // [SCHEMA] iam_name maxLength 120.
  name: z.string().min(1).max(120),
  // Assumption (conformance: token-empty-policies): at least one policy is required (a token without
  // policies can do nothing).
  policies: z.array(policySchema).min(1),
  not_before: timestamp.optional(),
  expires_on: timestamp.optional(),
  condition: z.record(z.string(), z.unknown()).optional(),
});
const updateBodySchema = tokenBodySchema.extend({ status: z.enum(["active", "disabled"]).optional() });
// Seeding may create a token without policies (the `no-permissions` preset).
const seedBodySchema = tokenBodySchema.extend({ policies: z.array(policySchema) });

type TokenBody = z.infer<typeof updateBodySchema>;

export function zodMessage(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw errors.invalid(`Invalid request: ${zodMessage(parsed.error)}`);
  return parsed.data;
}

/**
 * Nothing shows Cloudflare's answer for a group id it does not know (docs/cloudflare-api.md §8.5); a
 * [3P] report saw 403/9109 for other policy problems.
 * Assumption (conformance: unknown-permission-group; switch assumptions.unknownPermissionGroup):
 * 400/1001 by default (docs/design.md §7).
 */
function unknownGroup(state: State, id: string): ApiError {
  const message = `Permission group ${id} does not exist or is not allowed`;
  switch (state.options.assumptions.unknownPermissionGroup) {
    case "403/9109":
      return apiError(403, 9109, "Unauthorized to access requested resource");
    case "404/7003":
      return apiError(404, 7003, message);
    default:
      return errors.invalid(message);
  }
}

/** Resolves group ids and checks resources; throws the API errors Cloudflare would answer. */
function resolvePolicies(state: State, policies: z.infer<typeof policySchema>[]): StoredPolicy[] {
  return policies.map((p) => {
    const groups = p.permission_groups.map((g) => {
      const group = state.groupById(g.id);
      if (!group) throw unknownGroup(state, g.id);
      return group;
    });
    try {
      parsePatterns(p.resources);
    } catch (e) {
      if (e instanceof ResourceError) throw errors.invalid(`Invalid resources: ${e.message}`);
      throw e;
    }
    return {
      id: hexId(),
      effect: p.effect,
      permission_groups: groups.map((g) => ({ id: g.id, name: g.name })),
      resources: p.resources,
      groups: groups.map((g) => g.key),
    };
  });
}

function checkTimes(state: State, body: { expires_on?: string | undefined }): void {
  // Assumption (conformance: token-past-expiry): Cloudflare refuses an expiry that already passed
  // (otherwise the token is born dead).
  if (body.expires_on !== undefined && Date.parse(body.expires_on) <= state.now()) {
    throw errors.invalid("Invalid request: expires_on must be in the future");
  }
}

function checkCanGrant(caller: TokenRecord | undefined, state: State, policies: StoredPolicy[]): void {
  if (!caller) return; // seeding bypasses the creator check
  const missing = missingToGrant(state.grantsOf(caller), policies);
  // "You cannot create a token that exceeds the permission granted to you" (docs/cloudflare-api.md §3).
  if (missing.length > 0) throw errors.unauthorized();
}

interface CreateTokenInput {
  scope: TokenScope;
  body: TokenBody;
  caller?: TokenRecord;
  seeded: boolean;
}

/** Validates and stores a new token; returns the record (its value is the secret). */
export function createToken(state: State, input: CreateTokenInput): TokenRecord {
  const body = parseBody(input.seeded ? seedBodySchema : tokenBodySchema, input.body);
  checkTimes(state, body);
  const policies = resolvePolicies(state, body.policies);
  checkCanGrant(input.caller, state, policies);
  const quota = state.options.quotas[input.scope];
  // Assumption (conformance: token-quota): deleted tokens free their slot at once;
  // expired-but-not-deleted ones still count (docs/cloudflare-api.md §7, question 8). Seeded tokens
  // count but are never refused.
  if (!input.seeded && state.ownerCount(input.scope) >= quota) {
    // Assumption (conformance: token-quota): code 1010 is invented; Cloudflare's code for this case is
    // not documented.
    throw apiError(
      400,
      1010,
      `Token quota exceeded: this ${input.scope} already has ${quota} API tokens (the maximum); delete unused tokens first`,
    );
  }
  const now = state.now();
  const value = tokenValue(input.scope);
  const record: TokenRecord = {
    id: hexId(),
    name: body.name,
    scope: input.scope,
    value,
    secret: s3SecretOf(value),
    disabled: false,
    issuedOn: now,
    modifiedOn: now,
    notBefore: body.not_before === undefined ? undefined : Date.parse(body.not_before),
    expiresOn: body.expires_on === undefined ? undefined : Date.parse(body.expires_on),
    condition: body.condition,
    policies,
    seeded: input.seeded,
    seq: state.nextSeq(),
  };
  state.tokens.set(record.id, record);
  state.tokenIdByValue.set(value, record.id);
  return record;
}

export function tokenView(state: State, t: TokenRecord): TokenView {
  const view: TokenView = {
    id: t.id,
    name: t.name,
    scope: t.scope,
    status: state.statusOf(t),
    issued_on: isoSeconds(t.issuedOn),
    modified_on: isoSeconds(t.modifiedOn),
    policies: t.policies.map((p) => ({
      id: p.id,
      effect: p.effect,
      permission_groups: p.permission_groups,
      resources: p.resources,
    })),
    seeded: t.seeded,
  };
  if (t.notBefore !== undefined) view.not_before = isoSeconds(t.notBefore);
  if (t.expiresOn !== undefined) view.expires_on = isoSeconds(t.expiresOn);
  return view;
}

/** The token object as the API returns it (no `scope`/`seeded`, which are emulator-only). */
function apiTokenObject(state: State, t: TokenRecord): Record<string, unknown> {
  if (t.shape) return t.shape;
  const { scope: _scope, seeded: _seeded, ...rest } = tokenView(state, t);
  return t.condition === undefined ? rest : { ...rest, condition: t.condition };
}

/** The resource that token management on a route is about: the account or the user. */
function ownerTarget(ctx: RequestContext): Pattern {
  return ctx.scope === "account" ? targets.account(ctx.params.account ?? "") : targets.user(ctx.state.userId);
}

function requireTokenPermission(ctx: RequestContext, level: "read" | "write"): void {
  const action: Action = `${ctx.scope}.tokens.${level}`;
  if (!holds(ctx.state.grantsOf(ctx.caller), action, ownerTarget(ctx))) throw errors.unauthorized();
}

const noSuchToken = () =>
  apiError(404, 7003, "Could not route to the token, perhaps your object identifier is invalid?");

function findToken(ctx: RequestContext): TokenRecord {
  const t = ctx.state.liveToken(ctx.params.id ?? "");
  // Assumption (conformance: token-unknown-id): an unknown (or other-scope) token id answers like
  // Cloudflare's unknown object ids, 404 with code 7003.
  if (!t || t.scope !== ctx.scope) throw noSuchToken();
  return t;
}

export const create: Handler = (ctx) => {
  requireTokenPermission(ctx, "write");
  const t = createToken(ctx.state, {
    scope: ctx.scope,
    body: ctx.body as TokenBody,
    caller: ctx.caller,
    seeded: false,
  });
  return { result: { ...apiTokenObject(ctx.state, t), value: t.value } };
};

function intParam(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  const n = Number(raw);
  // Assumption (conformance: token-list-per-page): out-of-range paging parameters are refused rather
  // than clamped.
  if (!Number.isInteger(n) || n < min || n > max) {
    throw errors.invalid(`Invalid request: ${name} must be an integer from ${min} to ${max}`);
  }
  return n;
}

export const list: Handler = (ctx) => {
  requireTokenPermission(ctx, "read");
  const page = intParam(ctx.query, "page", 1, 1, Number.MAX_SAFE_INTEGER);
  // [SCHEMA] per_page 5–50, default 20.
  const perPage = intParam(ctx.query, "per_page", 20, 5, 50);
  // Assumption (conformance: token-list-expired): expired tokens are left out unless
  // include_expired=true (SDK wording).
  const includeExpired = ctx.query.get("include_expired") === "true";
  // Assumption (conformance: token-list-order): tokens are listed in creation order
  // (`direction=desc` reverses it).
  const direction = ctx.query.get("direction") === "desc" ? -1 : 1;
  const all = [...ctx.state.tokens.values()]
    .filter((t) => t.deletedAt === undefined && t.scope === ctx.scope)
    .filter((t) => includeExpired || ctx.state.statusOf(t) !== "expired")
    .sort((a, b) => direction * (a.seq - b.seq));
  const items = all.slice((page - 1) * perPage, page * perPage);
  // [SCHEMA] result_info; Assumption (conformance: token-list-result-info): every page carries page,
  // per_page, count and total_count.
  return {
    result: items.map((t) => apiTokenObject(ctx.state, t)),
    result_info: { page, per_page: perPage, count: items.length, total_count: all.length },
  };
};

export const get: Handler = (ctx) => {
  requireTokenPermission(ctx, "read");
  return { result: apiTokenObject(ctx.state, findToken(ctx)) };
};

export const update: Handler = (ctx) => {
  requireTokenPermission(ctx, "write");
  const t = findToken(ctx);
  // PUT replaces the whole definition: name and policies are required, omitted optional fields
  // are cleared (docs/cloudflare-api.md §3).
  const body = parseBody(updateBodySchema, ctx.body);
  checkTimes(ctx.state, body);
  const policies = resolvePolicies(ctx.state, body.policies);
  checkCanGrant(ctx.caller, ctx.state, policies);
  t.name = body.name;
  t.policies = policies;
  t.notBefore = body.not_before === undefined ? undefined : Date.parse(body.not_before);
  t.expiresOn = body.expires_on === undefined ? undefined : Date.parse(body.expires_on);
  t.condition = body.condition;
  t.disabled = body.status === "disabled";
  t.modifiedOn = ctx.state.now();
  return { result: apiTokenObject(ctx.state, t) };
};

export const remove: Handler = (ctx) => {
  requireTokenPermission(ctx, "write");
  const gone = ctx.state.tokens.get(ctx.params.id ?? "");
  // Assumption (conformance: delete-gone-token; switch assumptions.deleteGoneToken): a token that was
  // deleted before answers its second DELETE like an unknown id, 404/7003, by default; "403/9109"
  // models the other plausible answer (docs/cloudflare-api.md §8.12). Neither is documented.
  if (gone?.deletedAt !== undefined && gone.scope === ctx.scope) {
    if (ctx.state.options.assumptions.deleteGoneToken === "403/9109") throw errors.unauthorized();
    throw noSuchToken();
  }
  const t = findToken(ctx);
  t.deletedAt = ctx.state.now();
  return { result: { id: t.id } };
};

export const roll: Handler = (ctx) => {
  requireTokenPermission(ctx, "write");
  const t = findToken(ctx);
  ctx.state.tokenIdByValue.delete(t.value);
  t.value = tokenValue(t.scope);
  t.secret = s3SecretOf(t.value);
  t.modifiedOn = ctx.state.now();
  ctx.state.tokenIdByValue.set(t.value, t.id);
  return { result: t.value };
};

export const verify: Handler = (ctx) => {
  // [3P] /user/tokens/verify answers 1000 "Invalid API Token" for account-owned tokens
  // (docs/cloudflare-api.md §6, pitfall 4). Assumption (conformance: verify-cross-owner): the account
  // verify answers the same for user tokens.
  if (ctx.caller.scope !== ctx.scope) throw errors.invalidToken();
  const view = tokenView(ctx.state, ctx.caller);
  const result: Record<string, unknown> = { id: view.id, status: view.status };
  if (view.not_before) result.not_before = view.not_before;
  if (view.expires_on) result.expires_on = view.expires_on;
  return {
    result,
    messages: [{ code: 10000, message: "This API Token is valid and active", type: null }],
  };
};

// Permission-group lookups need no special permission (brief; the 2024 schema lists
// com.cloudflare.api.token.read for the user endpoint, which every minter holds anyway).
export const permissionGroups: Handler = (ctx) => {
  const name = ctx.query.get("name");
  const scope = ctx.query.get("scope");
  const groups = ctx.state.groups
    .filter((g) => name === null || g.name === name)
    .filter((g) => scope === null || g.scopes.includes(scope))
    // [SDK] `is_selectable` is on both owners' answer types.
    // Assumption (conformance: permission-group-is-selectable): both lists carry it, true for every
    // group modelled here.
    .map((g) => ({ id: g.id, name: g.name, scopes: g.scopes, category: g.category, is_selectable: true }));
  return { result: groups };
};

/** Input shape for seeding: the same validation as the API, minus the creator check. */
export function seedBody(name: string, policies: PolicyInput[], expiresOn?: string): TokenBody {
  return { name, policies, ...(expiresOn ? { expires_on: expiresOn } : {}) };
}

/**
 * Tokens shaped as OAuth-provisioned or newer tokens may be ([SDK]: every field optional, resources
 * flat or nested, fields this project does not model; account lists may hold OAuth-provisioned
 * tokens; docs/cloudflare-api.md §8.6). Each carries at least one thing a strict parser of the
 * project's token schema rejects. Assumption (conformance: token-list-odd-items): every list item
 * still has an `id` and a `name`.
 */
const ODD_SHAPES: ((id: string, name: string, state: State, now: string) => Record<string, unknown>)[] = [
  // OAuth-provisioned: provisioner fields, no issued_on or status, null dates, a resource nested three
  // levels deep.
  (id, name, state, now) => ({
    id,
    name,
    modified_on: now,
    last_used_on: now,
    provisioner_type: "oauth",
    provisioner_id: hexId(),
    not_before: null,
    expires_on: null,
    policies: [
      {
        id: hexId(),
        effect: "allow",
        permission_groups: [{ id: hexId(), name: "Zone Read", meta: { key: "oauth", value: "zone:read" } }],
        resources: {
          [`com.cloudflare.api.account.${state.accountId}`]: {
            "com.cloudflare.api.account.zone.*": { "com.cloudflare.api.account.zone.settings.*": "*" },
          },
        },
      },
    ],
  }),
  // Newer fields, and `policies: null`.
  (id, name, _state, now) => ({
    id,
    name,
    status: "active",
    issued_on: now,
    modified_on: now,
    last_used_on: null,
    creator_email_at_creation: "someone@example.com",
    expires_on: null,
    policies: null,
  }),
  // Sparse: no status or dates, a permission group named but without an id, a condition.
  (id, name, state) => ({
    id,
    name,
    policies: [
      {
        effect: "allow",
        permission_groups: [{ name: "Account Settings Read" }],
        resources: { [`com.cloudflare.api.account.${state.accountId}`]: "*" },
      },
    ],
    condition: { request_ip: { in: ["192.0.2.0/24"], not_in: [] } },
  }),
];

export function seedOddTokens(state: State, count: number): TokenRecord[] {
  if (!Number.isInteger(count) || count < 1)
    throw new Error("seedOddTokens: count must be a positive integer");
  const made: TokenRecord[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % ODD_SHAPES.length;
    const name = `odd token ${["oauth", "newer", "sparse"][kind]} ${state.nextSeq()}`;
    const t = createToken(state, { scope: "account", body: seedBody(name, []), seeded: true });
    const shape = ODD_SHAPES[kind]?.(t.id, name, state, isoSeconds(state.now())) ?? {};
    t.shape = shape;
    made.push(t);
  }
  return made;
}
