/**
 * The vending Worker in workerd (Miniflare), against the Cloudflare emulator and a local OIDC issuer:
 * mint, use the credentials with a real S3 client, revoke; the child's name; the logs.
 */
import { describe, expect, it } from "vitest";
import { callSequence, FORBIDDEN_9109 } from "../helpers/emulator.js";
import { getText, putText, s3ClientFromOutputs } from "../helpers/s3.js";
import { useEmulator } from "../helpers/use-emulator.js";
import { useVendingWorker } from "../helpers/vending-worker.js";
import { BUCKETS, childNamePattern, PIPELINES, POLICY, REPO } from "./fixtures.js";

const emu = useEmulator({ buckets: [...BUCKETS] });

const secretsSeen: string[] = [];
const keyless = useVendingWorker(emu, POLICY);

const outputs = (body: object) => body as Record<string, string>;

function remember(body: Record<string, unknown>): void {
  for (const name of ["secret-access-key", "session-token"]) {
    const value = body[name];
    if (typeof value === "string" && value !== "") secretsSeen.push(value);
  }
}

describe("POST /v1/mint and /v1/revoke through the Worker", () => {
  it("mints a child token named for the repository and run; it works at S3; revoke deletes it", async () => {
    const claims = keyless.issuer.claims({ repository: REPO });
    const token = await keyless.issuer.sign(claims);
    secretsSeen.push(token);
    const before = Date.now();

    const minted = await keyless.worker.mint(token, { bucket: "artifacts", permission: "object-read-write" });
    expect(minted.status, minted.text).toBe(200);
    expect(minted.headers.get("cache-control")).toBe("no-store");
    const body = minted.body;
    remember(body);
    expect(Object.keys(body).sort()).toEqual(
      [
        "mode",
        "access-key-id",
        "secret-access-key",
        "session-token",
        "endpoint",
        "region",
        "bucket",
        "expires-at",
        "token-id",
        "prefixes",
        "objects",
      ].sort(),
    );
    expect(body).toMatchObject({
      mode: "token",
      "session-token": "",
      endpoint: emu.emulator.s3Endpoint(),
      region: "auto",
      bucket: "artifacts",
      // Whole bucket: nothing narrowed.
      prefixes: [],
      objects: [],
    });
    expect(body["token-id"]).toMatch(/^[0-9a-f]{32}$/);
    expect(body["access-key-id"]).toBe(body["token-id"]);
    // No ttl asked: an hour (the rule's max_ttl is 2h), in whole seconds.
    const expires = Date.parse(body["expires-at"] ?? "");
    expect(expires - before).toBeGreaterThan(3_590_000);
    expect(expires - before).toBeLessThanOrEqual(3_601_000);
    // The floor: one Cloudflare call, the create (wait-timeout 0: the Worker makes no S3 call).
    expect(callSequence(emu.emulator)).toEqual(["tokens.create 200"]);

    const children = emu.emulator.liveChildTokens();
    expect(children.map((child) => child.id)).toEqual([body["token-id"]]);
    expect(children[0]?.name).toMatch(childNamePattern(REPO, claims.run_id));

    const s3 = s3ClientFromOutputs(outputs(body));
    expect(await putText(s3, "artifacts", "build/app.tar", "bits")).toMatchObject({ ok: true });
    expect(await getText(s3, "artifacts", "build/app.tar")).toMatchObject({ ok: true, body: "bits" });
    // Bucket-scoped: another bucket is refused.
    expect(await putText(s3, "secrets", "x", "y")).toMatchObject({ ok: false, status: 403 });

    emu.emulator.resetCalls();
    const revoked = await keyless.worker.revoke(token, body["token-id"] ?? "");
    expect(revoked.status, revoked.text).toBe(200);
    expect(revoked.body).toEqual({ revoked: true });
    expect(callSequence(emu.emulator)).toEqual(["tokens.get 200", "tokens.delete 200"]);
    expect(emu.emulator.liveChildTokens()).toEqual([]);
    expect(await putText(s3, "artifacts", "build/late.tar", "bits")).toMatchObject({ ok: false });

    const again = await keyless.worker.revoke(token, body["token-id"] ?? "");
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ revoked: false, reason: "already gone" });
  });

  it("grants several buckets (a name and a logs-* glob, as an array) up to the rule's max_ttl", async () => {
    const claims = keyless.issuer.claims({ repository: REPO, run_attempt: "3", workflow: "Nightly build" });
    const token = await keyless.issuer.sign(claims);
    const before = Date.now();
    const minted = await keyless.worker.mint(token, {
      bucket: ["artifacts", "logs-nightly"],
      permission: "object-read-only",
      ttl: "2h",
    });
    expect(minted.status, minted.text).toBe(200);
    remember(minted.body);
    expect(minted.body).toMatchObject({ mode: "token", bucket: "artifacts,logs-nightly" });
    const expires = Date.parse(minted.body["expires-at"] ?? "");
    expect(expires - before).toBeGreaterThan(7_190_000);
    expect(expires - before).toBeLessThanOrEqual(7_201_000);
    const child = emu.emulator.liveChildTokens().find((t) => t.id === minted.body["token-id"]);
    expect(child?.name).toMatch(childNamePattern(REPO, claims.run_id, "3", "Nightly build"));

    emu.emulator.putObject("logs-nightly", "today.log", "log line");
    const s3 = s3ClientFromOutputs(outputs(minted.body));
    expect(await getText(s3, "logs-nightly", "today.log")).toMatchObject({ ok: true, body: "log line" });
    // Read-only.
    expect(await putText(s3, "artifacts", "x", "y")).toMatchObject({ ok: false, status: 403 });

    // A later attempt of the same run may revoke it (the check is repository and run id).
    const attempt4 = await keyless.issuer.sign({ ...claims, run_attempt: "4" });
    expect((await keyless.worker.revoke(attempt4, minted.body["token-id"] ?? "")).body).toEqual({
      revoked: true,
    });
  });

  it("narrows to prefixes under the policy's (hybrid mode: temporary credentials from the child)", async () => {
    const claims = keyless.issuer.claims({ repository: PIPELINES });
    const token = await keyless.issuer.sign(claims);
    const minted = await keyless.worker.mint(token, {
      bucket: "data",
      permission: "object-read-write",
      prefixes: "pipelines/nightly/",
      ttl: 1800,
    });
    expect(minted.status, minted.text).toBe(200);
    remember(minted.body);
    expect(minted.body.mode).toBe("hybrid");
    expect(minted.body["session-token"]).not.toBe("");
    expect(minted.body).toMatchObject({ prefixes: ["pipelines/nightly/"], objects: [] });
    expect(callSequence(emu.emulator)).toEqual(["tokens.create 200", "r2.temp_credentials 200"]);
    const child = emu.emulator.liveChildTokens().find((t) => t.id === minted.body["token-id"]);
    expect(child?.name).toMatch(childNamePattern(PIPELINES, claims.run_id));

    const s3 = s3ClientFromOutputs(outputs(minted.body));
    expect(await putText(s3, "data", "pipelines/nightly/part-0", "rows")).toMatchObject({ ok: true });
    expect(await putText(s3, "data", "pipelines/weekly/part-0", "rows")).toMatchObject({
      ok: false,
      status: 403,
    });

    const revoked = await keyless.worker.revoke(token, minted.body["token-id"] ?? "");
    expect(revoked.body).toEqual({ revoked: true });
    // Deleting the child kills its temporary credentials.
    expect(await putText(s3, "data", "pipelines/nightly/part-1", "rows")).toMatchObject({ ok: false });
  });

  it("a request without prefixes under a rule with prefixes is narrowed to them (it was refused before)", async () => {
    const token = await keyless.issuer.sign(keyless.issuer.claims({ repository: PIPELINES }));
    const minted = await keyless.worker.mint(token, { bucket: "data", permission: "object-read-write" });
    expect(minted.status, minted.text).toBe(200);
    remember(minted.body);
    expect(minted.body).toMatchObject({ mode: "hybrid", prefixes: ["pipelines/"], objects: [] });
    expect(minted.body["session-token"]).not.toBe("");
    const s3 = s3ClientFromOutputs(outputs(minted.body));
    expect(await putText(s3, "data", "pipelines/any/part-0", "rows")).toMatchObject({ ok: true });
    expect(await putText(s3, "data", "elsewhere/part-0", "rows")).toMatchObject({ ok: false, status: 403 });
    const allowed = await keyless.worker.waitForLog(
      (e) => e.event === "mint.allowed" && e.narrowed_by_policy === true,
    );
    expect(allowed).toMatchObject({ repository: PIPELINES, prefixes: ["pipelines/"], objects: [] });
    expect((await keyless.worker.revoke(token, minted.body["token-id"] ?? "")).body).toEqual({
      revoked: true,
    });
    s3.destroy();
  });

  it("an environment-pinned rule: without a ttl the credentials get min(1h, max_ttl) = 15 m", async () => {
    const token = await keyless.issuer.sign(keyless.issuer.claims({ repository: REPO, environment: "prod" }));
    const before = Date.now();
    const minted = await keyless.worker.mint(token, { bucket: "secrets" });
    expect(minted.status, minted.text).toBe(200);
    remember(minted.body);
    const expires = Date.parse(minted.body["expires-at"] ?? "");
    expect(expires - before).toBeGreaterThan(890_000);
    expect(expires - before).toBeLessThanOrEqual(901_000);
    expect((await keyless.worker.revoke(token, minted.body["token-id"] ?? "")).body).toEqual({
      revoked: true,
    });
  });

  it("a Cloudflare refusal is a 502 cloudflare_error with Cloudflare's status and message", async () => {
    emu.emulator.injectFault({
      route: "tokens.create",
      times: 1,
      kind: FORBIDDEN_9109,
    });
    const token = await keyless.issuer.sign(keyless.issuer.claims({ repository: REPO }));
    const refused = await keyless.worker.mint(token, { bucket: "artifacts" });
    emu.emulator.clearFaults();
    expect(refused.status, refused.text).toBe(502);
    expect(refused.body.error?.code).toBe("cloudflare_error");
    expect(refused.body.error?.message).toContain("HTTP 403");
    expect(refused.body.error?.message).toContain("9109");
    expect(refused.text).not.toContain(emu.minter.value);
    expect(emu.emulator.liveChildTokens()).toEqual([]);
  });

  it("retries a transient Cloudflare 503 inside the Worker (workerd timers), then answers 200", async () => {
    emu.emulator.injectFault({ route: "tokens.create", times: 1, kind: { type: "status", status: 503 } });
    const token = await keyless.issuer.sign(keyless.issuer.claims({ repository: REPO }));
    const minted = await keyless.worker.mint(token, { bucket: "artifacts" });
    emu.emulator.clearFaults();
    expect(minted.status, minted.text).toBe(200);
    remember(minted.body);
    const creates = callSequence(emu.emulator).filter((call) => call.startsWith("tokens.create"));
    expect(creates).toEqual(["tokens.create 503", "tokens.create 200"]);
    expect((await keyless.worker.revoke(token, minted.body["token-id"] ?? "")).body).toEqual({
      revoked: true,
    });
  });

  it("when the temporary credentials are refused, the Worker deletes the child it made and answers 502", async () => {
    emu.emulator.injectFault({
      route: "r2.temp_credentials",
      times: 2,
      kind: { type: "status", status: 403, errors: [{ code: 10000, message: "Authentication error" }] },
    });
    const token = await keyless.issuer.sign(keyless.issuer.claims({ repository: PIPELINES }));
    const refused = await keyless.worker.mint(token, {
      bucket: "data",
      permission: "object-read-write",
      prefixes: "pipelines/x/",
    });
    emu.emulator.clearFaults();
    expect(refused.status, refused.text).toBe(502);
    expect(refused.body.error?.code).toBe("cloudflare_error");
    expect(refused.body.error?.message).toContain("temp-access-credentials");
    expect(callSequence(emu.emulator)).toEqual([
      "tokens.create 200",
      "r2.temp_credentials 403",
      "r2.temp_credentials 403",
      "tokens.delete 200",
    ]);
    expect(emu.emulator.liveChildTokens()).toEqual([]);
  });

  it("logs one JSON object per line naming repository, run, bucket and token id, and no secret", () => {
    expect(keyless.worker.logs.length).toBeGreaterThan(0);
    const entries = keyless.worker.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const entry of entries) {
      expect(Object.keys(entry)).toEqual(expect.arrayContaining(["repository", "run", "bucket", "token_id"]));
    }
    const ok = entries.filter((entry) => entry.event === "mint.ok");
    expect(ok.length).toBeGreaterThanOrEqual(4);
    for (const entry of ok) {
      expect(entry.repository).toMatch(/^octo-org\//);
      expect(entry.run).toMatch(/^\d+\.\d+$/);
      expect(entry.bucket).toBeTruthy();
      expect(entry.token_id).toMatch(/^[0-9a-f]{32}$/);
    }
    expect(entries.some((entry) => entry.event === "revoke.ok" && entry.token_id)).toBe(true);
    const all = keyless.worker.logs.join("\n");
    expect(secretsSeen.length).toBeGreaterThan(4);
    for (const secret of [emu.minter.value, ...secretsSeen]) expect(all).not.toContain(secret);
  });
});
