// What a Cloudflare API route handler receives and returns.
import type { IncomingHttpHeaders } from "node:http";
import type { State, TokenRecord } from "./state.js";
import type { TokenScope } from "./types.js";

export interface RequestContext {
  state: State;
  /** Path parameters: `account`, `id`, `bucket`. */
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The authenticated calling token. */
  caller: TokenRecord;
  /** Parsed JSON body (undefined when the request had none). */
  body: unknown;
  /** Owner scope of the route: /accounts/{a}/… routes are "account", /user/… routes "user". */
  scope: TokenScope;
}

export interface HandlerResult {
  status?: number;
  result: unknown;
  result_info?: unknown;
  messages?: unknown[];
}

export type Handler = (ctx: RequestContext) => HandlerResult;
