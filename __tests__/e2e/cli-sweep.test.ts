// `r2-ephemeral-credentials sweep` end to end: a mix of tokens on the emulator — this tool's expired
// and old children, look-alikes that are not this tool's, other tools' tokens, another owner's
// tokens and the calling token — and the CLI must delete exactly this tool's expired/old ones.
//
// The emulator refuses an `expires_on` in the past, even when seeding (emulator/tokens.ts
// checkTimes), so "expired" tokens are seeded to expire ~1 s after the start and the file waits
// for that once.
import { beforeAll, describe, expect, test } from "vitest";
import type { SeededToken } from "../../emulator/types.js";
import { apiFlags, cliEnv, describeCli, runCli } from "../helpers/cli.js";
import { bucketResource, callSequence, callsTo, ITEM_READ_GROUP } from "../helpers/emulator.js";
import { useEmulator } from "../helpers/use-emulator.js";

const emu = useEmulator({
  minters: [
    { scope: "account", name: "ci minter" },
    { scope: "user", name: "ci user minter" },
  ],
});

let seededAt: number;

interface Seeded {
  id: string;
  name: string;
}
const t: Record<string, Seeded> = {};

const HOUR = 3_600_000;
const EXPIRY_MS = 1_000;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function seed(
  key: string,
  name: string,
  expiresOn: string | undefined,
  scope: "account" | "user" = "account",
): void {
  const token = emu.emulator.seedToken({
    scope,
    name,
    ...(expiresOn ? { expiresOn } : {}),
    policies: [
      {
        effect: "allow",
        permission_groups: [{ id: ITEM_READ_GROUP }],
        resources: { [bucketResource(emu.emulator.accountId, "some-bucket")]: "*" },
      },
    ],
  });
  t[key] = { id: token.id, name };
}

function alive(): Set<string> {
  return new Set(emu.emulator.liveTokens().map((token) => token.id));
}

interface Row {
  id: string;
  name: string;
  issuedOn: string;
  expiresOn: string;
  reason: string;
  result: string;
}

/** The table's data rows as [id, result, …rest of the line]. */
function tableRows(stdout: string): string[][] {
  const [header, ...rows] = stdout.trimEnd().split("\n");
  expect(header).toMatch(/^TOKEN ID\s+RESULT\s+REASON\s+EXPIRES\s+NAME$/);
  return rows.map((row) => row.split(/\s{2,}/));
}

beforeAll(async () => {
  const now = Date.now();
  seededAt = now;
  const soon = iso(now + EXPIRY_MS);
  const later = iso(now + HOUR);
  // This tool's children (default prefix + 8-hex mint id).
  seed("expiredOurs", "r2-ephemeral octo/repo run 1.1 job 0a1b2c3d", soon);
  seed("expiredOurs2", "r2-ephemeral cli alice@laptop 7f00aa11", soon);
  seed("liveOurs", "r2-ephemeral octo/repo run 2.1 job 4e5f6a7b", later);
  seed("noExpiryOurs", "r2-ephemeral octo/repo run 3.1 job 9c8d7e6f", undefined);
  // Look-alikes: never this tool's.
  seed("noMintId", "r2-ephemeral octo/repo run 1.1 job", soon);
  seed("upperHex", "r2-ephemeral octo/repo run 1.1 job 0A1B2C3D", soon);
  seed("sevenHex", "r2-ephemeral octo/repo run 1.1 job 0a1b2c3", soon);
  seed("nearPrefix", "r2-ephemeral-backup 0a1b2c3d", soon);
  seed("otherTool", "terraform deploy 0a1b2c3d", soon);
  seed("midName", "my r2-ephemeral octo/repo 0a1b2c3d", soon);
  // A custom token-name prefix (swept only with --prefix).
  seed("customOurs", "nightly-sync 5a6b7c8d", soon);
  seed("customLive", "nightly-sync 6b7c8d9e", later);
  // Another owner: an account sweep must not see it.
  seed("userOurs", "r2-ephemeral octo/repo run 1.1 job 1a2b3c4d", soon, "user");
  // Tokens this tool did not make, of shapes it does not model (OAuth-provisioned, newer fields,
  // sparse): one of them once made the whole page unreadable, and sweep with it.
  emu.emulator.seedOddTokens(40);
  // Wait until the "soon" ones have expired (and every seeded token is > 1 s old).
  await new Promise((resolve) => setTimeout(resolve, seededAt + EXPIRY_MS + 300 - Date.now()));
});

