// The emulator's injected faults (status, dropped connections, bad bodies, latency), its rate limit
// and rotated permission-group ids.
import { beforeAll, describe, expect, it } from "vitest";
import { startEmulator } from "../../emulator/index.js";
import { useEmulator } from "../helpers/use-emulator.js";
import { bucketPolicy, client, ITEM_READ, ITEM_WRITE } from "./support.js";

// Each test starts without faults, latency or rate limit (useEmulator restores them).
const emu = useEmulator({ leftovers: "keep" });
const api = client(() => emu.emulator);

describe("faults, latency and rate limit", () => {
  let base: string;
  const body = () => ({ name: "f", policies: [bucketPolicy(emu.emulator, ITEM_READ, "fault-bucket")] });
  beforeAll(() => {
    base = `/accounts/${emu.emulator.accountId}/tokens`;
  });

  it("status faults hit the nth call for the given number of times", async () => {
    emu.emulator.injectFault({
      route: "tokens.verify",
      nth: 2,
      times: 2,
      kind: { type: "status", status: 503 },
    });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await api("GET", `${base}/verify`, emu.minter.value)).status);
    expect(statuses).toEqual([200, 503, 503, 200]);
    emu.emulator.injectFault({
      route: "tokens.create",
      kind: { type: "status", status: 429, retryAfter: "7" },
    });
    const limited = await api("POST", base, emu.minter.value, body());
    expect([limited.status, limited.headers.get("retry-after"), limited.body.errors[0]?.code]).toEqual([
      429,
      "7",
      971,
    ]);
    expect(emu.emulator.liveChildTokens()).toEqual([]);
    // Scoped faults leave the other scope alone.
    emu.emulator.injectFault({
      route: "tokens.verify",
      scope: "user",
      kind: { type: "status", status: 500 },
    });
    expect((await api("GET", `${base}/verify`, emu.minter.value)).status).toBe(200);
  });

  it("drop-after performs the operation, drop-before does not", async () => {
    emu.emulator.injectFault({ route: "tokens.create", kind: { type: "drop-after" } });
    await expect(api("POST", base, emu.minter.value, body())).rejects.toThrow();
    expect(emu.emulator.liveChildTokens()).toHaveLength(1);
    expect(emu.emulator.calls.at(-1)).toMatchObject({
      route: "tokens.create",
      status: 0,
      tokenId: emu.minter.id,
    });
    const id = emu.emulator.liveChildTokens()[0]?.id;
    emu.emulator.injectFault({ route: "tokens.delete", kind: { type: "drop-before" } });
    await expect(api("DELETE", `${base}/${id}`, emu.minter.value)).rejects.toThrow();
    expect(emu.emulator.liveChildTokens()).toHaveLength(1);
    expect((await api("DELETE", `${base}/${id}`, emu.minter.value)).status).toBe(200);
  });

  it("malformed and success-false bodies", async () => {
    emu.emulator.injectFault({ route: "tokens.create", kind: { type: "malformed" } });
    const res = await fetch(`${emu.emulator.apiUrl}${base}`, {
      method: "POST",
      headers: { authorization: `Bearer ${emu.minter.value}`, "content-type": "application/json" },
      body: JSON.stringify(body()),
    });
    expect(res.status).toBe(200);
    await expect(res.json()).rejects.toThrow();
    expect(emu.emulator.liveChildTokens()).toHaveLength(1);
    emu.emulator.injectFault({ route: "tokens.list", kind: { type: "success-false" } });
    const sf = await api("GET", base, emu.minter.value);
    expect([sf.status, sf.body.success, sf.body.result]).toEqual([200, false, null]);
    expect(sf.body.errors).toHaveLength(1);
  });

  it("adds latency globally and per fault", async () => {
    emu.emulator.set({ latencyMs: 120 });
    let t = Date.now();
    await api("GET", `${base}/verify`, emu.minter.value);
    expect(Date.now() - t).toBeGreaterThanOrEqual(110);
    emu.emulator.set({ latencyMs: 0 });
    emu.emulator.injectFault({ route: "tokens.verify", kind: { type: "latency", ms: 150 } });
    t = Date.now();
    expect((await api("GET", `${base}/verify`, emu.minter.value)).status).toBe(200);
    expect(Date.now() - t).toBeGreaterThanOrEqual(140);
  });

  it("rate-limits per calling token with 429, code 971 and Retry-After", async () => {
    emu.emulator.set({ rateLimit: { requests: 3, windowMs: 1500 } });
    const other = emu.emulator.seedToken({ scope: "account", preset: "minter" });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await api("GET", `${base}/verify`, emu.minter.value)).status);
    const limited = await api("GET", `${base}/verify`, emu.minter.value);
    expect(statuses).toEqual([200, 200, 200]);
    expect([limited.status, limited.body.errors[0]?.code, limited.headers.get("retry-after")]).toEqual([
      429,
      971,
      "2",
    ]);
    expect((await api("GET", `${base}/verify`, other.value)).status).toBe(200);
    emu.emulator.set({ rateLimit: undefined });
    expect((await api("GET", `${base}/verify`, emu.minter.value)).status).toBe(200);
  });

  it("refuses well-known IDs after Cloudflare rotated them", async () => {
    const rotated = await startEmulator({
      permissionGroupIds: { "Workers R2 Storage Bucket Item Write": "f".repeat(32) },
    });
    try {
      const a = client(rotated);
      const m = rotated.seedToken({ scope: "account", preset: "minter" });
      const old = await a("POST", `/accounts/${rotated.accountId}/tokens`, m.value, {
        name: "x",
        policies: [bucketPolicy(rotated, ITEM_WRITE, "b-1")],
      });
      expect([old.status, old.body.errors[0]?.code]).toEqual([400, 1001]);
      const name = encodeURIComponent("Workers R2 Storage Bucket Item Write");
      const found = await a(
        "GET",
        `/accounts/${rotated.accountId}/tokens/permission_groups?name=${name}`,
        m.value,
      );
      expect(found.body.result[0].id).toBe("f".repeat(32));
      const ok = await a("POST", `/accounts/${rotated.accountId}/tokens`, m.value, {
        name: "x",
        policies: [bucketPolicy(rotated, "f".repeat(32), "b-1")],
      });
      expect(ok.status).toBe(200);
    } finally {
      await rotated.close();
    }
  });
});
