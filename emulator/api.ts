// The Cloudflare v4 API front door: routing, auth, faults, latency, rate limit, call recording.
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { Handler, HandlerResult } from "./context.js";
import { ApiError, errors, failureBody, type Product, successBody } from "./envelope.js";
import type { FaultBook, RateLimiter } from "./faults.js";
import * as r2 from "./r2-api.js";
import { parseQuery } from "./sigv4.js";
import type { State, TokenRecord } from "./state.js";
import * as tokens from "./tokens.js";
import type { CallRecord, FaultKind, RouteName, TokenScope } from "./types.js";

export const API_PREFIX = "/client/v4";

interface RouteDef {
  name: RouteName;
  method: string;
  pattern: RegExp;
  scope: TokenScope;
  product: Product;
  handler: Handler;
}

const ACCOUNT = "/accounts/(?<account>[^/]+)";
const TOKEN_ID = "(?<id>[^/]+)";

function tokenRoutes(scope: TokenScope, base: string): RouteDef[] {
  const r = (name: RouteName, method: string, suffix: string, handler: Handler): RouteDef => ({
    name,
    method,
    pattern: new RegExp(`^${base}/tokens${suffix}$`),
    scope,
    product: "iam",
    handler,
  });
  // Literal segments (verify, permission_groups) come before the {token_id} patterns.
  return [
    r("tokens.verify", "GET", "/verify", tokens.verify),
    r("permission_groups.list", "GET", "/permission_groups", tokens.permissionGroups),
    r("tokens.create", "POST", "", tokens.create),
    r("tokens.list", "GET", "", tokens.list),
    r("tokens.roll", "PUT", `/${TOKEN_ID}/value`, tokens.roll),
    r("tokens.get", "GET", `/${TOKEN_ID}`, tokens.get),
    r("tokens.update", "PUT", `/${TOKEN_ID}`, tokens.update),
    r("tokens.delete", "DELETE", `/${TOKEN_ID}`, tokens.remove),
  ];
}

function r2Route(name: RouteName, method: string, suffix: string, handler: Handler): RouteDef {
  return {
    name,
    method,
    pattern: new RegExp(`^${ACCOUNT}/r2${suffix}$`),
    scope: "account",
    product: "r2",
    handler,
  };
}

export const ROUTES: readonly RouteDef[] = [
  ...tokenRoutes("account", ACCOUNT),
  ...tokenRoutes("user", "/user"),
  r2Route("r2.temp_credentials", "POST", "/temp-access-credentials", r2.tempCredentials),
  r2Route("r2.buckets.list", "GET", "/buckets", r2.listBuckets),
  r2Route("r2.buckets.create", "POST", "/buckets", r2.createBucket),
  r2Route("r2.buckets.get", "GET", "/buckets/(?<bucket>[^/]+)", r2.getBucket),
  r2Route("r2.buckets.delete", "DELETE", "/buckets/(?<bucket>[^/]+)", r2.deleteBucket),
  r2Route("r2.buckets.cors.get", "GET", "/buckets/(?<bucket>[^/]+)/cors", r2.getCors),
  r2Route("r2.buckets.cors.put", "PUT", "/buckets/(?<bucket>[^/]+)/cors", r2.putCors),
  r2Route("r2.buckets.cors.delete", "DELETE", "/buckets/(?<bucket>[^/]+)/cors", r2.deleteCors),
];

type Match =
  | { kind: "route"; route: RouteDef; params: Record<string, string> }
  | { kind: "no-route" }
  | { kind: "wrong-method" };

function matchRoute(method: string, path: string): Match {
  let pathKnown = false;
  for (const route of ROUTES) {
    const m = route.pattern.exec(path);
    if (!m) continue;
    pathKnown = true;
    if (route.method !== method) continue;
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.groups ?? {})) params[k] = decodeURIComponent(v);
    return { kind: "route", route, params };
  }
  return pathKnown ? { kind: "wrong-method" } : { kind: "no-route" };
}

interface ApiDeps {
  state: State;
  faults: FaultBook;
  rateLimiter: RateLimiter;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const BEARER = /^Bearer ([A-Za-z0-9_\-.~+/=]+)$/;

function authenticate(state: State, header: string | undefined): TokenRecord {
  if (header === undefined || header.trim() === "") throw errors.missingAuth();
  const m = BEARER.exec(header.trim());
  if (!m?.[1]) throw errors.malformedAuth();
  const token = state.tokenByValue(m[1]);
  if (!state.usableForApi(token)) throw errors.invalidToken();
  return token;
}

/** Account routes for another account. */
function checkAccount(state: State, account: string | undefined): void {
  if (account === undefined || account === state.accountId) return;
  // Assumption (conformance: foreign-account): a malformed account id cannot be routed (404/7003, as
  // Cloudflare does for bad object identifiers); a well-formed id of an account the token cannot see
  // is 403/9109.
  if (!/^[0-9a-f]{32}$/.test(account)) {
    throw errors.noRoute();
  }
  throw errors.unauthorized();
}

/** Cloudflare stamps every answer with a ray id (16 hex and the colo); errors must quote it. */
function cfRay(): string {
  return `${randomBytes(8).toString("hex")}-EMU`;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=UTF-8",
    "content-length": Buffer.byteLength(text),
    "cf-ray": cfRay(),
    ...headers,
  });
  res.end(text);
}

