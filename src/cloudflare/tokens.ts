import * as z from "zod/mini";
import type { TokenScope } from "../terms.js";
import { type CloudflareClient, CloudflareError } from "./client.js";

/** Where a scope's tokens live: account-owned under the account, user-owned under /user. */
export function tokensPath(scope: TokenScope, accountId: string): string {
  return scope === "account" ? `/accounts/${accountId}/tokens` : "/user/tokens";
}

function tokenPath(target: TokenTarget, tokenId: string): string {
  return `${tokensPath(target.scope, target.accountId)}/${encodeURIComponent(tokenId)}`;
}

/** Cloudflare ids are 32 hex characters today; only non-emptiness is relied on. */
const nonEmptyId = z.string().check(z.minLength(1));

export const policySchema = z.looseObject({
  id: z.optional(z.string()),
  effect: z.enum(["allow", "deny"]),
  permission_groups: z.array(z.looseObject({ id: z.string() })),
  resources: z.record(z.string(), z.union([z.string(), z.record(z.string(), z.string())])),
});
export type Policy = z.infer<typeof policySchema>;

const tokenSchema = z.looseObject({
  id: nonEmptyId,
  name: z.string(),
  status: z.optional(z.string()),
  issued_on: z.optional(z.string()),
  modified_on: z.optional(z.string()),
  not_before: z.nullish(z.string()),
  expires_on: z.nullish(z.string()),
  policies: z._default(z.array(policySchema), []),
  condition: z.optional(z.unknown()),
});
export type Token = z.infer<typeof tokenSchema>;

/** Only the create (and roll) answer carries the secret `value`. */
const createdTokenSchema = z.extend(tokenSchema, { value: z.string().check(z.minLength(1)) });
export type CreatedToken = z.infer<typeof createdTokenSchema>;

/**
 * A token as a list shows it. An account holds up to 500 tokens, some provisioned by OAuth or with
 * fields this project does not model: only what clean-up needs is required, and an item that does
 * not parse is skipped (and counted), never fatal to the page.
 */
const listedTokenSchema = z.looseObject({
  id: nonEmptyId,
  name: z.string(),
  status: z.catch(z.optional(z.string()), undefined),
  issued_on: z.catch(z.optional(z.string()), undefined),
  expires_on: z.catch(z.nullish(z.string()), undefined),
});
export type ListedToken = z.infer<typeof listedTokenSchema>;

const verifySchema = z.looseObject({
  id: nonEmptyId,
  status: z.optional(z.string()),
  expires_on: z.nullish(z.string()),
});
const deletedSchema = z.nullable(z.looseObject({ id: z.string() }));
const permissionGroupSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  scopes: z._default(z.array(z.string()), []),
});
const listInfoSchema = z.looseObject({
  page: z.number(),
  per_page: z.number(),
  total_count: z.optional(z.number()),
  count: z.optional(z.number()),
});

export interface NewToken {
  name: string;
  policies: Omit<Policy, "id">[];
  expires_on?: string;
}

export interface TokenTarget {
  scope: TokenScope;
  accountId: string;
  token: string;
}

export function createToken(
  client: CloudflareClient,
  target: TokenTarget,
  body: NewToken,
  onAmbiguousFailure?: (error: CloudflareError) => Promise<void>,
): Promise<CreatedToken> {
  return client.request({
    method: "POST",
    path: tokensPath(target.scope, target.accountId),
    token: target.token,
    body,
    result: createdTokenSchema,
    ...(onAmbiguousFailure ? { onAmbiguousFailure } : {}),
  });
}

async function deleteToken(client: CloudflareClient, target: TokenTarget, tokenId: string): Promise<void> {
  await client.request({
    method: "DELETE",
    path: tokenPath(target, tokenId),
    token: target.token,
    result: deletedSchema,
  });
}

/**
 * Answers to a DELETE that may only mean the token is gone: Cloudflare documents none, and its
 * policy errors are 403/9109, so these are checked with a GET of the token before being reported.
 */
function maybeGone(error: CloudflareError): boolean {
  return (error.status === 403 && error.hasCode(9109)) || error.status === 400;
}

/**
 * Deletes a token (a child this tool minted). 404 means it is already gone; so does a refused
 * DELETE of a token whose GET then answers 404.
 */
export async function revokeToken(
  client: CloudflareClient,
  target: TokenTarget,
  tokenId: string,
): Promise<"deleted" | "already-gone"> {
  try {
    await deleteToken(client, target, tokenId);
    return "deleted";
  } catch (error) {
    if (!(error instanceof CloudflareError)) throw error;
    if (error.status === 404) return "already-gone";
    if (!maybeGone(error)) throw error;
    try {
      await getToken(client, target, tokenId);
    } catch (lookup) {
      if (lookup instanceof CloudflareError && lookup.status === 404) return "already-gone";
    }
    throw error;
  }
}

export function getToken(client: CloudflareClient, target: TokenTarget, tokenId: string): Promise<Token> {
  return client.request({
    method: "GET",
    path: tokenPath(target, tokenId),
    token: target.token,
    result: tokenSchema,
  });
}

export function verifyToken(
  client: CloudflareClient,
  target: TokenTarget,
): Promise<z.infer<typeof verifySchema>> {
  return client.request({
    method: "GET",
    path: `${tokensPath(target.scope, target.accountId)}/verify`,
    token: target.token,
    result: verifySchema,
  });
}

export function findPermissionGroups(
  client: CloudflareClient,
  target: TokenTarget,
  filter: { name: string; scope: string },
): Promise<z.infer<typeof permissionGroupSchema>[]> {
  return client.request({
    method: "GET",
    path: `${tokensPath(target.scope, target.accountId)}/permission_groups`,
    token: target.token,
    query: filter,
    result: z.array(permissionGroupSchema),
  });
}

/**
 * Every token of the scope, paging until Cloudflare's total is reached (50 per page, the maximum).
 * Items of a shape this project does not understand are skipped; `onSkipped` hears how many.
 */
export async function listTokens(
  client: CloudflareClient,
  target: TokenTarget,
  onSkipped?: (count: number) => void,
): Promise<ListedToken[]> {
  const tokens: ListedToken[] = [];
  let seen = 0;
  let skipped = 0;
  for (let page = 1; ; page++) {
    const { result, resultInfo } = await client.requestPage({
      method: "GET",
      path: tokensPath(target.scope, target.accountId),
      token: target.token,
      query: { page, per_page: 50, include_expired: true },
      result: z.array(z.unknown()),
    });
    seen += result.length;
    for (const item of result) {
      const parsed = listedTokenSchema.safeParse(item);
      if (parsed.success) tokens.push(parsed.data);
      else skipped++;
    }
    const info = listInfoSchema.safeParse(resultInfo);
    const total = info.success ? info.data.total_count : undefined;
    if (result.length === 0 || (total !== undefined ? seen >= total : result.length < 50)) {
      if (skipped > 0) onSkipped?.(skipped);
      return tokens;
    }
  }
}

export interface TokenUpdate extends NewToken {
  not_before?: string;
  condition?: unknown;
  status?: "active" | "disabled";
}

/** PUT replaces the whole token: send its full definition, not a patch. */
export function updateToken(
  client: CloudflareClient,
  target: TokenTarget,
  tokenId: string,
  body: TokenUpdate,
): Promise<Token> {
  return client.request({
    method: "PUT",
    path: tokenPath(target, tokenId),
    token: target.token,
    body,
    result: tokenSchema,
  });
}
