// The emulator's command line (npm run emulator): its --json line, what it serves, and SIGTERM.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";

describe("cli", () => {
  it("prints one JSON line with --json, serves it, and stops on SIGTERM", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "emulator/cli.ts", "--json", "--bucket", "cli-bucket"],
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
    } finally {
      const exited = child.exitCode === null ? new Promise((r) => child.once("exit", r)) : Promise.resolve();
      child.kill("SIGTERM");
      await exited;
    }
  });
});