function faultErrors(kind: Extract<FaultKind, { type: "status" }>): { code: number; message: string }[] {
  if (kind.errors) return kind.errors;
  if (kind.status === 429)
    return [{ code: 971, message: "Please wait and consider throttling your request speed" }];
  return [{ code: 10001, message: `Injected fault: HTTP ${kind.status}` }];
}

/**
 * The query string, each value percent-decoded. [SDK] encodes a space as `%20` and says filter
 * values "must be URL-encoded"; whether Cloudflare also reads `+` as a space is unknown
 * (docs/cloudflare-api.md §8.4).
 * Assumption (conformance: query-plus; switch assumptions.queryPlus): a `+` is kept literally, so
 * `name=Workers+R2+Storage+Write` names no group.
 */
function queryParams(search: string, plus: "literal" | "space"): URLSearchParams {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(parseQuery(search, plus))) {
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, v);
  }
  return params;
}

export async function handleApi(deps: ApiDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { state } = deps;
  const method = req.method ?? "GET";
  const url = new URL(req.url ?? "/", "http://emulator.invalid");
  const rawBody = await readBody(req);
  const recordPath = url.pathname.startsWith(API_PREFIX)
    ? url.pathname.slice(API_PREFIX.length) + url.search
    : url.pathname + url.search;
  const path = url.pathname.startsWith(API_PREFIX) ? url.pathname.slice(API_PREFIX.length) : undefined;
  const match =
    path === undefined ? ({ kind: "no-route" } as const) : matchRoute(method, path.replace(/\/$/, ""));
  const route = match.kind === "route" ? match.route : undefined;
  const call: CallRecord = {
    method,
    path: recordPath,
    route: route?.name ?? "unknown",
    status: 0,
    at: state.now(),
  };
  state.calls.push(call);

  let body: unknown;
  let bodyError: ApiError | undefined;
  if (rawBody.length > 0) {
    try {
      body = JSON.parse(rawBody.toString("utf8"));
      call.body = body;
    } catch {
      bodyError = errors.malformedJson();
    }
  }

  const fault = deps.faults.next(call.route, route?.scope);
  const latency = state.options.latencyMs + (fault?.type === "latency" ? fault.ms : 0);
  if (latency > 0) await sleep(latency);

  if (fault?.type === "drop-before") {
    res.socket?.destroy();
    return;
  }
  if (fault?.type === "status") {
    call.status = fault.status;
    send(
      res,
      fault.status,
      failureBody(faultErrors(fault)),
      fault.retryAfter ? { "retry-after": fault.retryAfter } : {},
    );
    return;
  }
  if (fault?.type === "success-false") {
    call.status = 200;
    send(res, 200, failureBody([{ code: 10001, message: "Injected fault: success false" }]));
    return;
  }

  // The real answer, success or failure, before any post-processing fault is applied.
  let answer: { status: number; body: unknown; headers?: Record<string, string> };
  try {
    if (match.kind === "no-route") throw errors.noRoute();
    if (match.kind === "wrong-method") throw errors.methodNotAllowed();
    const caller = authenticate(state, req.headers.authorization);
    call.tokenId = caller.id;
    const retryAfter = deps.rateLimiter.check(caller.id, state.options.rateLimit, state.now());
    if (retryAfter !== undefined) throw errors.rateLimited(retryAfter);
    if (bodyError) throw bodyError;
    checkAccount(state, match.params.account);
    const result: HandlerResult = match.route.handler({
      state,
      params: match.params,
      query: queryParams(url.search, state.options.assumptions.queryPlus),
      headers: req.headers,
      caller,
      body,
      scope: match.route.scope,
    });
    const messages = result.messages ?? [];
    answer = {
      status: result.status ?? 200,
      body: successBody(result.result, {
        // R2 endpoints use plain-string messages, IAM ones objects (docs/cloudflare-api.md §1).
        messages: route?.product === "r2" ? messages.map(String) : messages,
        ...(result.result_info !== undefined ? { result_info: result.result_info } : {}),
      }),
    };
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    answer = { status: e.status, body: failureBody(e.errors), headers: e.headers };
  }

  if (fault?.type === "drop-after") {
    // Whatever happened stays done; the client never learns it (the ambiguous create).
    res.socket?.destroy();
    return;
  }
  if (fault?.type === "malformed") {
    call.status = 200;
    res.writeHead(200, { "content-type": "application/json", "cf-ray": cfRay() });
    res.end("<html><body>502 Bad Gateway (injected malformed body)</body></html>");
    return;
  }
  if (fault?.type === "result-after" && answer.status < 300) {
    call.status = 200;
    const own = (answer.body as { result?: unknown }).result;
    send(res, 200, successBody(typeof fault.result === "function" ? fault.result(own) : fault.result, {}));
    return;
  }
  call.status = answer.status;
  send(res, answer.status, answer.body, answer.headers);
}
