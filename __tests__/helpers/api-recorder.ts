/**
 * A transparent pass-through in front of the emulator's Cloudflare API that remembers every secret
 * the emulator hands out (child token `value`s, temporary `secretAccessKey`s and `sessionToken`s)
 * and every bearer token the action authenticates with.
 *
 * The emulator never exposes secret values to tests (its inspection API lists tokens without their
 * values), yet the secret-hygiene checks need the exact child token value, which in hybrid mode never
 * leaves the action. Pointing `api-url` at this recorder lets a test see precisely what the action
 * received, without reading emulator internals.
 *
 * It is faithful to the faults the emulator injects: when the emulator drops the connection (before
 * or after acting) the recorder drops the action's connection too; status, headers (Retry-After) and
 * malformed bodies pass through unchanged. Like Cloudflare's edge, it adds a `cf-ray` header to every
 * answer (the emulator sends none), so tests can check that failures quote it.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export type RecordedKind = "child-token-value" | "temp-secret-access-key" | "temp-session-token";

export interface RecordedSecret {
  kind: RecordedKind;
  value: string;
  /** Child token id (child-token-value) or temporary access key id (temp-*). */
  id: string;
  /** When the recorder passed it on to the action (Date.now()). */
  at: number;
}

export interface ApiRecorder {
  /** Use as the `api-url` input: same path prefix as the emulator's, on the recorder's port. */
  readonly apiUrl: string;
  readonly port: number;
  /** Secrets passed on to the action since start (or the last reset). */
  readonly secrets: RecordedSecret[];
  /** Bearer tokens the action sent since start (or the last reset). */
  readonly bearers: Set<string>;
  /** Number of requests forwarded since start (or the last reset). */
  readonly requests: number;
  /** The cf-ray header of every answer since start (or the last reset), in order. */
  readonly rays: string[];
  /** The value of a child token by id (whenever it was recorded). */
  childValue(tokenId: string): string | undefined;
  reset(): void;
  close(): Promise<void>;
}

interface MutableState {
  rays: string[];
  secrets: RecordedSecret[];
  bearers: Set<string>;
  requests: number;
  childValues: Map<string, string>;
}

function record(state: MutableState, body: Buffer): void {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    return;
  }
  const result = (json as { result?: unknown } | null)?.result;
  if (result === null || typeof result !== "object" || Array.isArray(result)) return;
  const r = result as Record<string, unknown>;
  const at = Date.now();
  if (typeof r.value === "string" && typeof r.id === "string") {
    state.secrets.push({ kind: "child-token-value", value: r.value, id: r.id, at });
    state.childValues.set(r.id, r.value);
  }
  const accessKeyId = typeof r.accessKeyId === "string" ? r.accessKeyId : "";
  if (typeof r.secretAccessKey === "string") {
    state.secrets.push({ kind: "temp-secret-access-key", value: r.secretAccessKey, id: accessKeyId, at });
  }
  if (typeof r.sessionToken === "string") {
    state.secrets.push({ kind: "temp-session-token", value: r.sessionToken, id: accessKeyId, at });
  }
}

export async function startApiRecorder(upstreamApiUrl: string): Promise<ApiRecorder> {
  const upstream = new URL(upstreamApiUrl);
  // One connection per request: a connection the emulator destroys must not be reused.
  const agent = new http.Agent({ keepAlive: false });
  const state: MutableState = {
    rays: [],
    secrets: [],
    bearers: new Set(),
    requests: 0,
    childValues: new Map(),
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      state.requests += 1;
      const auth = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ""));
      if (auth?.[1]) state.bearers.add(auth[1]);
      const drop = () => req.socket.destroy();
      const headers = { ...req.headers, host: upstream.host };
      const forward = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers,
          agent,
        },
        (upstreamResponse) => {
          const parts: Buffer[] = [];
          upstreamResponse.on("data", (chunk: Buffer) => parts.push(chunk));
          upstreamResponse.on("aborted", drop);
          upstreamResponse.on("error", drop);
          upstreamResponse.on("end", () => {
            if (!upstreamResponse.complete) return drop();
            const body = Buffer.concat(parts);
            record(state, body);
            const responseHeaders = { ...upstreamResponse.headers };
            delete responseHeaders["transfer-encoding"];
            delete responseHeaders.connection;
            responseHeaders["content-length"] = String(body.length);
            const ray = `${randomBytes(8).toString("hex")}-LHR`;
            state.rays.push(ray);
            responseHeaders["cf-ray"] = ray;
            res.writeHead(upstreamResponse.statusCode ?? 502, responseHeaders);
            res.end(body);
          });
        },
      );
      // The emulator dropped the connection (drop-before / drop-after): so does the recorder.
      forward.on("error", drop);
      forward.end(Buffer.concat(chunks));
    });
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });

  return {
    apiUrl: `http://127.0.0.1:${port}${upstream.pathname.replace(/\/+$/, "")}`,
    port,
    get secrets() {
      return state.secrets;
    },
    get bearers() {
      return state.bearers;
    },
    get requests() {
      return state.requests;
    },
    get rays() {
      return state.rays;
    },
    childValue: (tokenId) => state.childValues.get(tokenId),
    reset() {
      state.rays = [];
      state.secrets = [];
      state.bearers = new Set();
      state.requests = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
