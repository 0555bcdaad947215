// `r2-ephemeral-credentials doctor` against a matrix of seeded tokens: for each, doctor's verdicts are
// pinned, and then compared with actually attempting every capability with that token through the
// CLI (mint in each mode, rescope, sweep) and the API (create a bucket): "possible" must succeed,
// "impossible" must fail; "undecided" may go either way. Doctor itself only reads (GET calls only),
// and its exit code is 0, 1, 3 or, for its own failures, 2.
import { randomBytes } from "node:crypto";
import { describe, expect, test } from "vitest";
import { PERMISSION_GROUPS } from "../../emulator/permission-groups.js";
import type { PolicyInput, SeededToken } from "../../emulator/types.js";
import { apiFlags, type CliResult, cliEnv, describeCli, mintFlags, runCli } from "../helpers/cli.js";
import { bucketName, bucketResource } from "../helpers/emulator.js";
import { useEmulator } from "../helpers/use-emulator.js";

const bucket = bucketName("doctor");
const emu = useEmulator({
  buckets: [bucket],
  minters: ["account", "user"],
  leftovers: "delete",
  // Only an account-level Storage Write token may ask for temporary credentials, as conformance
  // check temp-creds-callers found on Cloudflare; doctor's verdicts rest on that.
  tempCredentialCallers: "storage-write",
});

const CAPABILITIES = ["token", "hybrid", "temporary", "create-bucket", "rescope", "sweep"] as const;
type Capability = (typeof CAPABILITIES)[number];
type Status = "possible" | "impossible" | "undecided";

interface Verdict {
  capability: Capability;
  bucket?: string;
  status: Status;
  basis: "known" | "inferred";
  because: string;
  missing: { group: string; resource: string }[];
  checks: string[];
}
interface Report {
  token: { id?: string; owner?: string; policies: string };
  verdicts: Verdict[];
  exitCode: number;
}

function group(key: string): { id: string } {
  const found = PERMISSION_GROUPS.find((g) => g.key === key);
  if (!found) throw new Error(`no group ${key}`);
  return { id: found.id };
}
const account = () => ({ [`com.cloudflare.api.account.${emu.emulator.accountId}`]: "*" });
const onBucket = () => ({ [bucketResource(emu.emulator.accountId, bucket)]: "*" });
const allow = (keys: string[], resources: Record<string, string>): PolicyInput => ({
  effect: "allow",
  permission_groups: keys.map(group),
  resources,
});

interface Case {
  name: string;
  scope: "account" | "user";
  seed: () => SeededToken;
  permission: "object-read-only" | "object-read-write";
  expected: Record<Capability, Status>;
  basis: "known" | "inferred";
  exitCode: number;
}

const everything = (status: Status) =>
  Object.fromEntries(CAPABILITIES.map((c) => [c, status])) as Record<Capability, Status>;

const CASES: Case[] = [
  {
    name: "minter (Account API Tokens Write + Workers R2 Storage Write on the account)",
    scope: "account",
    seed: () => emu.emulator.seedToken({ scope: "account", preset: "minter" }),
    permission: "object-read-write",
    expected: everything("possible"),
    basis: "known",
    exitCode: 0,
  },
  {
    name: "user-minter (API Tokens Write on the user + Storage Write), found on the user endpoint",
    scope: "user",
    seed: () => emu.emulator.seedToken({ scope: "user", preset: "user-minter" }),
    permission: "object-read-write",
    expected: everything("possible"),
    basis: "known",
    exitCode: 0,
  },
  {
    name: "tokens write + item write on the bucket (no account-level R2)",
    scope: "account",
    seed: () =>
      emu.emulator.seedToken({
        scope: "account",
        policies: [allow(["account.tokens.write"], account()), allow(["r2.bucket.item.write"], onBucket())],
      }),
    permission: "object-read-write",
    expected: {
      token: "possible",
      hybrid: "impossible",
      temporary: "impossible",
      "create-bucket": "impossible",
      rescope: "possible",
      sweep: "possible",
    },
    basis: "known",
    exitCode: 1,
  },
  {
    name: "tokens read + Storage Write (can mint temporary credentials, not children)",
    scope: "account",
    seed: () =>
      emu.emulator.seedToken({
        scope: "account",
        policies: [allow(["account.tokens.read", "r2.storage.write"], account())],
      }),
    permission: "object-read-write",
    expected: {
      token: "impossible",
      hybrid: "impossible",
      temporary: "possible",
      "create-bucket": "possible",
      rescope: "impossible",
      sweep: "impossible",
    },
    basis: "known",
    exitCode: 1,
  },
  {
    name: "tokens write + Storage Read, asked for object-read-write (may grant only what it holds)",
    scope: "account",
    seed: () =>
      emu.emulator.seedToken({
        scope: "account",
        policies: [allow(["account.tokens.write", "r2.storage.read"], account())],
      }),
    permission: "object-read-write",
    expected: {
      token: "impossible",
      hybrid: "impossible",
      temporary: "impossible",
      "create-bucket": "impossible",
      rescope: "impossible",
      sweep: "possible",
    },
    basis: "known",
    exitCode: 1,
  },
  {
    name: "r2-admin (Storage Write only): its policies are unreadable, so inferred",
    scope: "account",
    seed: () => emu.emulator.seedToken({ scope: "account", preset: "r2-admin" }),
    permission: "object-read-write",
    expected: {
      token: "impossible",
      hybrid: "impossible",
      temporary: "undecided",
      "create-bucket": "undecided",
      rescope: "impossible",
      sweep: "impossible",
    },
    basis: "inferred",
    exitCode: 1,
  },
  {
    name: "r2-bucket-write (item write on the bucket only): inferred from refused lists",
    scope: "account",
    seed: () => emu.emulator.seedToken({ scope: "account", preset: "r2-bucket-write", buckets: [bucket] }),
    permission: "object-read-write",
    expected: {
      token: "impossible",
      hybrid: "impossible",
      temporary: "impossible",
      "create-bucket": "impossible",
      rescope: "impossible",
      sweep: "impossible",
    },
    basis: "inferred",
    exitCode: 1,
  },
  {
    name: "no-permissions",
    scope: "account",
    seed: () => emu.emulator.seedToken({ scope: "account", preset: "no-permissions" }),
    permission: "object-read-only",
    expected: everything("impossible"),
    basis: "inferred",
    exitCode: 1,
  },
];

