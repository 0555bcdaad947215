// Proxy support, end to end with a real forward proxy (Debian's tinyproxy, started by the test on a
// loopback port with its own config and log): HTTPS_PROXY / HTTP_PROXY route the Cloudflare API and
// the S3 readiness probe through the proxy, NO_PROXY bypasses it, and an unreachable proxy fails the
// step clearly within the retry budget instead of hanging. RUNNER_DEBUG=1 and secret hygiene on every
// run.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { describeStep, errorLines, runMain, runPost, warningLines } from "../../scripts/harness/runner.js";
import { findMissing, needClients } from "../helpers/clients.js";
import { bucketName, callSequence, liveChildIds } from "../helpers/emulator.js";
import { assertHygiene } from "../helpers/hygiene.js";
import { givenToken } from "../helpers/recorded-emulator.js";
import { closedPort, startTinyproxy, type Tinyproxy } from "../helpers/tinyproxy.js";
import { useEmulator } from "../helpers/use-emulator.js";

const fx = useEmulator({ record: true, minters: ["account", "user"] });

let proxy: Tinyproxy;
let apiHostPort: string;
let s3HostPort: string;

beforeAll(async () => {
  apiHostPort = new URL(fx.recorder.apiUrl).host;
  s3HostPort = new URL(fx.emulator.s3Endpoint()).host;
  // Without tinyproxy every test below is skipped (or fails under CI) in beforeEach.
  if (findMissing(["tinyproxy"]).length > 0) return;
  proxy = await startTinyproxy({
    connectPorts: [Number(new URL(fx.recorder.apiUrl).port), Number(new URL(fx.emulator.s3Endpoint()).port)],
  });
});

afterAll(async () => {
  await proxy?.close();
});

beforeEach((ctx) => {
  needClients(ctx, "tinyproxy");
});

afterEach(async () => {
  // A proxy that died under a test would fail the following ones for the wrong reason.
  expect(proxy?.exited(), "tinyproxy is still running").toBeUndefined();
});

/** Proxied requests since `from` (an index into proxy.requests()). */
const requestsSince = (from: number) => proxy.requests().slice(from);
const through = (requests: string[], hostPort: string) =>
  requests.filter((r) => r.startsWith(`CONNECT ${hostPort} `) || r.includes(`//${hostPort}/`));

function newBucket(label: string): string {
  const bucket = bucketName(label);
  fx.emulator.createBucket(bucket);
  return bucket;
}

