/**
 * The Worker's cron trigger, fired in workerd (Miniflare) against the emulator: it deletes this tool's
 * expired child tokens and nothing else (unexpired children, the Worker's own token, other tokens), at
 * most SWEEP_LIMIT per run with the rest left for the next, and logs one JSON line of counts.
 *
 * Expired children are seeded with a child's name and an expiry a second away (Cloudflare, like the
 * emulator, refuses an expiry in the past), then the test waits for it to pass.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callSequence, FORBIDDEN_9109 } from "../helpers/emulator.js";
import { type OidcIssuer, startOidcIssuer } from "../helpers/oidc-issuer.js";
import { useEmulator } from "../helpers/use-emulator.js";
import { startVendingWorker, type VendingWorker } from "../helpers/vending-worker.js";
import { BUCKETS, POLICY, REPO } from "./fixtures.js";

// Children minted through the Worker here are deleted after each test; the sweep is what is tested.
const emu = useEmulator({ buckets: [...BUCKETS], leftovers: "delete" });

let issuer: OidcIssuer;
const workers: VendingWorker[] = [];

beforeAll(async () => {
  issuer = await startOidcIssuer();
});

afterAll(async () => {
  for (const worker of workers) await worker.dispose();
  await issuer?.close();
});

const mintId = () => randomBytes(4).toString("hex");
const childName = (run = "7") => `r2-ephemeral ${REPO} run ${run}.1 CI ${mintId()}`;
const EXPIRY_MS = 1_200;

/** A token named like a child (or as given), expiring soon (or in an hour). */
function seed(name: string, expiresInMs: number): string {
  return emu.emulator.seedToken({
    scope: "account",
    name,
    preset: "no-permissions",
    expiresOn: new Date(Date.now() + expiresInMs).toISOString(),
  }).id;
}

const alive = () => new Set(emu.emulator.liveTokens().map((t) => t.id));
const passes = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A Worker with its own token: named like a child, so only knowing itself keeps it from the sweep. */
async function worker(vars: Record<string, string> = {}): Promise<{ worker: VendingWorker; own: string }> {
  const own = emu.emulator.seedToken({
    scope: "account",
    preset: "minter",
    name: `r2-ephemeral ${REPO} run 1.1 CI ${mintId()}`,
  });
  const started = await startVendingWorker({
    emulator: emu.emulator,
    issuer: issuer.issuer,
    apiToken: own.value,
    policy: POLICY,
    vars,
  });
  workers.push(started);
  return { worker: started, own: own.id };
}

/** The n-th `sweep` log line of a Worker (from 1), waiting for it. */
async function sweepLine(w: VendingWorker, nth: number): Promise<Record<string, unknown>> {
  let seen = 0;
  return w.waitForLog((entry) => entry.event === "sweep" && ++seen === nth);
}

