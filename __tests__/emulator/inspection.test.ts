// The emulator's inspection routes (emulator/inspect.ts), which the CLI, the demo and the benchmarks
// use from another process: seeding, buckets, faults, settings and the recorded state.
import { describe, expect, it } from "vitest";
import { useEmulator } from "../helpers/use-emulator.js";
import { client } from "./support.js";

const emu = useEmulator({ minters: [], leftovers: "keep" });

describe("inspection over HTTP", () => {
  it("seeds, creates buckets, injects faults, sets options and reports state", async () => {
    const post = (p: string, b: unknown) =>
      fetch(`${emu.emulator.inspectUrl}${p}`, { method: "POST", body: JSON.stringify(b) }).then(
        async (r) => ({
          status: r.status,
          body: (await r.json()) as Record<string, unknown>,
        }),
      );
    const seeded = await post("/seed", { scope: "account", preset: "minter" });
    expect(seeded.body.value).toMatch(/^cfat_/);
    expect((await post("/buckets", { name: "inspected", jurisdiction: "eu" })).status).toBe(200);
    expect(
      (await post("/faults", { route: "tokens.verify", kind: { type: "status", status: 502 } })).status,
    ).toBe(200);
    expect((await post("/faults", { route: "nope", kind: { type: "status", status: 502 } })).status).toBe(
      400,
    );
    expect((await post("/set", { latencyMs: 1 })).status).toBe(200);
    const api = client(emu.emulator);
    expect(
      (await api("GET", `/accounts/${emu.emulator.accountId}/tokens/verify`, String(seeded.body.value)))
        .status,
    ).toBe(502);
    const tokens = (await (await fetch(`${emu.emulator.inspectUrl}/tokens`)).json()) as {
      id: string;
      seeded: boolean;
    }[];
    expect(tokens).toEqual([expect.objectContaining({ id: seeded.body.id, seeded: true })]);
    expect(JSON.stringify(tokens)).not.toContain(String(seeded.body.value));
    const calls = (await (await fetch(`${emu.emulator.inspectUrl}/calls`)).json()) as {
      route: string;
      status: number;
    }[];
    expect(calls).toEqual([expect.objectContaining({ route: "tokens.verify", status: 502 })]);
    expect(await (await fetch(`${emu.emulator.inspectUrl}/s3-calls`)).json()).toEqual([]);
    expect((await fetch(`${emu.emulator.inspectUrl}/faults`, { method: "DELETE" })).status).toBe(200);
    expect(emu.emulator.getObject("inspected", "nothing", "eu")).toBeUndefined();
  });
});
