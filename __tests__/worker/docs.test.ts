/**
 * worker/wrangler.toml and worker/README.md stay true: their example policies parse, every var the
 * Worker reads is documented in both, and the compatibility date is one the bundled workerd knows.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parsePolicy } from "../../worker/src/policy.js";
import { wranglerCompatibilityDate } from "../helpers/vending-worker.js";

const worker = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "worker");
const toml = readFileSync(path.join(worker, "wrangler.toml"), "utf8");
const readme = readFileSync(path.join(worker, "README.md"), "utf8");
const settings = readFileSync(path.join(worker, "src", "settings.ts"), "utf8");

const VARS = [
  "ACCOUNT_ID",
  "AUDIENCE",
  "ISSUER",
  "JWKS_URL",
  "POLICY",
  "API_URL",
  "S3_ENDPOINT",
  "TOKEN_SCOPE",
  "SWEEP_LIMIT",
];

describe("worker docs", () => {
  it("the POLICY of wrangler.toml is a valid policy", () => {
    const block = /^POLICY = '''\n([\s\S]*?)\n'''/m.exec(toml)?.[1];
    expect(block).toBeDefined();
    expect(parsePolicy(block)).toHaveProperty("policy");
  });

  it("the README's example policy is a valid policy", () => {
    const example = /## The policy\n\n```json\n([\s\S]*?)\n```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    expect(parsePolicy(example)).toHaveProperty("policy");
  });

  it("every var the Worker reads is in wrangler.toml and the README, and the secret is not in wrangler.toml", () => {
    for (const name of VARS) {
      expect(settings).toContain(`env.${name}`);
      expect(toml).toMatch(new RegExp(`^#? ?${name} = `, "m"));
      expect(readme).toContain(`\`${name}\``);
    }
    expect(toml).not.toMatch(/^CLOUDFLARE_API_TOKEN\s*=/m);
    expect(readme).toContain("wrangler secret put CLOUDFLARE_API_TOKEN");
  });

  it("wrangler.toml runs the sweep every hour, and the README says so", () => {
    const crons = /^\[triggers\]\ncrons = (\[.*\])$/m.exec(toml)?.[1];
    expect(JSON.parse(crons ?? "null")).toEqual(["0 * * * *"]);
    expect(readme).toContain('crons = ["0 * * * *"]');
    expect(readme).toContain("## Sweeping expired children");
  });

  it("wrangler.toml's entry point and compatibility date", () => {
    expect(toml).toMatch(/^main = "src\/index\.ts"$/m);
    const date = wranglerCompatibilityDate();
    const workerd = JSON.parse(
      readFileSync(path.join(worker, "..", "node_modules", "workerd", "package.json"), "utf8"),
    ) as { version: string };
    // workerd 1.YYYYMMDD.n supports compatibility dates up to its own date.
    const supported = workerd.version.split(".")[1] ?? "";
    expect(date.replaceAll("-", "") <= supported).toBe(true);
  });
});
