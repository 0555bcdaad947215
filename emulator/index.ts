// Cloudflare API + R2 S3 emulator: one loopback HTTP listener for the v4 API (and the inspection
// routes), and one S3 listener per jurisdiction. See docs/design.md §7.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { API_PREFIX, handleApi } from "./api.js";
import {
  DEFAULT_TEMP_ACCESS_KEY_ID,
  DEFAULT_TEMP_CREDENTIAL_CALLERS,
  resolveAssumptions,
} from "./assumptions.js";
import { ApiError } from "./envelope.js";
import { FaultBook, RateLimiter } from "./faults.js";
import { handleInspect, INSPECT_PREFIX } from "./inspect.js";
import { permissionGroupTable } from "./permission-groups.js";
import { presetPolicies } from "./presets.js";
import { newBucket } from "./r2-api.js";
import { handleS3 } from "./s3.js";
import { md5Hex } from "./s3-payload.js";
import { State } from "./state.js";
import { createToken, seedBody, seedOddTokens, tokenView } from "./tokens.js";
import {
  type Emulator,
  type EmulatorOptions,
  JURISDICTIONS,
  type Jurisdiction,
  type S3CallRecord,
} from "./types.js";

export {
  ASSUMPTION_SWITCHES,
  ASSUMPTION_VALUES,
  type AssumptionSwitch,
  DEFAULT_ASSUMPTIONS,
  DEFAULT_TEMP_ACCESS_KEY_ID,
  DEFAULT_TEMP_CREDENTIAL_CALLERS,
} from "./assumptions.js";
export { PERMISSION_GROUPS, type PermissionGroup } from "./permission-groups.js";
export type {
  Assumptions,
  CallRecord,
  Emulator,
  EmulatorOptions,
  Fault,
  FaultKind,
  Jurisdiction,
  PolicyInput,
  RouteName,
  S3CallRecord,
  SeededToken,
  SeedPreset,
  SeedSpec,
  SettableOptions,
  TempAccessKeyId,
  TempCredentialCallers,
  TokenPolicyView,
  TokenView,
} from "./types.js";

