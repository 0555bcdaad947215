// The emulator's R2 buckets API: create, list (paged), get and delete per jurisdiction, and who may.
import { beforeAll, describe, expect, it } from "vitest";
import { useEmulator } from "../helpers/use-emulator.js";
import { client } from "./support.js";

const emu = useEmulator({ minters: [], leftovers: "keep" });
const api = client(() => emu.emulator);

describe("R2 buckets API", () => {
  let admin: { id: string; value: string };
  let base: string;
  beforeAll(() => {
    admin = emu.emulator.seedToken({ scope: "account", preset: "r2-admin" });
    base = `/accounts/${emu.emulator.accountId}/r2/buckets`;
  });

  it("creates, lists, gets and deletes buckets per jurisdiction", async () => {
    const created = await api("POST", base, admin.value, { name: "alpha" });
    expect(created.status).toBe(200);
    expect(created.body.result).toMatchObject({
      name: "alpha",
      jurisdiction: "default",
      storage_class: "Standard",
    });
    expect(created.body.messages).toEqual([]);
    const eu = await api("POST", base, admin.value, { name: "beta" }, { "cf-r2-jurisdiction": "eu" });
    expect(eu.body.result.jurisdiction).toBe("eu");
    for (const n of ["gamma", "delta"]) await api("POST", base, admin.value, { name: n });

    // docs/cloudflare-api.md §8.3: the REST create answers 10004 (assumptions.bucketCreateConflictStatus).
    const dup = await api("POST", base, admin.value, { name: "alpha" });
    expect([dup.status, dup.body.errors[0]?.code]).toEqual([409, 10004]);
    const bad = await api("POST", base, admin.value, { name: "Not_Valid" });
    expect([bad.status, bad.body.errors[0]?.code]).toEqual([400, 10005]);
    // docs/cloudflare-api.md §5: without the header a jurisdictional bucket does not exist.
    const missing = await api("GET", `${base}/beta`, admin.value);
    expect([missing.status, missing.body.errors[0]?.code]).toEqual([404, 10006]);
    expect(
      (await api("GET", `${base}/beta`, admin.value, undefined, { "cf-r2-jurisdiction": "eu" })).status,
    ).toBe(200);

    const page1 = await api("GET", `${base}?per_page=2`, admin.value);
    expect(page1.body.result.buckets.map((b: { name: string }) => b.name)).toEqual(["alpha", "delta"]);
    expect(page1.body.result_info.cursor).toBeTruthy();
    const page2 = await api("GET", `${base}?per_page=2&cursor=${page1.body.result_info.cursor}`, admin.value);
    expect(page2.body.result.buckets.map((b: { name: string }) => b.name)).toEqual(["gamma"]);
    expect(page2.body.result_info.cursor).toBeUndefined();
    const euList = await api("GET", base, admin.value, undefined, { "cf-r2-jurisdiction": "eu" });
    expect(euList.body.result.buckets.map((b: { name: string }) => b.name)).toEqual(["beta"]);

    emu.emulator.putObject("gamma", "k", "v");
    const notEmpty = await api("DELETE", `${base}/gamma`, admin.value);
    expect([notEmpty.status, notEmpty.body.errors[0]?.code]).toEqual([409, 10008]);
    const del = await api("DELETE", `${base}/alpha`, admin.value);
    expect(del.body).toEqual({ success: true, errors: [], messages: [], result: {} });
    expect((await api("GET", `${base}/alpha`, admin.value)).status).toBe(404);
    expect((await api("GET", base, admin.value, undefined, { "cf-r2-jurisdiction": "mars" })).status).toBe(
      400,
    );
  });

  it("refuses bucket-scoped tokens with 10000", async () => {
    emu.emulator.createBucket("scoped");
    const scoped = emu.emulator.seedToken({
      scope: "account",
      preset: "r2-bucket-write",
      buckets: ["scoped"],
    });
    const res = await api("GET", `${base}/scoped`, scoped.value);
    expect([res.status, res.body.errors[0]?.code]).toEqual([403, 10000]);
    expect((await api("GET", base, scoped.value)).body.errors[0]?.code).toBe(10000);
  });

  it("takes a location hint in any case and stores it in lower case", async () => {
    const upper = await api("POST", base, admin.value, { name: "hinted", locationHint: "WNAM" });
    expect([upper.status, upper.body.result.location]).toEqual([200, "wnam"]);
    const mixed = await api("POST", base, admin.value, { name: "hinted-too", locationHint: "Apac" });
    expect(mixed.body.result.location).toBe("apac");
    expect((await api("GET", `${base}/hinted`, admin.value)).body.result.location).toBe("wnam");
    const mars = await api("POST", base, admin.value, { name: "hinted-mars", locationHint: "MARS" });
    expect([mars.status, mars.body.errors[0]?.code]).toEqual([400, 1001]);
  });

  it("says plainly that it does not model fedramp-high", async () => {
    const res = await api("GET", base, admin.value, undefined, { "cf-r2-jurisdiction": "fedramp-high" });
    expect(res.status).toBe(400);
    expect(res.body.errors[0]?.message).toMatch(/fedramp-high is not modelled by this emulator/);
  });
});
