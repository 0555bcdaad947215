import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  CloudflareClient,
  CloudflareError,
  type HttpDeps,
  refusesCaller,
} from "../../src/cloudflare/client.js";
import { listTokens } from "../../src/cloudflare/tokens.js";

/** A scripted loopback server: each request takes the next answer of the script. */
type Answer = (req: IncomingMessage, res: ServerResponse) => void;
let script: Answer[] = [];
let seen: { method: string; url: string; authorization: string | undefined; body: string }[] = [];
let server: Server;
let apiUrl: string;

const ok =
  (result: unknown, headers: Record<string, string> = {}): Answer =>
  (_req, res) => {
    res.writeHead(200, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify({ success: true, errors: [], messages: [], result }));
  };
const fail =
  (
    status: number,
    errors: { code: number; message: string }[],
    headers: Record<string, string> = {},
  ): Answer =>
  (_req, res) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify({ success: false, errors, messages: [], result: null }));
  };
const raw =
  (status: number, body: string): Answer =>
  (_req, res) => {
    res.writeHead(status, { "content-type": "application/json", "cf-ray": "8f00ba7-AMS" });
    res.end(body);
  };
const drop: Answer = (req) => req.socket.destroy();

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        authorization: req.headers.authorization,
        body,
      });
      const answer = script.shift() ?? fail(500, [{ code: 1, message: "script exhausted" }]);
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  script = [];
  seen = [];
});

function client(
  sleeps: number[] = [],
  clock = { t: Date.UTC(2026, 10, 28) },
  log?: (m: string) => void,
  url = apiUrl,
) {
  const deps: HttpDeps = {
    fetch: (input, init) => fetch(input, init),
    now: () => clock.t,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.t += ms;
    },
    random: () => 0.5,
  };
  return new CloudflareClient({
    apiUrl: url,
    deps,
    ...(log ? { log } : {}),
    retry: {
      maxAttempts: 4,
      maxDirectedAttempts: 6,
      baseDelayMs: 100,
      maxDelayMs: 1000,
      totalBudgetMs: 10_000,
    },
  });
}

const get = {
  method: "GET" as const,
  path: "/user/tokens/verify",
  token: "t0k3n",
  result: z.object({ id: z.string() }),
};

describe("listTokens", () => {
  it("reads a page item by item: one it cannot parse is skipped and counted, never fatal", async () => {
    const page = [
      { id: "a".repeat(32), name: "r2-ephemeral octo/repo run 1.1 job 0a1b2c3d", expires_on: null },
      { id: "b".repeat(32), name: 42, status: "active" },
      { name: "no id at all" },
      { id: "c".repeat(32), name: "oauth token", policies: null, provisioner_type: "oauth", issued_on: 7 },
    ];
    script = [
      (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            success: true,
            errors: [],
            messages: [],
            result: page,
            result_info: { page: 1, per_page: 50, count: 4, total_count: 4 },
          }),
        );
      },
    ];
    const skipped: number[] = [];
    const tokens = await listTokens(
      client(),
      { scope: "account", accountId: "e".repeat(32), token: "t0k3n" },
      (count) => skipped.push(count),
    );
    expect(tokens.map((t) => t.name)).toEqual(["r2-ephemeral octo/repo run 1.1 job 0a1b2c3d", "oauth token"]);
    // A field of an unexpected type is dropped, not fatal.
    expect(tokens[1]?.issued_on).toBeUndefined();
    expect(skipped).toEqual([2]);
    expect(seen[0]?.url).toContain("per_page=50");
  });
});