const DEFAULT_ACCOUNT_ID = "e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0";
const DEFAULT_USER_ID = "a5e2a5e2a5e2a5e2a5e2a5e2a5e2a5e2";

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A handler bug must not hang the client: answer 500 (or drop the socket if headers went out). */
function guarded(
  fn: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    fn(req, res).catch((e: unknown) => {
      process.stderr.write(
        `emulator: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
      if (res.headersSent) {
        res.socket?.destroy();
        return;
      }
      res.writeHead(500, { "content-type": "text/plain" });
      res.end("emulator internal error");
    });
  };
}

const hostForUrl = (host: string) => (host.includes(":") ? `[${host}]` : host);

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const host = options.host ?? "127.0.0.1";
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  const userId = options.userId ?? DEFAULT_USER_ID;
  for (const [label, id] of [
    ["accountId", accountId],
    ["userId", userId],
  ] as const) {
    if (!/^[0-9a-f]{32}$/.test(id)) throw new Error(`${label} must be 32 lowercase hex characters`);
  }
  const state = new State(accountId, userId, permissionGroupTable(options.permissionGroupIds), {
    propagationDelayMs: options.propagationDelayMs ?? 0,
    revocationDelayMs: options.revocationDelayMs ?? 0,
    latencyMs: options.latencyMs ?? 0,
    rateLimit: options.rateLimit,
    tempCredentialCallers: options.tempCredentialCallers ?? DEFAULT_TEMP_CREDENTIAL_CALLERS,
    tempAccessKeyId: options.tempAccessKeyId ?? DEFAULT_TEMP_ACCESS_KEY_ID,
    assumptions: resolveAssumptions(options.assumptions),
    // Cloudflare's documented quotas (docs/cloudflare-api.md §1, rate limits).
    quotas: options.quotas ?? { user: 50, account: 500 },
    clockOffsetMs: options.clockOffsetMs ?? 0,
  });
  const faults = new FaultBook();
  const rateLimiter = new RateLimiter();

  const getBucket = (name: string, jurisdiction: Jurisdiction = "default") => {
    const b = state.bucket(name, jurisdiction);
    if (!b) throw new Error(`bucket ${jurisdiction}/${name} does not exist (call createBucket first)`);
    return b;
  };

  let emulator: Emulator | undefined;
  const apiServer = createServer(
    guarded(async (req, res) => {
      if ((req.url ?? "").startsWith(INSPECT_PREFIX) && emulator) return handleInspect(emulator, req, res);
      return handleApi({ state, faults, rateLimiter }, req, res);
    }),
  );
  const s3Servers = new Map<Jurisdiction, Server>(
    JURISDICTIONS.map((j) => [j, createServer(guarded((req, res) => handleS3(state, j, req, res)))]),
  );

  const apiPort = await listen(apiServer, host, options.apiPort ?? 0);
  const s3Ports = new Map<Jurisdiction, number>();
  for (const [j, server] of s3Servers) s3Ports.set(j, await listen(server, host, 0));
  const base = `http://${hostForUrl(host)}`;

  emulator = {
    accountId,
    userId,
    apiUrl: `${base}:${apiPort}${API_PREFIX}`,
    inspectUrl: `${base}:${apiPort}${INSPECT_PREFIX}`,
    s3Endpoint: (jurisdiction = "default") => `${base}:${s3Ports.get(jurisdiction)}`,
    seedToken(spec) {
      const policies = spec.policies ?? presetPolicies(state, spec.preset ?? "no-permissions", spec.buckets);
      const name = spec.name ?? `seeded ${spec.preset ?? "custom"} token`;
      try {
        const t = createToken(state, {
          scope: spec.scope,
          body: seedBody(name, policies, spec.expiresOn),
          seeded: true,
        });
        return { id: t.id, value: t.value };
      } catch (e) {
        if (e instanceof ApiError) throw new Error(`seedToken: ${e.message}`);
        throw e;
      }
    },
    createBucket(name, jurisdiction = "default") {
      if (state.bucket(name, jurisdiction)) return;
      try {
        newBucket(state, name, jurisdiction);
      } catch (e) {
        if (e instanceof ApiError) throw new Error(`createBucket(${JSON.stringify(name)}): ${e.message}`);
        throw e;
      }
    },
    putObject(bucket, key, body, jurisdiction) {
      const data = typeof body === "string" ? new TextEncoder().encode(body) : body;
      getBucket(bucket, jurisdiction).objects.set(key, {
        body: data,
        etag: `"${md5Hex(data)}"`,
        lastModified: state.now(),
        metadata: {},
      });
    },
    getObject: (bucket, key, jurisdiction) => getBucket(bucket, jurisdiction).objects.get(key)?.body,
    seedOddTokens: (count) => seedOddTokens(state, count).map((t) => ({ id: t.id, name: t.name })),
    liveTokens: () =>
      [...state.tokens.values()].filter((t) => t.deletedAt === undefined).map((t) => tokenView(state, t)),
    liveChildTokens: () =>
      [...state.tokens.values()]
        .filter((t) => t.deletedAt === undefined && !t.seeded)
        .map((t) => tokenView(state, t)),
    get calls() {
      return state.calls;
    },
    get s3Calls() {
      return state.s3Calls;
    },
    set s3Calls(value: S3CallRecord[]) {
      state.s3Calls = value;
    },
    resetCalls() {
      state.calls = [];
      state.s3Calls = [];
    },
    injectFault: (fault) => faults.inject(fault),
    clearFaults: () => faults.clear(),
    set(o) {
      const opts = state.options;
      if (o.propagationDelayMs !== undefined) opts.propagationDelayMs = o.propagationDelayMs;
      if (o.revocationDelayMs !== undefined) opts.revocationDelayMs = o.revocationDelayMs;
      if (o.latencyMs !== undefined) opts.latencyMs = o.latencyMs;
      if (o.tempCredentialCallers !== undefined) opts.tempCredentialCallers = o.tempCredentialCallers;
      if (o.tempAccessKeyId !== undefined) opts.tempAccessKeyId = o.tempAccessKeyId;
      if (o.clockOffsetMs !== undefined) opts.clockOffsetMs = o.clockOffsetMs;
      if (o.assumptions !== undefined) opts.assumptions = resolveAssumptions(o.assumptions, opts.assumptions);
      // An explicit `rateLimit: undefined` switches the rate limit off.
      if ("rateLimit" in o) opts.rateLimit = o.rateLimit;
    },
    get assumptions() {
      return { ...state.options.assumptions };
    },
    async close() {
      await Promise.all([close(apiServer), ...[...s3Servers.values()].map(close)]);
    },
  };
  return emulator;
}