function sweep(args: string[], token: SeededToken = emu.minter) {
  return runCli(["sweep", ...args, ...apiFlags(emu.emulator)], { env: cliEnv(emu.emulator, token) });
}

describe("sweep", () => {
  // The cases share the seeded world and run in order: each one starts from what the last one left.
  test("--dry-run lists this tool's expired children and deletes nothing", async () => {
    const before = alive();
    const result = await sweep(["--dry-run"]);
    expect(result.exitCode, describeCli(result)).toBe(0);
    const rows = tableRows(result.stdout);
    expect(rows.map((row) => row[0]).sort()).toEqual([t.expiredOurs?.id, t.expiredOurs2?.id].sort());
    for (const row of rows) {
      expect(row[1]).toBe("would delete");
      expect(row[2]).toBe("expired");
    }
    expect(result.stdout).toContain(t.expiredOurs?.name);
    expect(callsTo(emu.emulator, "tokens.delete")).toEqual([]);
    expect(alive()).toEqual(before);
    expect(result.stderr).not.toContain(emu.minter.value);
  });

  test("deletes ONLY this tool's expired children: not live ones, look-alikes, other tools, other owners, or the caller", async () => {
    const result = await sweep([]);
    expect(result.exitCode, describeCli(result)).toBe(0);
    const rows = tableRows(result.stdout);
    expect(rows.map((row) => [row[0], row[1], row[2]]).sort()).toEqual(
      [
        [t.expiredOurs?.id, "deleted", "expired"],
        [t.expiredOurs2?.id, "deleted", "expired"],
      ].sort(),
    );
    const deleted = callsTo(emu.emulator, "tokens.delete").map((call) => call.path.split("/").pop());
    expect(deleted.sort()).toEqual([t.expiredOurs?.id, t.expiredOurs2?.id].sort());
    const left = alive();
    expect(left.has(t.expiredOurs?.id as string)).toBe(false);
    expect(left.has(t.expiredOurs2?.id as string)).toBe(false);
    for (const key of [
      "liveOurs",
      "noExpiryOurs",
      "noMintId",
      "upperHex",
      "sevenHex",
      "nearPrefix",
      "otherTool",
      "midName",
      "customOurs",
      "customLive",
      "userOurs",
    ]) {
      expect(left.has(t[key]?.id as string), `${key} (${t[key]?.name}) must survive`).toBe(true);
    }
    expect(left.has(emu.minter.id)).toBe(true);
    expect(left.has(emu.userMinter.id)).toBe(true);
  });

  test("a second run finds nothing and says so", async () => {
    const result = await sweep([]);
    expect(result.exitCode, describeCli(result)).toBe(0);
    expect(result.stdout).toMatch(/^No child tokens to sweep\.\n$/);
    // One verify (to never sweep the calling token itself), then the list: nothing deleted.
    expect(
      callSequence(emu.emulator).filter(
        (call) => !call.startsWith("tokens.list") && !call.startsWith("tokens.verify"),
      ),
    ).toEqual([]);
  });

  test("--older-than 1h keeps children issued seconds ago", async () => {
    const result = await sweep(["--older-than", "1h"]);
    expect(result.exitCode, describeCli(result)).toBe(0);
    expect(result.stdout).toMatch(/^No child tokens to sweep\./);
    expect(callsTo(emu.emulator, "tokens.delete")).toEqual([]);
  });

  test("--older-than 1s --format json deletes this tool's live children too (with or without expiry), as JSON", async () => {
    expect(Date.now() - seededAt).toBeGreaterThan(1_000);
    const result = await sweep(["--older-than", "1s", "--format", "json"]);
    expect(result.exitCode, describeCli(result)).toBe(0);
    const rows = JSON.parse(result.stdout) as Row[];
    expect(rows.map((row) => row.id).sort()).toEqual([t.liveOurs?.id, t.noExpiryOurs?.id].sort());
    for (const row of rows) {
      expect(row.result).toBe("deleted");
      expect(row.reason).not.toBe("expired");
      expect(Object.keys(row).sort()).toEqual(["expiresOn", "id", "issuedOn", "name", "reason", "result"]);
    }
    expect(rows.find((row) => row.id === t.liveOurs?.id)?.name).toBe(t.liveOurs?.name);
    const left = alive();
    expect(left.has(t.liveOurs?.id as string)).toBe(false);
    expect(left.has(t.noExpiryOurs?.id as string)).toBe(false);
    for (const key of [
      "noMintId",
      "upperHex",
      "sevenHex",
      "nearPrefix",
      "otherTool",
      "midName",
      "customOurs",
    ]) {
      expect(left.has(t[key]?.id as string), `${key} must survive`).toBe(true);
    }
    expect(left.has(emu.minter.id)).toBe(true);
  });

  test("--prefix sweeps children named with a custom token-name (expired only, without --older-than)", async () => {
    const dry = await sweep(["--prefix", "nightly-sync ", "--dry-run", "--format", "json"]);
    expect(dry.exitCode, describeCli(dry)).toBe(0);
    expect((JSON.parse(dry.stdout) as Row[]).map((row) => [row.id, row.result])).toEqual([
      [t.customOurs?.id, "would delete"],
    ]);
    expect(callsTo(emu.emulator, "tokens.delete")).toEqual([]);

    const result = await sweep(["--prefix", "nightly-sync "]);
    expect(result.exitCode, describeCli(result)).toBe(0);
    expect(tableRows(result.stdout).map((row) => [row[0], row[1]])).toEqual([[t.customOurs?.id, "deleted"]]);
    const left = alive();
    expect(left.has(t.customOurs?.id as string)).toBe(false);
    expect(left.has(t.customLive?.id as string)).toBe(true);
    expect(left.has(t.otherTool?.id as string)).toBe(true);
  });

  test("--token-scope user sweeps the user's children with a user token", async () => {
    const result = await sweep(["--token-scope", "user"], emu.userMinter);
    expect(result.exitCode, describeCli(result)).toBe(0);
    expect(tableRows(result.stdout).map((row) => [row[0], row[1]])).toEqual([[t.userOurs?.id, "deleted"]]);
    expect(callsTo(emu.emulator, "tokens.list").every((call) => call.path.startsWith("/user/tokens"))).toBe(
      true,
    );
    expect(alive().has(emu.userMinter.id)).toBe(true);
  });

  test("the calling token itself is never swept, even when its name matches the prefix", async () => {
    // An operator's minter named like a custom-prefixed child: sweeping it would lock them out.
    const caller = emu.emulator.seedToken({
      scope: "account",
      preset: "minter",
      name: "ops r2 minter 1a2b3c4d",
    });
    const sibling = emu.emulator.seedToken({
      scope: "account",
      name: "ops deploy 2b3c4d5e",
      policies: [
        {
          effect: "allow",
          permission_groups: [{ id: ITEM_READ_GROUP }],
          resources: { [bucketResource(emu.emulator.accountId, "some-bucket")]: "*" },
        },
      ],
    });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const result = await sweep(["--prefix", "ops ", "--older-than", "1s", "--format", "json"], caller);
    expect(result.exitCode, describeCli(result)).toBe(0);
    const rows = JSON.parse(result.stdout) as Row[];
    expect(rows.map((row) => row.id)).toEqual([sibling.id]);
    expect(alive().has(caller.id), "the calling token was deleted by its own sweep").toBe(true);
  });
});
