/**
 * The Debian programs some tests drive (real S3 clients, a real proxy, the shell tools of the docs,
 * a real browser),
 * in one table. The suite's global set-up installs the missing ones when it may (root, or sudo
 * without a password) and records what is still missing; a test that needs one calls `needClients`,
 * which skips it with the install line on a developer's machine and fails it under CI, where nothing
 * may be skipped for a missing client.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import type { TestContext } from "vitest";

export interface ClientSpec {
  /** The Debian package that provides it (`.ci/run` installs the same list). */
  pkg: string;
  /** Where the tests look for it; the first that exists wins. */
  paths: string[];
  /** A command that must succeed for the client to count as present (e.g. a Python module import). */
  probe?: string[];
}

export const CLIENTS = {
  aws: { pkg: "awscli", paths: ["/usr/bin/aws"] },
  rclone: { pkg: "rclone", paths: ["/usr/bin/rclone"] },
  tinyproxy: { pkg: "tinyproxy", paths: ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"] },
  boto3: {
    pkg: "python3-boto3",
    paths: ["/usr/bin/python3"],
    probe: ["/usr/bin/python3", "-c", "import boto3"],
  },
  curl: { pkg: "curl", paths: ["/usr/bin/curl"] },
  jq: { pkg: "jq", paths: ["/usr/bin/jq"] },
  // Driven by playwright-core, which never downloads a browser of its own.
  chromium: { pkg: "chromium", paths: ["/usr/bin/chromium"] },
} as const satisfies Record<string, ClientSpec>;
export type ClientName = keyof typeof CLIENTS;
export const CLIENT_NAMES = Object.keys(CLIENTS) as ClientName[];

/** The variable through which the global set-up tells the test workers what it could not install. */
export const MISSING_ENV = "R2E_MISSING_CLIENTS";

/** Where a client is installed, or undefined. */
export function clientPath(name: ClientName): string | undefined {
  const spec: ClientSpec = CLIENTS[name];
  const found = spec.paths.find((candidate) => fs.existsSync(candidate));
  if (!found || !spec.probe) return found;
  const [command, ...args] = spec.probe;
  const probe = spawnSync(command as string, args, { stdio: "ignore", timeout: 20_000 });
  return probe.status === 0 ? found : undefined;
}

export function findMissing(names: readonly ClientName[] = CLIENT_NAMES): ClientName[] {
  return names.filter((name) => clientPath(name) === undefined);
}

export function installLine(names: readonly ClientName[]): string {
  return `apt-get install -y --no-install-recommends ${[...new Set(names.map((n) => CLIENTS[n].pkg))].join(" ")}`;
}

/** True under CI (any non-empty CI other than "false"/"0"), where a missing client fails its tests. */
export function underCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = (env.CI ?? "").trim().toLowerCase();
  return value !== "" && value !== "false" && value !== "0";
}

export type InstallPlan =
  | { action: "none" }
  | { action: "install"; command: string[] }
  | { action: "leave"; reason: string };

/**
 * What the global set-up does about missing clients. It installs only without asking anyone for a
 * password: as root, or through `sudo -n` when that works; R2E_TEST_INSTALL=0 turns installing off.
 */
export function installPlan(options: {
  missing: readonly ClientName[];
  isRoot: boolean;
  passwordlessSudo: boolean;
  hasAptGet: boolean;
  installAllowed: boolean;
}): InstallPlan {
  if (options.missing.length === 0) return { action: "none" };
  if (!options.installAllowed) return { action: "leave", reason: "R2E_TEST_INSTALL=0" };
  if (!options.hasAptGet) return { action: "leave", reason: "this machine has no apt-get" };
  const packages = [...new Set(options.missing.map((n) => CLIENTS[n].pkg))];
  const sudo = options.isRoot ? [] : options.passwordlessSudo ? ["sudo", "-n"] : undefined;
  if (!sudo) return { action: "leave", reason: "not root, and sudo needs a password" };
  return {
    action: "install",
    command: [
      ...sudo,
      "sh",
      "-c",
      `apt-get update -qq && apt-get install -y -qq --no-install-recommends ${packages.join(" ")}`,
    ],
  };
}

function missingNow(): Set<string> {
  const recorded = process.env[MISSING_ENV];
  // Without the global set-up (a file run on its own by other means), look for ourselves.
  return new Set(recorded === undefined ? findMissing() : recorded.split(",").filter(Boolean));
}

/**
 * At the start of a test: skips it with the install line when a client it needs is missing (fails
 * it instead under CI). Returns nothing; the test goes on only when every client is there.
 */
export function needClients(ctx: Pick<TestContext, "skip">, ...names: ClientName[]): void {
  const absent = missingNow();
  const missing = names.filter((name) => absent.has(name));
  if (missing.length === 0) return;
  const message = `needs ${missing.join(", ")}: ${installLine(missing)}`;
  if (underCi()) throw new Error(`Missing under CI, where nothing may be skipped: ${message}`);
  ctx.skip(message);
}

/** The client's path, failing loudly when a test forgot to declare it with `needClients`. */
export function requireClient(name: ClientName): string {
  const found = clientPath(name);
  if (!found) throw new Error(`${name} is missing: ${installLine([name])} (declare it with needClients)`);
  return found;
}