function env(token: SeededToken): Record<string, string> {
  return cliEnv(emu.emulator, token);
}

async function doctor(
  token: SeededToken,
  args: string[] = [],
): Promise<{ result: CliResult; report: Report }> {
  const result = await runCli(["doctor", "--format", "json", ...apiFlags(emu.emulator), ...args], {
    env: env(token),
  });
  if (![0, 1, 3].includes(result.exitCode ?? -1)) throw new Error(describeCli(result));
  return { result, report: JSON.parse(result.stdout) as Report };
}

/** Tries the capability for real with the token; true when it worked. */
async function attempt(capability: Capability, token: SeededToken, c: Case): Promise<boolean> {
  const scope = ["--token-scope", c.scope];
  const mint = async (extra: string[]) =>
    (
      await runCli(
        [
          "mint",
          "--bucket",
          bucket,
          "--permission",
          c.permission,
          ...scope,
          ...mintFlags(emu.emulator),
          ...extra,
        ],
        { env: env(token) },
      )
    ).exitCode === 0;
  switch (capability) {
    case "token":
      return mint([]);
    case "hybrid":
      return mint(["--prefixes", "doctor/"]);
    case "temporary":
      return mint(["--mode", "temporary"]);
    case "create-bucket": {
      const response = await fetch(`${emu.emulator.apiUrl}/accounts/${emu.emulator.accountId}/r2/buckets`, {
        method: "POST",
        headers: { authorization: `Bearer ${token.value}`, "content-type": "application/json" },
        body: JSON.stringify({ name: bucketName("doctor-new") }),
      });
      return response.ok;
    }
    case "rescope": {
      const victim = emu.emulator.seedToken({
        scope: c.scope,
        name: "doctor rescope victim",
        // The PUT writes the whole token back, so what it already has must be within the rescoping
        // token's own grants too: item read on the same bucket is.
        policies: [allow(["r2.bucket.item.read"], onBucket())],
      });
      const result = await runCli(
        [
          "rescope",
          "--token-id",
          victim.id,
          "--add-bucket",
          bucket,
          "--permission",
          c.permission,
          ...scope,
          ...apiFlags(emu.emulator),
        ],
        { env: env(token) },
      );
      return result.exitCode === 0;
    }
    case "sweep": {
      const prefix = `r2-ephemeral doctor-${randomBytes(3).toString("hex")} `;
      const victim = emu.emulator.seedToken({
        scope: c.scope,
        name: `${prefix}${randomBytes(4).toString("hex")}`,
        policies: [allow(["r2.bucket.item.read"], onBucket())],
      });
      const result = await runCli(
        ["sweep", "--older-than", "0s", "--prefix", prefix, ...scope, ...apiFlags(emu.emulator)],
        { env: env(token) },
      );
      return result.exitCode === 0 && !emu.emulator.liveTokens().some((t) => t.id === victim.id);
    }
  }
}

describe("doctor's verdicts match what the token can actually do", () => {
  test.each(CASES)("$name", async (c) => {
    const token = c.seed();
    const { result, report } = await doctor(token, ["--bucket", bucket, "--permission", c.permission]);
    expect(result.exitCode, describeCli(result)).toBe(c.exitCode);
    expect(report.exitCode).toBe(c.exitCode);
    expect(report.token.owner).toBe(c.scope);
    expect(report.token.policies).toBe(c.basis === "known" ? "read" : "unreadable");
    expect(Object.fromEntries(report.verdicts.map((v) => [v.capability, v.status]))).toEqual(c.expected);
    for (const verdict of report.verdicts) {
      expect(verdict.basis, verdict.capability).toBe(c.basis);
      expect(verdict.because.length).toBeGreaterThan(10);
      if (verdict.status === "impossible" && verdict.because.match(/do not let it|refused it/)) {
        expect(verdict.missing.length, `${verdict.capability} names what is missing`).toBeGreaterThan(0);
      }
    }
    // Doctor only reads.
    expect(
      emu.emulator.calls.every((call) => call.method === "GET"),
      JSON.stringify(emu.emulator.calls),
    ).toBe(true);

    for (const verdict of report.verdicts) {
      if (verdict.status === "undecided") continue;
      const worked = await attempt(verdict.capability, token, c);
      expect(worked, `${c.name}: doctor says ${verdict.capability} is ${verdict.status}`).toBe(
        verdict.status === "possible",
      );
    }
  });
});

