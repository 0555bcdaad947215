// Secrets and input errors, end to end with RUNNER_DEBUG=1 (debug lines are where leaks hide):
// - the input token and the derived secret access key are masked before anything can carry them,
//   and never reach the state, the summary, stderr, annotations or the post step's output;
// - a bad input fails the step with one ::error:: naming the input, before any Cloudflare call.
import { describe, expect, test } from "vitest";
import type { SeededToken } from "../../emulator/types.js";
import { describeStep, errorLines, type Inputs, runJob, runMain } from "../../scripts/harness/runner.js";
import { bucketName, cloudflareApi, emulatorInputs, liveChildIds } from "../helpers/emulator.js";
import { secretScan } from "../helpers/secret-scan.js";
import { useEmulator } from "../helpers/use-emulator.js";

const emu = useEmulator({ minters: ["account", "user"] });

describe("mask first", () => {
  test("masks the secret access key before writing it to GITHUB_OUTPUT or GITHUB_ENV", async () => {
    const bucket = bucketName("mask");
    await emu.emulator.createBucket(bucket);
    const job = await runJob({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket, { permission: "object-read-write" }),
      debug: true,
      traceFileWrites: true,
    });
    expect(job.main.exitCode, describeStep(job.main)).toBe(0);
    expect(job.post.exitCode, describeStep(job.post)).toBe(0);
    const secret = job.main.outputs["secret-access-key"] as string;
    expect(secret).toMatch(/^[0-9a-f]{64}$/);

    // The trace saw the writes that carry the secret (so the ordering below was really checked) …
    const lines = job.main.stdout.split("\n");
    const outputWrite = lines.findIndex((line) =>
      /^##trace-file-write output \S*secret-access-key/.test(line),
    );
    const envWrite = lines.findIndex((line) => /^##trace-file-write env \S*AWS_SECRET_ACCESS_KEY/.test(line));
    expect(outputWrite, "no traced write of the secret-access-key output").toBeGreaterThan(-1);
    expect(envWrite, "no traced export of AWS_SECRET_ACCESS_KEY").toBeGreaterThan(-1);
    // … and the mask came first, before any line that mentions the secret.
    const mask = lines.indexOf(`::add-mask::${secret}`);
    expect(mask, "the secret access key is never masked").toBeGreaterThan(-1);
    expect(mask).toBeLessThan(outputWrite);
    expect(mask).toBeLessThan(envWrite);
    const firstMention = lines.findIndex((line) => line.includes(secret));
    expect(firstMention).toBe(mask);

    secretScan(job, { "api-token input": emu.minter.value, "secret access key": secret });
    // @actions/core@3 writes files; the deprecated stdout commands would print values in clear.
    expect(job.main.stdout).not.toMatch(/^::(set-output|save-state|set-env)/m);
  });

  test.each<[string, () => Promise<{ token: SeededToken; inputs: Inputs }>]>([
    [
      "object-read-only on two buckets",
      async () => {
        const [a, b] = [bucketName("sa"), bucketName("sb")];
        await emu.emulator.createBucket(a);
        await emu.emulator.createBucket(b);
        return { token: emu.minter, inputs: emulatorInputs(emu.emulator, emu.minter, `${a},${b}`) };
      },
    ],
    [
      "a user-owned child token",
      async () => {
        const bucket = bucketName("su");
        await emu.emulator.createBucket(bucket);
        return {
          token: emu.userMinter,
          inputs: emulatorInputs(emu.emulator, emu.userMinter, bucket, { "token-scope": "user" }),
        };
      },
    ],
    [
      "an EU bucket",
      async () => {
        const bucket = bucketName("seu");
        await emu.emulator.createBucket(bucket, "eu");
        return {
          token: emu.minter,
          inputs: emulatorInputs(emu.emulator, emu.minter, bucket, { jurisdiction: "eu" }),
        };
      },
    ],
    [
      "revoke false",
      async () => {
        const bucket = bucketName("skeep");
        await emu.emulator.createBucket(bucket);
        return {
          token: emu.minter,
          inputs: emulatorInputs(emu.emulator, emu.minter, bucket, { revoke: "false" }),
        };
      },
    ],
    [
      "export-env false",
      async () => {
        const bucket = bucketName("snoenv");
        await emu.emulator.createBucket(bucket);
        return {
          token: emu.minter,
          inputs: emulatorInputs(emu.emulator, emu.minter, bucket, { "export-env": "false" }),
        };
      },
    ],
  ])("leaks no secret with %s (RUNNER_DEBUG=1)", async (_scenario, setup) => {
    const { token, inputs } = await setup();
    const job = await runJob({ inputs, debug: true });
    expect(job.main.exitCode, describeStep(job.main)).toBe(0);
    expect(job.post.exitCode, describeStep(job.post)).toBe(0);
    secretScan(job, {
      "api-token input": token.value,
      "secret access key": job.main.outputs["secret-access-key"] ?? "",
    });
    if (inputs.revoke === "false") {
      // Kept on purpose: delete it by hand.
      const tokenId = job.main.outputs["token-id"] as string;
      const path = `/accounts/${emu.emulator.accountId}/tokens/${tokenId}`;
      expect((await cloudflareApi(emu.emulator, token, "DELETE", path)).status).toBe(200);
    }
  });

  test("leaks no secret when token creation is refused (RUNNER_DEBUG=1)", async () => {
    const bucket = bucketName("sdeny");
    await emu.emulator.createBucket(bucket);
    const weak = await emu.emulator.seedToken({ scope: "account", preset: "no-permissions" });
    const job = await runJob({ inputs: emulatorInputs(emu.emulator, weak, bucket), debug: true });
    expect(job.main.exitCode, describeStep(job.main)).toBe(1);
    expect(job.post.exitCode, describeStep(job.post)).toBe(0);
    secretScan(job, { "api-token input": weak.value });
  });

  test("leaks no secret when the readiness wait times out (RUNNER_DEBUG=1)", async () => {
    emu.emulator.set({ propagationDelayMs: 10_000 });
    const bucket = bucketName("stimeout");
    await emu.emulator.createBucket(bucket);
    const job = await runJob({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket, { "wait-timeout": "1" }),
      debug: true,
    });
    expect(job.main.exitCode, describeStep(job.main)).toBe(1);
    expect(job.post.exitCode, describeStep(job.post)).toBe(0);
    secretScan(job, { "api-token input": emu.minter.value });
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });

  test("masks an api-token given through CLOUDFLARE_API_TOKEN", async () => {
    const bucket = bucketName("senv");
    await emu.emulator.createBucket(bucket);
    const job = await runJob({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket, { "api-token": "" }),
      env: { CLOUDFLARE_API_TOKEN: emu.minter.value },
      debug: true,
    });
    expect(job.main.exitCode, describeStep(job.main)).toBe(0);
    secretScan(job, {
      "api-token (env)": emu.minter.value,
      "secret access key": job.main.outputs["secret-access-key"] ?? "",
    });
  });
});

