/**
 * The Worker's configuration, from its vars and its one secret, validated once per isolate. A missing or
 * bad value is a 500 `server_misconfigured` that names the var and the fix, never a crash, and never
 * quotes the secret.
 */
import { hidingUserInfo, httpUrl, isCleartextRemote, isHex32, isUnusableToken } from "../../src/checks.js";
import { DEFAULT_API_URL, TOKEN_SCOPES, type TokenScope } from "../../src/terms.js";
import { HttpError } from "./errors.js";
import type { Logger } from "./log.js";
import { namesOnlyRules, type Policy, parsePolicy } from "./policy.js";

export const GITHUB_ISSUER = "https://token.actions.githubusercontent.com";

/**
 * How many expired children one scheduled sweep deletes at most. Every deletion, list page and retry is
 * a subrequest, and an invocation may make 50 on Workers Free and 1000 or more on Workers Paid
 * (https://developers.cloudflare.com/workers/platform/limits/#subrequests); 200 stays well inside the
 * paid limit with room for the list (10 pages for 500 tokens) and retries. The rest waits an hour.
 */
const DEFAULT_SWEEP_LIMIT = 200;
const MAX_SWEEP_LIMIT = 1000;

/** The bindings the Worker reads (wrangler.toml `[vars]` and `wrangler secret put CLOUDFLARE_API_TOKEN`). */
export interface Env {
  ACCOUNT_ID?: string;
  AUDIENCE?: string;
  ISSUER?: string;
  JWKS_URL?: string;
  /** JSON text, or an object when wrangler.toml writes it as a table. */
  POLICY?: unknown;
  API_URL?: string;
  S3_ENDPOINT?: string;
  TOKEN_SCOPE?: string;
  /** A number in wrangler.toml, or its text. */
  SWEEP_LIMIT?: string | number;
  CLOUDFLARE_API_TOKEN?: string;
}

export interface Settings {
  accountId: string;
  audience: string;
  issuer: string;
  jwksUrl: string;
  policy: Policy;
  apiUrl: string;
  s3Endpoint: string | undefined;
  tokenScope: TokenScope;
  sweepLimit: number;
  apiToken: string;
}

const text = (value: unknown): string => (typeof value === "string" ? value.trim() : "");

function urlSetting(name: string, value: string, problems: string[]): string {
  const url = httpUrl(value);
  if (url === undefined) {
    problems.push(
      `${name} is "${hidingUserInfo(value)}", which is not an http(s) URL without user name, password, query or fragment.`,
    );
    return value;
  }
  // The account token (API_URL) and verified identities (ISSUER, JWKS_URL) must not cross a network in clear.
  if (isCleartextRemote(url)) {
    problems.push(
      `${name} is "${value}": use https:// (plain http only for localhost, 127.0.0.0/8 and [::1]).`,
    );
  }
  return url;
}

function load(env: Env): Settings {
  const problems: string[] = [];
  const accountId = text(env.ACCOUNT_ID);
  if (!isHex32(accountId)) {
    problems.push(
      accountId === ""
        ? "ACCOUNT_ID is not set: set it to the Cloudflare account id (32 lowercase hex characters) in wrangler.toml."
        : `ACCOUNT_ID is "${accountId}", which is not 32 lowercase hex characters.`,
    );
  }
  const audience = text(env.AUDIENCE);
  if (audience === "") {
    problems.push(
      "AUDIENCE is not set: set it to the audience the workflows request their OIDC token for (the action's default is the vending URL's origin).",
    );
  }
  const issuer = urlSetting("ISSUER", text(env.ISSUER) || GITHUB_ISSUER, problems);
  const jwksUrl = urlSetting("JWKS_URL", text(env.JWKS_URL) || `${issuer}/.well-known/jwks`, problems);
  const apiUrl = urlSetting("API_URL", text(env.API_URL) || DEFAULT_API_URL, problems);
  const s3 = text(env.S3_ENDPOINT);
  const s3Endpoint = s3 === "" ? undefined : urlSetting("S3_ENDPOINT", s3, problems);
  const scope = text(env.TOKEN_SCOPE) || "account";
  if (!(TOKEN_SCOPES as readonly string[]).includes(scope)) {
    problems.push(`TOKEN_SCOPE is "${scope}": use account or user.`);
  }
  const limitText = typeof env.SWEEP_LIMIT === "number" ? String(env.SWEEP_LIMIT) : text(env.SWEEP_LIMIT);
  const sweepLimit = limitText === "" ? DEFAULT_SWEEP_LIMIT : Number(limitText);
  if (!Number.isInteger(sweepLimit) || sweepLimit < 1 || sweepLimit > MAX_SWEEP_LIMIT) {
    problems.push(
      `SWEEP_LIMIT is "${limitText}": set it to a whole number from 1 to ${MAX_SWEEP_LIMIT} (default ${DEFAULT_SWEEP_LIMIT}; about 30 on Workers Free, whose invocations may make 50 subrequests).`,
    );
  }
  const apiToken = text(env.CLOUDFLARE_API_TOKEN);
  if (apiToken === "" || isUnusableToken(apiToken)) {
    problems.push(
      apiToken === ""
        ? "The secret CLOUDFLARE_API_TOKEN is not set: run `wrangler secret put CLOUDFLARE_API_TOKEN` with a token that may create API tokens (Account API Tokens Write) and holds the R2 permissions it hands out."
        : "The secret CLOUDFLARE_API_TOKEN contains whitespace, so it cannot be a Cloudflare API token: store the token alone.",
    );
  }
  let policy: Policy | undefined;
  if (env.POLICY === undefined || (typeof env.POLICY === "string" && env.POLICY.trim() === "")) {
    problems.push("POLICY is not set: without a policy no repository may mint. See worker/README.md.");
  } else {
    const parsed = parsePolicy(env.POLICY);
    if ("problem" in parsed) problems.push(parsed.problem);
    else policy = parsed.policy;
  }
  if (problems.length > 0 || policy === undefined) {
    throw new HttpError(
      500,
      "server_misconfigured",
      `The vending Worker is misconfigured: ${problems.join(" ")}`,
    );
  }
  return {
    accountId,
    audience,
    issuer,
    jwksUrl,
    policy,
    apiUrl,
    s3Endpoint,
    tokenScope: scope as TokenScope,
    sweepLimit,
    apiToken,
  };
}

// Workers hand the same env object to every request of an isolate: parse it once.
const cache = new WeakMap<object, Settings | HttpError>();

/** The settings of this isolate; the first read also warns, once, about every rule that pins names only. */
export function settingsFrom(env: Env, log?: Logger): Settings {
  let entry = cache.get(env);
  if (entry === undefined) {
    try {
      entry = load(env);
      for (const warning of namesOnlyRules(entry.policy)) {
        log?.warn("policy.names_only", { rule: warning.rule, message: warning.message });
      }
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      entry = error;
    }
    cache.set(env, entry);
  }
  if (entry instanceof HttpError) throw entry;
  return entry;
}
