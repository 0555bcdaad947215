// The command line of `npm run conformance` (docs/cloudflare-api.md §9), parsed into run options or a
// usage error (exit 2).
import { parseArgs } from "node:util";
import { mergeOptions, parseAssumptionSetting } from "../../emulator/assumptions.js";
import type { EmulatorOptions } from "../../emulator/types.js";
import { CHECK_IDS } from "./registry.js";
import type { Jurisdiction, Target } from "./resources.js";

export const USAGE = `Usage:
  npm run conformance [-- --only ID]… [--assume NAME=VALUE]…
      every check against a fresh local emulator (--assume sets one of its assumptions the other way)
  npm run conformance -- --live [--api-url URL] [--s3-endpoint [JURISDICTION=]URL]… [--only ID]… [--ready-timeout S]
      the same checks against a real account: CLOUDFLARE_API_TOKEN (Account API Tokens Write and
      Workers R2 Storage Write on the account) and CLOUDFLARE_ACCOUNT_ID must be set
  npm run conformance -- --list      the check ids and what each assumes

Exit: 0 nothing refuted; 1 something refuted, a check could not run, or a resource was left behind;
2 usage; 130/143 interrupted (after the clean-up).`;

export type Cli =
  | { kind: "help" }
  | { kind: "list" }
  | { kind: "error"; message: string }
  | {
      kind: "run";
      target?: Target;
      emulatorOptions: EmulatorOptions;
      only: string[];
      readyTimeoutMs?: number;
    };

const JURISDICTIONS: readonly Jurisdiction[] = ["default", "eu", "us", "fedramp"];
export const DEFAULT_API_URL = "https://api.cloudflare.com/client/v4";

/** `https://<account>.r2.cloudflarestorage.com`, with `.<jurisdiction>` outside default (docs/cloudflare-api.md §5). */
export function defaultS3Endpoint(accountId: string, jurisdiction: Jurisdiction): string {
  return `https://${accountId}${jurisdiction === "default" ? "" : `.${jurisdiction}`}.r2.cloudflarestorage.com`;
}

function httpUrl(flag: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${flag} ${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new Error(`${flag} must be an http(s) URL`);
  return raw.replace(/\/+$/, "");
}

export function parseCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Cli {
  let values: ReturnType<typeof parse>["values"];
  function parse() {
    return parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        live: { type: "boolean", default: false },
        "api-url": { type: "string" },
        "s3-endpoint": { type: "string", multiple: true },
        only: { type: "string", multiple: true },
        assume: { type: "string", multiple: true },
        "ready-timeout": { type: "string" },
        list: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  }
  try {
    values = parse().values;
  } catch (error) {
    return { kind: "error", message: error instanceof Error ? error.message : String(error) };
  }
  if (values.help) return { kind: "help" };
  if (values.list) return { kind: "list" };
  try {
    const only = values.only ?? [];
    for (const id of only) {
      if (!CHECK_IDS.includes(id))
        throw new Error(`--only ${JSON.stringify(id)}: no such check (--list shows them)`);
    }
    let readyTimeoutMs: number | undefined;
    if (values["ready-timeout"] !== undefined) {
      const s = Number(values["ready-timeout"]);
      if (!Number.isFinite(s) || s <= 0)
        throw new Error("--ready-timeout must be a number of seconds above 0");
      readyTimeoutMs = s * 1000;
    }
    if (!values.live) {
      for (const flag of ["api-url", "s3-endpoint"] as const) {
        if (values[flag] !== undefined) throw new Error(`--${flag} applies only with --live`);
      }
      const emulatorOptions = (values.assume ?? []).map(parseAssumptionSetting).reduce(mergeOptions, {});
      return { kind: "run", emulatorOptions, only, ...(readyTimeoutMs ? { readyTimeoutMs } : {}) };
    }
    if (values.assume !== undefined)
      throw new Error("--assume sets the local emulator's assumptions; it makes no sense with --live");
    const token = env.CLOUDFLARE_API_TOKEN?.trim();
    const accountId = env.CLOUDFLARE_ACCOUNT_ID?.trim();
    const missing = [!token && "CLOUDFLARE_API_TOKEN", !accountId && "CLOUDFLARE_ACCOUNT_ID"].filter(Boolean);
    if (!token || !accountId) {
      throw new Error(
        `--live needs ${missing.join(" and ")} in the environment: an account API token with Account API Tokens Write and Workers R2 Storage Write on the account, and the account's id`,
      );
    }
    if (!/^[0-9a-f]{32}$/.test(accountId))
      throw new Error("CLOUDFLARE_ACCOUNT_ID must be 32 lowercase hex characters");
    const apiUrl = httpUrl("--api-url", values["api-url"] ?? DEFAULT_API_URL);
    const s3Endpoints: Partial<Record<Jurisdiction, string>> = {};
    const given = values["s3-endpoint"] ?? [];
    for (const raw of given) {
      const m = /^(default|eu|us|fedramp)=(.*)$/.exec(raw);
      const jurisdiction = (m?.[1] ?? "default") as Jurisdiction;
      s3Endpoints[jurisdiction] = httpUrl("--s3-endpoint", m ? (m[2] ?? "") : raw);
    }
    if (given.length === 0) {
      for (const j of JURISDICTIONS) s3Endpoints[j] = defaultS3Endpoint(accountId, j);
    }
    return {
      kind: "run",
      target: { apiUrl, accountId, token, s3Endpoints },
      emulatorOptions: {},
      only,
      ...(readyTimeoutMs ? { readyTimeoutMs } : {}),
    };
  } catch (error) {
    return { kind: "error", message: error instanceof Error ? error.message : String(error) };
  }
}