describe("input errors fail before any Cloudflare call", () => {
  // [scenario, input overrides, inputs the error must name, value it must quote]
  const cases: [string, Inputs, string[], string | undefined][] = [
    ["a bucket name with upper case and underscore", { bucket: "Bad_Bucket" }, ["bucket"], "Bad_Bucket"],
    ["a bucket name that is too short", { bucket: "ab" }, ["bucket"], "ab"],
    ["a ttl that is not a duration", { ttl: "1h30x" }, ["ttl"], "1h30x"],
    ["a ttl under 60 s", { ttl: "30s" }, ["ttl"], "30s"],
    ["a ttl over 7 days", { ttl: "8d" }, ["ttl"], "8d"],
    ["an unknown permission", { permission: "admin" }, ["permission"], "admin"],
    ["an unknown jurisdiction", { jurisdiction: "mars" }, ["jurisdiction"], "mars"],
    ["an unknown token-scope", { "token-scope": "org" }, ["token-scope"], "org"],
    ["an unknown mode", { mode: "session" }, ["mode"], "session"],
    ["a wait-timeout that is not a number", { "wait-timeout": "soon" }, ["wait-timeout"], "soon"],
    ["an export-env that is not a boolean", { "export-env": "yes" }, ["export-env"], "yes"],
    ["a revoke that is not a boolean", { revoke: "nope" }, ["revoke"], "nope"],
    [
      "an account-id that is not 32 lower-case hex",
      { "account-id": "ABCDEF0123" },
      ["account-id"],
      "ABCDEF0123",
    ],
    ["an unknown location-hint", { "location-hint": "mars" }, ["location-hint"], "mars"],
    [
      "several buckets in temporary mode",
      { bucket: "one-bkt,two-bkt", mode: "temporary" },
      ["bucket", "mode"],
      undefined,
    ],
    [
      "several buckets with prefixes",
      { bucket: "one-bkt,two-bkt", prefixes: "logs/" },
      ["bucket", "prefixes"],
      undefined,
    ],
    [
      "several buckets with objects",
      { bucket: "one-bkt,two-bkt", objects: "a.txt" },
      ["bucket", "objects"],
      undefined,
    ],
    [
      "several buckets with an admin permission",
      { bucket: "one-bkt,two-bkt", permission: "admin-read-write" },
      ["bucket", "permission"],
      undefined,
    ],
    [
      "parent-access-key-id in token mode",
      { "parent-access-key-id": "0123456789abcdef0123456789abcdef" },
      ["parent-access-key-id", "mode"],
      undefined,
    ],
  ];

  test.each(cases)("refuses %s", async (_scenario, overrides, names, quoted) => {
    const main = await runMain({
      inputs: emulatorInputs(emu.emulator, emu.minter, "valid-bucket", overrides),
      debug: true,
    });
    expect(main.exitCode, describeStep(main)).toBe(1);
    const errors = errorLines(main);
    expect(errors, describeStep(main)).toHaveLength(1);
    for (const name of names) expect(errors[0]).toContain(name);
    if (quoted !== undefined) expect(errors[0]).toContain(quoted);
    expect(errors[0]).not.toMatch(/\n\s+at /);
    expect(emu.emulator.calls).toEqual([]);
    expect(emu.emulator.s3Calls).toEqual([]);
    expect(main.outputs["access-key-id"] ?? "").toBe("");
    secretScan(main, { "api-token input": emu.minter.value }, { requireMask: false });
  });

  test("an empty api-token without CLOUDFLARE_API_TOKEN explains that forks and Dependabot get no secrets", async () => {
    const main = await runMain({
      inputs: emulatorInputs(emu.emulator, emu.minter, "valid-bucket", { "api-token": "" }),
    });
    expect(main.exitCode, describeStep(main)).toBe(1);
    const errors = errorLines(main);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("api-token");
    expect(errors[0]).toMatch(/fork/i);
    expect(errors[0]).toMatch(/dependabot/i);
    expect(emu.emulator.calls).toEqual([]);
  });

  test("an empty account-id without CLOUDFLARE_ACCOUNT_ID names the input", async () => {
    const main = await runMain({
      inputs: emulatorInputs(emu.emulator, emu.minter, "valid-bucket", { "account-id": "" }),
    });
    expect(main.exitCode, describeStep(main)).toBe(1);
    const errors = errorLines(main);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("account-id");
    expect(emu.emulator.calls).toEqual([]);
    secretScan(main, { "api-token input": emu.minter.value }, { requireMask: false });
  });
});