describe("the cron trigger sweeps expired children", () => {
  it("deletes expired children only: unexpired children, its own token and other tokens stay", async () => {
    const { worker: w, own } = await worker();
    const expired = [
      seed(childName(), EXPIRY_MS),
      seed(childName("8"), EXPIRY_MS),
      seed(childName(), EXPIRY_MS),
    ];
    const unexpired = seed(childName(), 3_600_000);
    // A real child, minted through the Worker for a run, one hour to live.
    const minted = await w.mint(await issuer.sign(issuer.claims({ repository: REPO })), {
      bucket: "artifacts",
    });
    expect(minted.status, minted.text).toBe(200);
    const mintedId = minted.body["token-id"] as string;
    const others = [
      // Expired, but not this tool's: another name, a name without the mint id, a custom token-name.
      seed("deploy token for the website", EXPIRY_MS),
      seed(`r2-ephemeral ${REPO} run 7.1 CI`, EXPIRY_MS),
      seed(`nightly-sync ${mintId()}`, EXPIRY_MS),
      seed("R2-EPHEMERAL octo-org/octo-repo run 7.1 CI 0badcafe", EXPIRY_MS),
    ];
    await passes(EXPIRY_MS + 1_100);
    emu.emulator.resetCalls();

    expect(await w.scheduled()).toEqual({ outcome: "ok" });

    const left = alive();
    for (const id of expired) expect(left.has(id), `expired child ${id} was not deleted`).toBe(false);
    for (const id of [unexpired, mintedId, own, emu.minter.id, ...others]) {
      expect(left.has(id), `${id} was deleted`).toBe(true);
    }
    // The Worker checks who it is, lists, then deletes exactly the three.
    expect(callSequence(emu.emulator)).toEqual([
      "tokens.verify 200",
      "tokens.list 200",
      "tokens.delete 200",
      "tokens.delete 200",
      "tokens.delete 200",
    ]);
    const line = await sweepLine(w, 1);
    // kept: the two unexpired children; the Worker's own token is not a child, whatever its name.
    expect(line).toMatchObject({
      level: "info",
      route: "scheduled",
      deleted: 3,
      already_gone: 0,
      kept: 2,
      failed: 0,
      remaining: 0,
      limit: 200,
      failures: [],
    });
    const raw = w.logs.find((l) => l.includes('"event":"sweep"')) ?? "";
    expect(raw).not.toContain(emu.minter.value);

    // Nothing left to do: the next run deletes nothing.
    emu.emulator.resetCalls();
    expect(await w.scheduled()).toEqual({ outcome: "ok" });
    expect(await sweepLine(w, 2)).toMatchObject({ deleted: 0, kept: 2, failed: 0, remaining: 0 });
    expect(callSequence(emu.emulator)).toEqual(["tokens.verify 200", "tokens.list 200"]);
  });

  it("deletes at most SWEEP_LIMIT per run; the rest waits for the next run", async () => {
    const { worker: w, own } = await worker({ SWEEP_LIMIT: "2" });
    // Unexpired children other than this Worker's own token (the first test's Worker's token is one).
    const kept = emu.emulator
      .liveTokens()
      .filter(
        (t) => /^r2-ephemeral .* [0-9a-f]{8}$/.test(t.name) && t.status === "active" && t.id !== own,
      ).length;
    expect(kept).toBeGreaterThan(0);
    const expired = Array.from({ length: 5 }, () => seed(childName("9"), EXPIRY_MS));
    await passes(EXPIRY_MS + 1_100);

    const runs: Record<string, unknown>[] = [];
    for (let run = 1; run <= 4; run++) {
      emu.emulator.resetCalls();
      expect(await w.scheduled()).toEqual({ outcome: "ok" });
      runs.push(await sweepLine(w, run));
      const deletes = callSequence(emu.emulator).filter((c) => c.startsWith("tokens.delete"));
      expect(deletes.length).toBeLessThanOrEqual(2);
    }
    expect(runs.map((r) => [r.deleted, r.remaining, r.failed])).toEqual([
      [2, 3, 0],
      [2, 1, 0],
      [1, 0, 0],
      [0, 0, 0],
    ]);
    for (const r of runs) expect(r).toMatchObject({ limit: 2, kept });
    const left = alive();
    for (const id of expired) expect(left.has(id)).toBe(false);
  });

  it("a deletion Cloudflare refuses is counted as failed and left for the next run; the line says why", async () => {
    const { worker: w } = await worker();
    const expired = [seed(childName(), EXPIRY_MS), seed(childName(), EXPIRY_MS)];
    await passes(EXPIRY_MS + 1_100);
    emu.emulator.injectFault({
      route: "tokens.delete",
      times: 1,
      kind: FORBIDDEN_9109,
    });
    expect(await w.scheduled()).toEqual({ outcome: "ok" });
    emu.emulator.clearFaults();
    const line = await sweepLine(w, 1);
    expect(line).toMatchObject({ level: "warn", deleted: 1, failed: 1, remaining: 0 });
    const failures = line.failures as { token_id: string; message: string }[];
    expect(failures).toHaveLength(1);
    expect(expired).toContain(failures[0]?.token_id);
    expect(failures[0]?.message).toContain("9109");
    // The next run gets it.
    expect(await w.scheduled()).toEqual({ outcome: "ok" });
    expect(await sweepLine(w, 2)).toMatchObject({ deleted: 1, failed: 0 });
    for (const id of expired) expect(alive().has(id)).toBe(false);
  });

  it("when the list fails, one error line and a failed cron event; nothing is deleted", async () => {
    const { worker: w } = await worker();
    const expired = seed(childName(), EXPIRY_MS);
    await passes(EXPIRY_MS + 1_100);
    emu.emulator.injectFault({
      route: "tokens.list",
      times: 1,
      kind: FORBIDDEN_9109,
    });
    emu.emulator.resetCalls();
    expect(await w.scheduled()).toEqual({ outcome: "exception" });
    emu.emulator.clearFaults();
    const line = await w.waitForLog((entry) => entry.event === "sweep.failed");
    expect(line).toMatchObject({ level: "error", route: "scheduled" });
    expect(String(line.message)).toContain("9109");
    expect(callSequence(emu.emulator)).toEqual(["tokens.verify 200", "tokens.list 403"]);
    expect(alive().has(expired)).toBe(true);
    // The next run deletes it.
    expect(await w.scheduled()).toEqual({ outcome: "ok" });
    expect(await sweepLine(w, 1)).toMatchObject({ deleted: 1 });
  });

  it("a misconfigured Worker sweeps nothing and says what is wrong", async () => {
    const started = await startVendingWorker({
      emulator: emu.emulator,
      issuer: issuer.issuer,
      apiToken: emu.minter.value,
      policy: POLICY,
      vars: { ACCOUNT_ID: "not-an-account" },
    });
    workers.push(started);
    emu.emulator.resetCalls();
    expect(await started.scheduled()).toEqual({ outcome: "exception" });
    const line = await started.waitForLog((entry) => entry.event === "sweep.failed");
    expect(line).toMatchObject({ code: "server_misconfigured" });
    expect(String(line.message)).toContain('ACCOUNT_ID is "not-an-account"');
    expect(callSequence(emu.emulator)).toEqual([]);
  });
});
