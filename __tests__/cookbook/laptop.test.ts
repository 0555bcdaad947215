// docs/cookbook.md's laptop recipes, run as written: each `<!-- laptop: id -->` sh block runs in bash
// with `r2-ephemeral-credentials` on PATH (the built CLI), the `<!-- laptop-file: name -->` blocks
// written beside it, a home and cache of its own, and Debian's python3 with boto3. Like the workflow
// recipes, the test adds only what points at the emulator: --api-url and --s3-endpoint, inserted by
// the wrapper right after the command name.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { spawnWithTimeout } from "../../scripts/harness/spawn.js";
import { cliScript, shellQuote } from "../helpers/cli.js";
import { needClients } from "../helpers/clients.js";
import { callsTo, liveChildIds } from "../helpers/emulator.js";
import { useEmulator } from "../helpers/use-emulator.js";
import { cookbookPath } from "./recipe.js";

const BUCKET = "field-data-2026";
const emu = useEmulator({ leftovers: "delete" });

function blocks(marker: string, language: string): Map<string, string> {
  const pattern = new RegExp(
    `<!--\\s*${marker}:\\s*([a-z0-9.-]+)\\s*-->\\s*\\n\`\`\`${language}\\n([\\s\\S]*?)\\n\`\`\``,
    "g",
  );
  const found = new Map<string, string>();
  for (const match of fs.readFileSync(cookbookPath, "utf8").matchAll(pattern)) {
    found.set(match[1] as string, match[2] as string);
  }
  return found;
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "r2e-laptop-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs the recipe's sh block in a workspace holding every laptop-file block. */
async function runRecipe(id: string) {
  const script = blocks("laptop", "sh").get(id);
  if (script === undefined) throw new Error(`docs/cookbook.md has no "<!-- laptop: ${id} -->" sh block`);
  const work = path.join(dir, "work");
  const bin = path.join(dir, "bin");
  fs.mkdirSync(work);
  fs.mkdirSync(bin);
  for (const [name, content] of blocks("laptop-file", "python"))
    fs.writeFileSync(path.join(work, name), content);
  const endpoint = ["--api-url", emu.emulator.apiUrl, "--s3-endpoint", emu.emulator.s3Endpoint()].map(
    shellQuote,
  );
  fs.writeFileSync(
    path.join(bin, "r2-ephemeral-credentials"),
    `#!/bin/sh\ncommand="$1"; shift\nexec ${shellQuote(process.execPath)} ${shellQuote(cliScript)} "$command" ${endpoint.join(" ")} "$@"\n`,
    { mode: 0o755 },
  );
  fs.writeFileSync(path.join(work, "measurements.csv"), "station,temperature\nnorth,11.5\nsouth,14.0\n");
  return spawnWithTimeout("/bin/bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], {
    cwd: work,
    env: {
      PATH: `${bin}:/usr/bin:/bin`,
      HOME: path.join(dir, "home"),
      CLOUDFLARE_API_TOKEN: emu.minter.value,
      CLOUDFLARE_ACCOUNT_ID: emu.emulator.accountId,
    },
    timeoutMs: 90_000,
  });
}

test("a Python script with exec: the bucket is created, the script uploads, the token is revoked", async (ctx) => {
  needClients(ctx, "boto3");
  const result = await runRecipe("exec-python");
  expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  expect(result.stdout).toMatch(/^uploaded; the credentials would have expired at \d{4}-/m);
  expect(Buffer.from(emu.emulator.getObject(BUCKET, "raw/measurements.csv") ?? []).toString()).toMatch(
    /^station/,
  );
  expect(callsTo(emu.emulator, "r2.buckets.create")).toHaveLength(1);
  expect(result.stderr).toMatch(/Revoked token [0-9a-f]{32}/);
  expect(liveChildIds(emu.emulator)).toEqual([]);
});

test("boto3 with credential_process: two clients, one mint; the profile holds no secret", async (ctx) => {
  needClients(ctx, "boto3");
  emu.emulator.createBucket(BUCKET);
  emu.emulator.putObject(BUCKET, "raw/measurements.csv", "station,temperature\nnorth,11.5\nsouth,14.0\n");
  const result = await runRecipe("credential-process-boto3");
  expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  expect(result.stdout).toContain("3 lines\n3 lines\n");
  expect(callsTo(emu.emulator, "tokens.create")).toHaveLength(1);
  const config = fs.readFileSync(path.join(dir, "home", ".aws", "config"), "utf8");
  expect(config).toMatch(/^\[profile r2\]\n/);
  expect(config.includes(emu.minter.value)).toBe(false);
});
