/**
 * Runs the vending Worker (worker/) in Miniflare, i.e. in workerd, the Workers runtime, pointed at the
 * project's emulator (API and S3 endpoint) and at a local OIDC issuer. The bundle is built once per test
 * process with worker/build.ts, in memory.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { Log, LogLevel, Miniflare } from "miniflare";
import { afterAll, beforeAll } from "vitest";
import { buildWorker, type WorkerBundle } from "../../worker/build.js";
import type { Env } from "../../worker/src/settings.js";
import type { Emulator } from "./emulator.js";
import { type OidcIssuer, startOidcIssuer, TEST_AUDIENCE } from "./oidc-issuer.js";
import type { EmulatorFixture } from "./use-emulator.js";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The compatibility date of worker/wrangler.toml, so the tests run what `wrangler deploy` would. */
export function wranglerCompatibilityDate(): string {
  const toml = readFileSync(path.join(here, "..", "..", "worker", "wrangler.toml"), "utf8");
  const match = /^compatibility_date\s*=\s*"([0-9-]+)"/m.exec(toml);
  if (!match?.[1]) throw new Error("worker/wrangler.toml has no compatibility_date");
  return match[1];
}

let bundle: Promise<WorkerBundle> | undefined;
export function workerBundle(): Promise<WorkerBundle> {
  bundle ??= buildWorker();
  return bundle;
}

/** The output names of the action, which /v1/mint answers with. */
export type MintOutput =
  | "mode"
  | "access-key-id"
  | "secret-access-key"
  | "session-token"
  | "endpoint"
  | "region"
  | "bucket"
  | "expires-at"
  | "token-id";

/** What the Worker answers: mint outputs, a revocation result or an error. */
export type WorkerJson = Partial<Record<MintOutput, string>> & {
  /** What the credentials are narrowed to (the request's, or the policy's filled prefixes). */
  prefixes?: string[];
  objects?: string[];
  error?: { status: number; code: string; message: string };
  revoked?: boolean;
  reason?: string;
};

export interface WorkerAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON ({} when the answer is not JSON: see text). */
  body: WorkerJson;
  text: string;
}

export interface VendingWorker {
  /** The Worker's own loopback URL (http://127.0.0.1:PORT), as the action's vending-url would be. */
  readonly url: string;
  /** Every line the Worker wrote to stdout/stderr (its JSON log lines). */
  readonly logs: string[];
  /** POST a JSON body (or raw text) with an optional bearer token. */
  post(route: string, token: string | undefined, body: unknown, init?: RequestInit): Promise<WorkerAnswer>;
  request(route: string, init: RequestInit): Promise<WorkerAnswer>;
  mint(token: string | undefined, body: unknown): Promise<WorkerAnswer>;
  revoke(token: string | undefined, tokenId: string): Promise<WorkerAnswer>;
  /** Fires the cron trigger (the Worker's scheduled handler) as Cloudflare would; resolves when it ends. */
  scheduled(cron?: string): Promise<{ outcome: string }>;
  /** Resolves with the first log line (parsed) that satisfies the test, waiting for the runtime's stdout. */
  waitForLog(
    test: (entry: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  dispose(): Promise<void>;
}

export interface VendingWorkerOptions {
  emulator: Emulator;
  /** The issuer's URL (ISSUER); the JWKS is at its /.well-known/jwks. */
  issuer: string;
  /** The Worker's secret. */
  apiToken: string;
  /** POLICY: an object is sent as JSON text, a string as is. */
  policy: unknown;
  /** Any var to override or drop (undefined removes it). */
  vars?: Partial<Record<keyof Env, string | undefined>>;
}

/** Collects a runtime stream line by line. */
function collect(stream: Readable, into: string[]): void {
  let pending = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    into.push(...lines.filter((line) => line.trim() !== ""));
  });
}

async function answer(response: Response): Promise<WorkerAnswer> {
  const text = await response.text();
  let body: WorkerJson = {};
  try {
    body = JSON.parse(text) as WorkerJson;
  } catch {}
  return { status: response.status, headers: response.headers, body, text };
}

export async function startVendingWorker(options: VendingWorkerOptions): Promise<VendingWorker> {
  const { code } = await workerBundle();
  const vars: Record<string, string> = {
    ACCOUNT_ID: options.emulator.accountId,
    AUDIENCE: TEST_AUDIENCE,
    ISSUER: options.issuer,
    POLICY: typeof options.policy === "string" ? options.policy : JSON.stringify(options.policy),
    API_URL: options.emulator.apiUrl,
    S3_ENDPOINT: options.emulator.s3Endpoint(),
    TOKEN_SCOPE: "account",
    CLOUDFLARE_API_TOKEN: options.apiToken,
  };
  for (const [name, value] of Object.entries(options.vars ?? {})) {
    if (value === undefined) delete vars[name];
    else vars[name] = value;
  }
  const logs: string[] = [];
  const mf = new Miniflare({
    modules: [{ type: "ESModule", path: "index.js", contents: code }],
    compatibilityDate: wranglerCompatibilityDate(),
    bindings: vars,
    host: "127.0.0.1",
    port: 0,
    // No network here: no Request.cf lookup at workers.cloudflare.com, no telemetry.
    cf: false,
    telemetry: { enabled: false },
    log: new Log(LogLevel.WARN),
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      collect(stdout, logs);
      collect(stderr, logs);
    },
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");

  const request = async (route: string, init: RequestInit) => answer(await fetch(`${url}${route}`, init));
  const post = (route: string, token: string | undefined, body: unknown, init: RequestInit = {}) =>
    request(route, {
      method: "POST",
      ...init,
      headers: {
        "content-type": "application/json",
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(init.headers as Record<string, string> | undefined),
      },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  return {
    url,
    logs,
    post,
    request,
    mint: (token, body) => post("/v1/mint", token, body),
    revoke: (token, tokenId) => post("/v1/revoke", token, { "token-id": tokenId }),
    async scheduled(cron = "0 * * * *") {
      // Miniflare's Fetcher type loses scheduled() without @cloudflare/workers-types; the method is there.
      const worker = (await mf.getWorker()) as unknown as {
        scheduled(options: { cron: string; scheduledTime: Date }): Promise<{ outcome: string }>;
      };
      const result = await worker.scheduled({ cron, scheduledTime: new Date() });
      return { outcome: result.outcome };
    },
    async waitForLog(test, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const line of logs) {
          try {
            const entry = JSON.parse(line) as Record<string, unknown>;
            if (test(entry)) return entry;
          } catch {}
        }
        if (Date.now() > deadline) throw new Error(`no such log line in:\n${logs.join("\n")}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    dispose: () => mf.dispose(),
  };
}

/**
 * A local OIDC issuer and a vending Worker with POLICY `policy` and the emulator's minter as its
 * secret, for one test file: started before its first test, stopped after its last (before the
 * emulator closes: call it after useEmulator).
 */
export function useVendingWorker(
  emu: EmulatorFixture,
  policy: unknown,
): { readonly issuer: OidcIssuer; readonly worker: VendingWorker } {
  let issuer: OidcIssuer | undefined;
  let worker: VendingWorker | undefined;
  beforeAll(async () => {
    issuer = await startOidcIssuer();
    worker = await startVendingWorker({
      emulator: emu.emulator,
      issuer: issuer.issuer,
      apiToken: emu.minter.value,
      policy,
    });
  });
  afterAll(async () => {
    await worker?.dispose();
    await issuer?.close();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("useVendingWorker: used before its beforeAll ran");
    return value;
  };
  return {
    get issuer() {
      return started(issuer);
    },
    get worker() {
      return started(worker);
    },
  };
}
