// The emulator's command line (npm run emulator): its --json line, what it serves, and SIGTERM.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { spawnWithTimeout } from "../../scripts/harness/spawn.js";

describe("cli", () => {
  it("prints one JSON line with --json, serves it, and stops on SIGTERM", async () => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "emulator/cli.ts",
        "--json",
        "--bucket",
        "cli-bucket",
        "--assume",
        "queryPlus=space",
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("\n")) resolve(out.split("\n")[0] ?? "");
        });
        child.once("exit", (code) => reject(new Error(`cli exited with ${code}`)));
      });
      const info = JSON.parse(line) as {
        apiUrl: string;
        accountId: string;
        token: string;
        bucket: string;
        inspectUrl: string;
      };
      expect(info.bucket).toBe("cli-bucket");
      const verify = await fetch(`${info.apiUrl}/accounts/${info.accountId}/tokens/verify`, {
        headers: { authorization: `Bearer ${info.token}` },
      });
      expect(verify.status).toBe(200);
      const state = (await (await fetch(`${info.inspectUrl}/info`)).json()) as {
        assumptions: { queryPlus: string };
      };
      expect(state.assumptions.queryPlus).toBe("space");
    } finally {
      const exited = child.exitCode === null ? new Promise((r) => child.once("exit", r)) : Promise.resolve();
      child.kill("SIGTERM");
      await exited;
    }
  });

  it("refuses an assumption it does not know, with exit 2", async () => {
    const run = await spawnWithTimeout(
      process.execPath,
      ["--import", "tsx", "emulator/cli.ts", "--assume", "queryPlus=maybe"],
      { env: process.env, timeoutMs: 30_000 },
    );
    expect([run.exitCode, run.stderr]).toEqual([2, expect.stringContaining("is not one of literal, space")]);
  });
});