describe("CloudflareClient", () => {
  it("encodes query values as Cloudflare's SDK does: a space is %20, never +", async () => {
    script = [ok([])];
    await client().request({
      ...get,
      path: "/user/tokens/permission_groups",
      query: {
        name: "Workers R2 Storage Bucket Item Write",
        scope: "com.cloudflare.edge.r2.bucket",
        page: 2,
      },
      result: z.array(z.unknown()),
    });
    expect(seen[0]?.url).toBe(
      "/client/v4/user/tokens/permission_groups?name=Workers%20R2%20Storage%20Bucket%20Item%20Write&scope=com.cloudflare.edge.r2.bucket&page=2",
    );
  });

  it("names the cause in each retry line: the HTTP status and codes, or the system error and host", async () => {
    const lines: string[] = [];
    script = [fail(503, [{ code: 10001, message: "busy" }]), ok({ id: "abc" })];
    await client([], undefined, (m) => lines.push(m)).request(get);
    expect(lines).toEqual([
      expect.stringMatching(/^GET \/user\/tokens\/verify failed \(HTTP 503 \(10001\)\); retrying in \d+ ms/),
    ]);

    // A typo in the host shows at the first attempt, not as a bare "network error".
    lines.length = 0;
    const typo = client([], undefined, (m) => lines.push(m), "https://api.cloudflare.invalid/client/v4");
    await expect(typo.request(get)).rejects.toThrow(/api\.cloudflare\.invalid/);
    expect(lines[0]).toMatch(/failed \(ENOTFOUND api\.cloudflare\.invalid\); retrying/);

    lines.length = 0;
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const refused = client([], undefined, (m) => lines.push(m), `http://127.0.0.1:${closed}/client/v4`);
    await expect(refused.request(get)).rejects.toThrow(/network error/);
    expect(lines[0]).toMatch(/failed \(ECONNREFUSED\); retrying/);
  });

  it("sends the bearer token and parses the envelope's result with its schema", async () => {
    script = [ok({ id: "abc" })];
    await expect(client().request(get)).resolves.toEqual({ id: "abc" });
    expect(seen[0]).toMatchObject({
      method: "GET",
      url: "/client/v4/user/tokens/verify",
      authorization: "Bearer t0k3n",
    });
  });

  it("retries a 429 after the seconds of Retry-After", async () => {
    const sleeps: number[] = [];
    script = [fail(429, [{ code: 971, message: "Please wait" }], { "retry-after": "2" }), ok({ id: "abc" })];
    await expect(client(sleeps).request(get)).resolves.toEqual({ id: "abc" });
    expect(sleeps).toEqual([2000]);
  });

  it("retries a 429 after a Retry-After HTTP date", async () => {
    const sleeps: number[] = [];
    const clock = { t: Date.UTC(2026, 10, 28, 0, 0, 0) };
    script = [
      fail(429, [{ code: 971, message: "Please wait" }], { "retry-after": "Sat, 28 Nov 2026 00:00:03 GMT" }),
      ok({ id: "abc" }),
    ];
    await expect(client(sleeps, clock).request(get)).resolves.toEqual({ id: "abc" });
    expect(sleeps).toEqual([3000]);
  });

  it("retries 5xx with full-jitter backoff and gives up after the attempt limit", async () => {
    const sleeps: number[] = [];
    script = [500, 502, 503, 503].map((s) => fail(s, [{ code: 10001, message: "InternalError" }]));
    const error = await client(sleeps)
      .request(get)
      .catch((e) => e);
    expect(error).toBeInstanceOf(CloudflareError);
    expect(seen).toHaveLength(4);
    expect(sleeps).toEqual([50, 100, 200]);
    expect(error.message).toContain("HTTP 503");
    expect(error.message).toContain("10001 InternalError");
  });

  it("gives up when Retry-After would pass the total time budget", async () => {
    const sleeps: number[] = [];
    script = [fail(429, [{ code: 971, message: "Please wait" }], { "retry-after": "60" })];
    await expect(client(sleeps).request(get)).rejects.toThrow(/HTTP 429/);
    expect(sleeps).toEqual([]);
  });

  it.each([400, 401, 403, 404, 408, 409])("never retries HTTP %i", async (status) => {
    script = [fail(status, [{ code: 9109, message: "Unauthorized to access requested resource" }])];
    await expect(client().request(get)).rejects.toThrow(`HTTP ${status}`);
    expect(seen).toHaveLength(1);
  });

  it("explains a 9109 with the missing token permission and keeps cf-ray", async () => {
    script = [
      fail(403, [{ code: 9109, message: "Unauthorized to access requested resource" }], {
        "cf-ray": "8a1b2c3d4e5f-LHR",
      }),
    ];
    const error: CloudflareError = await client()
      .request({ ...get, method: "POST", path: "/accounts/x/tokens", body: {} })
      .catch((e) => e);
    expect(error.render()).toMatch(
      /HTTP 403 — 9109 Unauthorized to access requested resource \(cf-ray 8a1b2c3d4e5f-LHR\)/,
    );
    expect(error.render()).toMatch(/Account API Tokens Write/);
  });

  it("reports an unparsable body as invalid JSON with status and cf-ray", async () => {
    script = [raw(400, "<html>bad gateway</html>")];
    await expect(client().request(get)).rejects.toThrow(
      /HTTP 400 the answer is not valid JSON \(cf-ray 8f00ba7-AMS\)/,
    );
  });

  it("treats success:false with HTTP 200 as a failure carrying Cloudflare's errors", async () => {
    script = [fail(200, [{ code: 1234, message: "Something odd" }])];
    await expect(client().request(get)).rejects.toThrow(/1234 Something odd/);
  });

  it("calls the ambiguity hook before retrying a write whose answer was lost", async () => {
    const events: string[] = [];
    script = [drop, ok({ id: "abc" })];
    const result = await client().request({
      ...get,
      method: "POST",
      path: "/accounts/x/tokens",
      body: { name: "n" },
      onAmbiguousFailure: async (error) => {
        events.push(`ambiguous: ${error.details.status ?? "network"}`);
      },
    });
    expect(result).toEqual({ id: "abc" });
    expect(events).toEqual(["ambiguous: network"]);
  });

  it("calls the ambiguity hook for a 2xx whose body cannot be parsed", async () => {
    const events: string[] = [];
    script = [raw(200, "{not json"), ok({ id: "abc" })];
    await client().request({
      ...get,
      method: "POST",
      body: {},
      onAmbiguousFailure: async () => void events.push("x"),
    });
    expect(events).toEqual(["x"]);
  });

  it("does not call the ambiguity hook for a 4xx refusal", async () => {
    const events: string[] = [];
    script = [fail(403, [{ code: 9109, message: "no" }])];
    await expect(
      client().request({
        ...get,
        method: "POST",
        body: {},
        onAmbiguousFailure: async () => void events.push("x"),
      }),
    ).rejects.toThrow();
    expect(events).toEqual([]);
  });
});