describe("through tinyproxy", () => {
  test.each([
    ["HTTPS_PROXY and HTTP_PROXY", { HTTPS_PROXY: "<proxy>", HTTP_PROXY: "<proxy>" }],
    ["lower-case http_proxy only", { http_proxy: "<proxy>" }],
  ])("token mode with %s: the API calls and the S3 probe go through the proxy", async (_name, vars) => {
    const env = Object.fromEntries(Object.entries(vars).map(([k]) => [k, proxy.url]));
    const start = proxy.requests().length;
    const job = await fx.job({ inputs: fx.inputs(newBucket("px")), env, post: { env } });
    expect(job.main.exitCode, describeStep(job.main)).toBe(0);
    expect(job.post.exitCode, describeStep(job.post)).toBe(0);
    expect(warningLines(job.post)).toEqual([]);
    expect(job.post.stdout).toMatch(/Revoked child token/);
    const requests = requestsSince(start);
    // main: the create; post: the delete (a connection each at least), and the S3 probe from main.
    expect(through(requests, apiHostPort).length, proxy.log()).toBeGreaterThanOrEqual(2);
    expect(through(requests, s3HostPort).length, proxy.log()).toBeGreaterThanOrEqual(1);
    expect(fx.emulator.s3Calls.filter((c) => c.method === "GET").length).toBeGreaterThanOrEqual(1);
    expect(callSequence(fx.emulator)).toEqual(["tokens.create 200", "tokens.delete 200"]);
    expect(liveChildIds(fx.emulator)).toEqual([]);
  });

  test("main and post each reach the API through the proxy (checked step by step)", async () => {
    const env = { HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url };
    const inputs = fx.inputs(newBucket("pxstep"));
    fx.recorder.reset();
    const beforeMain = proxy.requests().length;
    const main = await runMain({ inputs, env, debug: true });
    expect(main.exitCode, describeStep(main)).toBe(0);
    const mainRequests = requestsSince(beforeMain);
    expect(through(mainRequests, apiHostPort).length).toBeGreaterThanOrEqual(1);
    expect(through(mainRequests, s3HostPort).length).toBeGreaterThanOrEqual(1);
    const beforePost = proxy.requests().length;
    const post = await runPost({ inputs, env: { ...main.env, ...env }, state: main.state, debug: true });
    expect(post.exitCode, describeStep(post)).toBe(0);
    const postRequests = requestsSince(beforePost);
    expect(through(postRequests, apiHostPort)).toHaveLength(1);
    expect(through(postRequests, s3HostPort)).toEqual([]);
    assertHygiene({ main, post }, { given: givenToken({ inputs }), recorded: fx.recorder.secrets });
    expect(liveChildIds(fx.emulator)).toEqual([]);
  });

  test("hybrid mode (temporary credentials from the child) through the proxy", async () => {
    const env = { HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url };
    const start = proxy.requests().length;
    const job = await fx.job({ inputs: fx.inputs(newBucket("pxhy"), { prefixes: "logs/" }), env });
    expect(job.main.exitCode, describeStep(job.main)).toBe(0);
    expect(job.main.outputs["session-token"]).not.toBe("");
    const requests = requestsSince(start);
    expect(through(requests, apiHostPort).length).toBeGreaterThanOrEqual(2);
    expect(through(requests, s3HostPort).length).toBeGreaterThanOrEqual(1);
    expect(callSequence(fx.emulator)).toEqual([
      "tokens.create 200",
      "r2.temp_credentials 200",
      "tokens.delete 200",
    ]);
  });

  test("NO_PROXY=127.0.0.1 bypasses the proxy: it sees nothing", async () => {
    const env = { HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url, NO_PROXY: "127.0.0.1" };
    const start = proxy.requests().length;
    const job = await fx.job({ inputs: fx.inputs(newBucket("nopx")), env });
    expect(job.main.exitCode, describeStep(job.main)).toBe(0);
    expect(job.post.exitCode, describeStep(job.post)).toBe(0);
    expect(requestsSince(start), proxy.log()).toEqual([]);
    expect(callSequence(fx.emulator)).toEqual(["tokens.create 200", "tokens.delete 200"]);
  });

  test("a proxied run prints nothing on stderr (no warnings from the proxy agent)", async () => {
    const env = { HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url };
    const job = await fx.job({ inputs: fx.inputs(newBucket("pxquiet")), env });
    expect(job.main.exitCode, describeStep(job.main)).toBe(0);
    expect(job.main.stderr).toBe("");
    expect(job.post.stderr).toBe("");
  });
});

describe("an unreachable proxy", () => {
  test("fails main clearly within the 60 s retry budget, without hanging, and leaves nothing alive", async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const env = { HTTPS_PROXY: dead, HTTP_PROXY: dead };
    const job = await fx.job({
      inputs: fx.inputs(newBucket("deadpx")),
      env,
      // The runner would wait; the test kills a hanging step after 90 s and fails.
      timeoutMs: 90_000,
    });
    const errors = errorLines(job.main);
    console.log(`unreachable proxy: main failed after ${job.main.durationMs} ms: ${errors[0]}`);
    expect(job.main.exitCode, describeStep(job.main)).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/network error/);
    expect(errors[0]).toMatch(/HTTPS_PROXY|proxy/i);
    // Within the retry budget (60 s per call) plus process start-up.
    expect(job.main.durationMs).toBeLessThan(65_000);
    // Nothing reached the API, so nothing was created; post has nothing to do.
    expect(fx.emulator.calls).toEqual([]);
    expect(job.post.exitCode).toBe(0);
    expect(liveChildIds(fx.emulator)).toEqual([]);
  }, 120_000);
});
