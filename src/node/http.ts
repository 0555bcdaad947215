import { setTimeout as delay } from "node:timers/promises";
import type { HttpDeps } from "../cloudflare/client.js";
import { ActionError } from "../errors.js";

type Env = Record<string, string | undefined>;

const PROXY_VARIABLES = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"];

function usesProxy(env: Env): boolean {
  return PROXY_VARIABLES.some((name) => (env[name] ?? "").trim() !== "");
}

/**
 * Runs `make` with one process warning silenced: undici 6 calls EnvHttpProxyAgent experimental
 * (it is stable in undici 7, which @actions/http-client does not use yet), and that notice would
 * otherwise land in every proxied job's log as an error-looking line.
 */
function quietly<T>(code: string, make: () => T): T {
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const options = rest[0] as { code?: string } | undefined;
    if (options?.code === code) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return make();
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** The proxy agent, or an error that names the variables (never their values: a proxy URL may hold a password). */
function proxyAgent<T>(env: Env, make: () => T): T {
  try {
    return quietly("UNDICI-EHPA", make);
  } catch (error) {
    const set = PROXY_VARIABLES.filter((name) => (env[name] ?? "").trim() !== "").join(", ");
    throw new ActionError(
      "input",
      `The proxy setting in ${set} is not a proxy URL (${error instanceof Error ? error.message : String(error)}).`,
      "Set it to a URL such as http://proxy.example.com:3128, or unset it.",
    );
  }
}

export interface HttpStackOptions {
  /**
   * Send every request with undici's fetch, not only proxied ones. Right where undici is loaded at
   * start-up anyway (the action's entries, through @actions/core → @actions/http-client): Node's
   * global fetch would load Node's own copy of undici on first use, ~12 ms before the first request.
   */
  undiciFetch?: boolean;
}

/**
 * Fetch, clock and timers. A proxy is honoured through undici's EnvHttpProxyAgent
 * (HTTPS_PROXY / HTTP_PROXY / NO_PROXY). Without a proxy, and unless told to use undici's fetch,
 * requests go through Node's fetch and undici is not loaded, so the CLI does not pay for it.
 */
export async function nodeHttpDeps(env: Env, options: HttpStackOptions = {}): Promise<HttpDeps> {
  let fetcher: HttpDeps["fetch"] = (input, init) => fetch(input, init);
  if (usesProxy(env) || options.undiciFetch) {
    const { EnvHttpProxyAgent, fetch: undiciFetch } = await import("undici");
    const dispatcher = usesProxy(env) ? proxyAgent(env, () => new EnvHttpProxyAgent()) : undefined;
    fetcher = (input, init) =>
      undiciFetch(input, {
        ...(init as Parameters<typeof undiciFetch>[1]),
        ...(dispatcher ? { dispatcher } : {}),
      }) as unknown as Promise<Response>;
  }
  return {
    fetch: fetcher,
    now: () => Date.now(),
    sleep: (ms) => delay(ms),
    random: () => Math.random(),
  };
}