describe("hints that depend on the call", () => {
  const cors = "/accounts/0123456789abcdef0123456789abcdef/r2/buckets/site/cors";
  const hintOf = async (method: "GET" | "PUT" | "DELETE", path: string, status: number, code: number) => {
    script = [fail(status, [{ code, message: "refused" }])];
    const error = await client()
      .request({
        method,
        path,
        token: "t0k3n",
        result: z.unknown(),
        ...(method === "PUT" ? { body: {} } : {}),
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CloudflareError);
    return (error as CloudflareError).hint ?? "";
  };

  it("a refusal of bucket CORS names the group that call needs: Storage Read to read, Storage Write to change", async () => {
    expect(await hintOf("GET", cors, 403, 10000)).toMatch(
      /^Reading a bucket's CORS policy needs Workers R2 Storage Read/,
    );
    for (const method of ["PUT", "DELETE"] as const) {
      expect(await hintOf(method, cors, 403, 9109)).toMatch(
        /^Changing a bucket's CORS policy needs Workers R2 Storage Write/,
      );
    }
    expect(await hintOf("PUT", cors, 400, 10040)).toContain('camelCase inside a "rules" wrapper');
  });

  it("other calls, and other answers on the same path, keep the hints of their codes", async () => {
    const bucket = "/accounts/0123456789abcdef0123456789abcdef/r2/buckets/site";
    expect(await hintOf("GET", bucket, 403, 10000)).toMatch(/^Authentication error/);
    expect(await hintOf("GET", cors, 404, 10006)).toMatch(/^The bucket does not exist/);
  });
});

describe("refusesCaller: the one rule mint's fallback and doctor's probes share", () => {
  const answer = (status: number | undefined, ...codes: number[]) =>
    new CloudflareError("refused", {
      method: "GET",
      path: "/accounts/x/tokens",
      status,
      errors: codes.map((code) => ({ code, message: "m" })),
      cfRay: undefined,
      cause: `HTTP ${status}`,
      ambiguous: false,
      retryable: false,
      retryAfterMs: undefined,
    });

  it.each([
    [401, [1000], true],
    [403, [10000], true],
    [403, [], true],
    [400, [10000], true],
    [400, [9109], true],
    [404, [7003], false],
    [400, [1001], false],
    [429, [9109], false],
    [503, [10000], false],
    [undefined, [], false],
  ] as const)("HTTP %s with codes %j → %s", (status, codes, refused) => {
    expect(refusesCaller(answer(status, ...codes))).toBe(refused);
  });

  it("is false for anything that is not Cloudflare's answer", () => {
    expect(refusesCaller(new Error("403"))).toBe(false);
  });
});
