// The --live code path, pointed at the emulator through --api-url and --s3-endpoint with an emulator
// token in CLOUDFLARE_API_TOKEN, so the only difference from a real run is the base URL: it creates
// only `r2e-conformance-<run>-` resources and leaves none, also when interrupted; without its
// variables it exits 2 and touches nothing.
import { describe, expect, it } from "vitest";
import { runConformance } from "../../scripts/conformance/run.js";
import { useEmulator } from "../helpers/use-emulator.js";
import { cleanEnv, runScript, startScript, verdictLines } from "./support.js";

const emu = useEmulator({ leftovers: "keep" });

function liveArgs(): string[] {
  const e = emu.emulator;
  return [
    "--live",
    "--api-url",
    e.apiUrl,
    "--s3-endpoint",
    e.s3Endpoint(),
    "--s3-endpoint",
    `eu=${e.s3Endpoint("eu")}`,
  ];
}

function liveEnv() {
  return cleanEnv({ CLOUDFLARE_API_TOKEN: emu.minter.value, CLOUDFLARE_ACCOUNT_ID: emu.emulator.accountId });
}

/** Buckets (in default and eu) and child tokens whose names start with r2e-conformance-. */
async function leftBehind(): Promise<string[]> {
  const e = emu.emulator;
  const names = e.liveChildTokens().map((t) => `token ${t.name}`);
  for (const jurisdiction of ["default", "eu"]) {
    const res = await fetch(`${e.apiUrl}/accounts/${e.accountId}/r2/buckets?per_page=1000`, {
      headers: { authorization: `Bearer ${emu.minter.value}`, "cf-r2-jurisdiction": jurisdiction },
    });
    const body = (await res.json()) as { result: { buckets: { name: string }[] } };
    names.push(...body.result.buckets.map((b) => `bucket ${jurisdiction}/${b.name}`));
  }
  return names;
}

describe("--live against the emulator", () => {
  it("runs every check, names what it creates r2e-conformance-<run>-, and deletes all of it", async () => {
    const run = await runScript(liveArgs(), liveEnv());
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(verdictLines(run.stdout).filter((l) => l.verdict === "refuted")).toEqual([]);
    const runId = /resources are named r2e-conformance-([0-9a-z]+)-/.exec(run.stderr)?.[1];
    expect(runId).toBeDefined();
    const prefix = `r2e-conformance-${runId}-`;
    const created = emu.emulator.calls.filter(
      (c) => c.method === "POST" && (c.route === "tokens.create" || c.route === "r2.buckets.create"),
    );
    expect(created.length).toBeGreaterThan(10);
    for (const c of created) {
      const name = (c.body as { name?: string } | undefined)?.name;
      // The validation checks send a body that is not JSON, or an empty name, on purpose: refused.
      if (name === undefined || name === "") expect(c.status, c.path).toBe(400);
      else expect(name, c.path).toMatch(new RegExp(`^${prefix}`));
    }
    expect(await leftBehind()).toEqual([]);
    expect(run.stdout).toMatch(/^propagation {2}\d+ ms/m);
  });

  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)("%s during the propagation poll: cleans up everything, then exits %i", async (signal, code) => {
    emu.emulator.set({ propagationDelayMs: 120_000 });
    const child = startScript([...liveArgs(), "--only", "propagation-delay"], liveEnv());
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once("close", (c) => resolve(c)));
    await new Promise<void>((resolve, reject) => {
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes("(propagation) at S3")) resolve();
      });
      child.once("close", () => reject(new Error(`exited before polling:\n${stdout}\n${stderr}`)));
    });
    // It has created a bucket and a token by now.
    expect((await leftBehind()).length).toBeGreaterThanOrEqual(2);
    const started = Date.now();
    child.kill(signal);
    expect(await exited, stdout + stderr).toBe(code);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(stderr).toContain(`${signal}: stopping, then deleting what the run created`);
    expect(await leftBehind()).toEqual([]);
    expect(stdout).not.toMatch(/left behind/);
  });

  it.each([
    ["no variables", [], {}],
    ["no account id", [], { CLOUDFLARE_API_TOKEN: "x" }],
    ["no token", [], { CLOUDFLARE_ACCOUNT_ID: "e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0" }],
    ["--assume with --live", ["--assume", "queryPlus=space"], "live"],
    ["an unknown flag", ["--force"], "live"],
    ["an unknown check", ["--only", "no-such-check"], "live"],
    ["a positional argument", ["now"], "live"],
  ] as const)("%s: exit 2, nothing created", async (_label, extra, env) => {
    emu.emulator.resetCalls();
    const run = await runScript([...liveArgs(), ...extra], env === "live" ? liveEnv() : cleanEnv(env));
    expect(run.exitCode, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toMatch(/^conformance: .+\n\nUsage:/);
    if (env !== "live") expect(run.stderr).toMatch(/CLOUDFLARE_(API_TOKEN|ACCOUNT_ID)/);
    expect(emu.emulator.calls).toEqual([]);
    expect(run.stdout).toBe("");
  });

  it("--api-url without --live is a usage error too", async () => {
    const run = await runScript(["--api-url", emu.emulator.apiUrl], cleanEnv());
    expect([run.exitCode, run.stderr]).toEqual([
      2,
      expect.stringContaining("--api-url applies only with --live"),
    ]);
  });
});

describe("a check that throws", () => {
  const target = () => ({
    apiUrl: emu.emulator.apiUrl,
    accountId: emu.emulator.accountId,
    token: emu.minter.value,
    s3Endpoints: { default: emu.emulator.s3Endpoint(), eu: emu.emulator.s3Endpoint("eu") },
  });

  it("is reported as not run (exit 1), and what the run created is deleted", async () => {
    emu.emulator.injectFault({ route: "tokens.create", kind: { type: "status", status: 500 } });
    const out: string[] = [];
    const result = await runConformance({
      target: target(),
      only: ["storage-write-covers-items"],
      out: (line) => out.push(line),
      err: () => {},
    });
    expect(out[0]).toMatch(
      /^skipped {2}storage-write-covers-items {2}\(could not run: could not create token/,
    );
    expect(result.exitCode).toBe(1);
    expect(result.leftovers).toEqual([]);
    expect(await leftBehind()).toEqual([]);
  });

  it("after a create whose answer was lost: the token is found by its prefix and deleted", async () => {
    emu.emulator.injectFault({ route: "tokens.create", kind: { type: "drop-after" } });
    const result = await runConformance({
      target: target(),
      only: ["token-list-order"],
      out: () => {},
      err: () => {},
    });
    expect(result.verdicts).toEqual([{ id: "token-list-order", verdict: "skipped" }]);
    expect(emu.emulator.calls.filter((c) => c.route === "tokens.delete").length).toBeGreaterThanOrEqual(1);
    expect(await leftBehind()).toEqual([]);
  });
});