describe("what doctor says", () => {
  test("missing groups in Cloudflare's names, on the exact resource; the conformance checks it rests on", async () => {
    const token = emu.emulator.seedToken({
      scope: "account",
      policies: [allow(["account.tokens.write"], account()), allow(["r2.bucket.item.write"], onBucket())],
    });
    const { report } = await doctor(token, ["--bucket", bucket, "--permission", "object-read-write"]);
    const verdict = (capability: Capability) => report.verdicts.find((v) => v.capability === capability);
    expect(verdict("create-bucket")?.missing).toEqual([
      { group: "Workers R2 Storage Write", resource: `com.cloudflare.api.account.${emu.emulator.accountId}` },
    ]);
    expect(verdict("hybrid")?.checks).toEqual(
      expect.arrayContaining(["temp-creds-callers", "bucket-scoped-rest-callers"]),
    );
    expect(verdict("token")?.checks).toContain("grant-within-holdings");
    expect(verdict("sweep")?.checks).toContain("tokens-write-covers-read");

    const inferred = await doctor(emu.emulator.seedToken({ scope: "account", preset: "no-permissions" }), [
      "--check",
      "token",
    ]);
    expect(inferred.report.verdicts).toHaveLength(1);
    expect(inferred.report.verdicts[0]?.because).toMatch(/refused it a list of its account tokens/);
    expect(inferred.report.verdicts[0]?.missing).toEqual([
      { group: "Account API Tokens Write", resource: `com.cloudflare.api.account.${emu.emulator.accountId}` },
    ]);
  });

  test("the text report: one line per verdict, the missing group, the checks; the other owner's 401 is a note, not a failure", async () => {
    const token = emu.emulator.seedToken({ scope: "user", preset: "user-minter" });
    const result = await runCli(["doctor", "--bucket", bucket, ...apiFlags(emu.emulator)], {
      env: env(token),
    });
    expect(result.exitCode, describeCli(result)).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(new RegExp(`^Token ${token.id} \\(user-owned, active\\)`));
    expect(result.stdout).toMatch(/^possible {4}token \(/m);
    expect(result.stdout).toMatch(
      /account verify endpoint does not know the token \(401\).*verify-cross-owner/,
    );
    expect(result.stdout.includes(token.value)).toBe(false);
  });

  test("without --bucket: a token with item groups on one bucket is possible only for it", async () => {
    const token = emu.emulator.seedToken({
      scope: "account",
      policies: [allow(["account.tokens.write"], account()), allow(["r2.bucket.item.write"], onBucket())],
    });
    const { report } = await doctor(token, ["--check", "token"]);
    expect(report.verdicts).toEqual([
      expect.objectContaining({ capability: "token", status: "possible", only: [bucket] }),
    ]);
  });

  test("--check limits the report; exit 3 when nothing is impossible but something is undecided", async () => {
    const token = emu.emulator.seedToken({ scope: "account", preset: "r2-admin" });
    const { result, report } = await doctor(token, ["--check", "temporary,create-bucket"]);
    expect(result.exitCode, describeCli(result)).toBe(3);
    expect(report.verdicts.map((v) => `${v.capability} ${v.status}`)).toEqual([
      "temporary undecided",
      "create-bucket undecided",
    ]);
  });

  test("an unknown or deleted token: everything impossible, exit 1", async () => {
    const { result, report } = await doctor({ id: "0".repeat(32), value: "cfat_not-a-real-token" });
    expect(result.exitCode, describeCli(result)).toBe(1);
    expect(report.verdicts.every((v) => v.status === "impossible")).toBe(true);
    expect(report.verdicts[0]?.because).toMatch(/verify answered 401/);
  });

  test("its own failures are exit 2: bad flags, an answer it cannot use", async () => {
    const token = emu.emulator.seedToken({ scope: "account", preset: "minter" });
    const bad = await runCli(["doctor", "--check", "everything", ...apiFlags(emu.emulator)], {
      env: env(token),
    });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--check.*"everything"/);
    // A 400 from verify is no verdict about the token (a refusal would be 401/403), and is not retried.
    emu.emulator.injectFault({
      route: "tokens.verify",
      kind: { type: "status", status: 400, errors: [{ code: 6003, message: "Invalid request headers" }] },
    });
    const failed = await runCli(["doctor", ...apiFlags(emu.emulator)], { env: env(token) });
    expect(failed.exitCode, describeCli(failed)).toBe(2);
    expect(failed.stdout).toBe("");
    expect(failed.stderr).toMatch(/error: Cloudflare API GET .*verify failed: HTTP 400/);
  });
});
