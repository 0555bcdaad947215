/**
 * Runs once before the suite, in vitest's main process:
 * 1. Builds src/ into a folder of its own, so the end-to-end suites spawn bundles of the source as it
 *    is now, never a stale dist/. The build is cached by a hash of everything that goes into it, so a
 *    second run with the same source starts at once. R2E_E2E_DIST names a build to test instead
 *    (CI points it at the dist/ it has just built and checked, so nothing is built twice).
 * 2. Installs the Debian clients some tests drive when it may without a password, and tells the test
 *    workers which are still missing (their tests are then skipped with the install line, or fail
 *    under CI).
 * Both results reach the workers as environment variables, which they inherit.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { build } from "../../scripts/build.js";
import { repoRoot } from "../../scripts/harness/paths.js";
import { findMissing, installLine, installPlan, MISSING_ENV, underCi } from "../helpers/clients.js";

/** Everything the bundles are made from. */
const BUILD_INPUTS = ["src", "package.json", "package-lock.json", "tsconfig.json", "scripts/build.ts"];
const CACHE = path.join(repoRoot, ".tmp/test-dist");

function filesUnder(entry: string): string[] {
  const full = path.join(repoRoot, entry);
  if (!fs.existsSync(full)) return [];
  if (!fs.statSync(full).isDirectory()) return [entry];
  return fs
    .readdirSync(full, { withFileTypes: true })
    .flatMap((child) => filesUnder(path.join(entry, child.name)))
    .sort();
}

export function sourceHash(): string {
  const hash = createHash("sha256");
  for (const file of BUILD_INPUTS.flatMap(filesUnder)) {
    hash.update(`${file}\0`);
    hash.update(fs.readFileSync(path.join(repoRoot, file)));
    hash.update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

async function bundlesUnderTest(): Promise<string> {
  const given = process.env.R2E_E2E_DIST;
  if (given) {
    console.log(`[setup] testing the bundles in ${given} (R2E_E2E_DIST); not building`);
    return path.resolve(given);
  }
  const dir = path.join(CACHE, sourceHash());
  if (fs.existsSync(path.join(dir, ".complete"))) {
    console.log(`[setup] src/ unchanged since the last build: testing ${path.relative(repoRoot, dir)}`);
    return dir;
  }
  const started = performance.now();
  console.log(`[setup] building src/ into ${path.relative(repoRoot, dir)} (the bundles the e2e tests run)…`);
  // Older builds are of older sources: keep only this one.
  fs.rmSync(CACHE, { recursive: true, force: true });
  await build(dir);
  fs.writeFileSync(path.join(dir, ".complete"), "");
  console.log(`[setup] built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return dir;
}

function commandWorks(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: "ignore", timeout: 10_000 }).status === 0;
}

function prepareClients(): string[] {
  const missing = findMissing();
  const plan = installPlan({
    missing,
    isRoot: process.getuid?.() === 0,
    passwordlessSudo: process.getuid?.() !== 0 && commandWorks("sudo", ["-n", "true"]),
    hasAptGet: fs.existsSync("/usr/bin/apt-get"),
    installAllowed: process.env.R2E_TEST_INSTALL !== "0",
  });
  if (plan.action === "install") {
    const started = performance.now();
    console.log(`[setup] installing the clients some tests drive: ${missing.join(", ")} (apt-get)…`);
    const [command, ...args] = plan.command;
    const result = spawnSync(command as string, args, {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (result.status !== 0) console.log(`[setup] apt-get failed (exit ${result.status ?? result.signal})`);
    else console.log(`[setup] installed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const still = plan.action === "none" ? [] : findMissing();
  if (still.length > 0) {
    const why = plan.action === "leave" ? ` (not installed: ${plan.reason})` : "";
    console.log(
      underCi()
        ? `[setup] missing under CI: ${still.join(", ")}${why}; the tests that need them will fail. Install with: ${installLine(still)}`
        : `[setup] missing: ${still.join(", ")}${why}; the tests that need them are skipped. Install with: sudo ${installLine(still)}`,
    );
  }
  return still;
}

export default async function setup(): Promise<void> {
  process.env[MISSING_ENV] = prepareClients().join(",");
  process.env.R2E_E2E_DIST = await bundlesUnderTest();
}
