// Where the real Cloudflare most likely differs from what the emulator first guessed
// (docs/cloudflare-api.md §8), from the action's side: inputs as users copy them, no token in clear
// text, the checksum settings today's S3 clients need, permission-group self-heal on 403/9109 and
// 404, and deletes of tokens that are already gone. Run as the GitHub runner runs the bundle.
import { describe, expect, test } from "vitest";
import { describeStep, errorLines, runMain, runPost, warningLines } from "../../scripts/harness/runner.js";
import { apiFlags, cliEnv, describeCli, runCli } from "../helpers/cli.js";
import {
  bucketName,
  bucketResource,
  callSequence,
  callsTo,
  emulatorInputs,
  FORBIDDEN_9109,
  liveChildIds,
} from "../helpers/emulator.js";
import { useEmulator } from "../helpers/use-emulator.js";

const emu = useEmulator();

function newBucket(label: string): string {
  const bucket = bucketName(label);
  emu.emulator.createBucket(bucket);
  return bucket;
}

describe("inputs as users copy them", () => {
  test("location-hint in upper case (as Cloudflare's docs write WNAM) creates the bucket with the lower-case hint", async () => {
    const bucket = bucketName("hint");
    const main = await runMain({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket, {
        "create-bucket": "true",
        "location-hint": "WNAM",
        "wait-timeout": "0",
      }),
    });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(callsTo(emu.emulator, "r2.buckets.create")[0]?.body).toEqual({
      name: bucket,
      locationHint: "wnam",
    });
    const post = await runPost({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket),
      state: main.state,
    });
    expect(post.exitCode, describeStep(post)).toBe(0);
  });

  test("jurisdiction fedramp-high is named as not supported yet, before any call", async () => {
    const main = await runMain({
      inputs: emulatorInputs(emu.emulator, emu.minter, newBucket("fh"), { jurisdiction: "fedramp-high" }),
    });
    expect(main.exitCode).toBe(1);
    const errors = errorLines(main);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/Input jurisdiction is "fedramp-high", which is not supported yet/);
    expect(errors[0]).toMatch(/S3 endpoint is not documented/);
    expect(emu.emulator.calls).toEqual([]);
  });
});

describe("no token in clear text", () => {
  test.each([
    ["api-token travels to api-url", "api-url", "http://example.com/client/v4"],
    ["session tokens and data travel to s3-endpoint", "s3-endpoint", "http://bucket-proxy.example.com"],
  ])(
    "plain http off loopback is refused (%s), naming the input, before any call",
    async (_what, input, url) => {
      const main = await runMain({
        inputs: emulatorInputs(emu.emulator, emu.minter, newBucket("clear"), { [input]: url }),
      });
      expect(main.exitCode).toBe(1);
      const errors = errorLines(main);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(`Input ${input} is "${url}": plain http`);
      expect(errors[0]).toMatch(/Use https:\/\//);
      expect(emu.emulator.calls).toEqual([]);
      expect(emu.emulator.s3Calls).toEqual([]);
    },
  );

  test("vending-url in plain http off loopback is refused before the OIDC token is requested", async () => {
    const main = await runMain({
      inputs: { bucket: "any-bucket", "vending-url": "http://vend.example.com" },
    });
    expect(main.exitCode).toBe(1);
    expect(errorLines(main)[0]).toContain('Input vending-url is "http://vend.example.com": plain http');
  });

  test("plain http on loopback (localhost, 127.0.0.0/8, [::1]) is accepted", async () => {
    const bucket = newBucket("loop");
    const api = new URL(emu.emulator.apiUrl);
    for (const host of ["localhost", "127.0.0.1"]) {
      emu.emulator.resetCalls();
      const apiUrl = `http://${host}:${api.port}${api.pathname}`;
      const main = await runMain({
        inputs: emulatorInputs(emu.emulator, emu.minter, bucket, { "api-url": apiUrl, "wait-timeout": "0" }),
      });
      expect(main.exitCode, describeStep(main)).toBe(0);
      const tokenId = main.outputs["token-id"] as string;
      const post = await runPost({
        inputs: emulatorInputs(emu.emulator, emu.minter, bucket),
        state: main.state,
      });
      expect(post.exitCode).toBe(0);
      expect(liveChildIds(emu.emulator)).not.toContain(tokenId);
    }
  });
});

describe("the checksum settings today's S3 clients need", () => {
  test("are exported as when_required, except a setting the job's environment already has", async () => {
    const bucket = newBucket("cks");
    const main = await runMain({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket, { "wait-timeout": "0" }),
      env: { AWS_REQUEST_CHECKSUM_CALCULATION: "when_supported" },
    });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(main.env.AWS_REQUEST_CHECKSUM_CALCULATION).toBeUndefined();
    expect(main.env.AWS_RESPONSE_CHECKSUM_VALIDATION).toBe("when_required");
    expect(main.env.AWS_CREDENTIAL_EXPIRATION).toBe(main.outputs["expires-at"]);
    const post = await runPost({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket),
      state: main.state,
    });
    expect(post.exitCode).toBe(0);
  });

  test("export-env: false exports nothing at all", async () => {
    const bucket = newBucket("noexp");
    const main = await runMain({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket, {
        "export-env": "false",
        "wait-timeout": "0",
      }),
    });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(main.env).toEqual({});
    const post = await runPost({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket),
      state: main.state,
    });
    expect(post.exitCode).toBe(0);
  });
});

describe("deleting a token that is already gone", () => {
  test("post: a 403/9109 on DELETE of a child whose GET answers 404 is 'already gone', no warning", async () => {
    const bucket = newBucket("gone");
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, { "wait-timeout": "0" });
    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(0);
    const tokenId = main.outputs["token-id"] as string;
    // Someone (a sweep) deleted it already; this Cloudflare answers the second DELETE with 403/9109.
    await fetch(`${emu.emulator.apiUrl}/accounts/${emu.emulator.accountId}/tokens/${tokenId}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${emu.minter.value}` },
    });
    emu.emulator.resetCalls();
    emu.emulator.injectFault({
      route: "tokens.delete",
      kind: FORBIDDEN_9109,
    });
    const post = await runPost({ inputs, state: main.state });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(warningLines(post)).toEqual([]);
    expect(post.stdout).toContain(`Child token ${tokenId} was already gone.`);
    expect(callSequence(emu.emulator)).toEqual(["tokens.delete 403", "tokens.get 404"]);
  });

  test("post: a 403/9109 on DELETE of a child that still exists keeps the warning with the manual fix", async () => {
    const bucket = newBucket("stays");
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, { "wait-timeout": "0" });
    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(0);
    const tokenId = main.outputs["token-id"] as string;
    emu.emulator.resetCalls();
    emu.emulator.injectFault({
      route: "tokens.delete",
      kind: FORBIDDEN_9109,
    });
    const post = await runPost({ inputs, state: main.state });
    expect(post.exitCode, describeStep(post)).toBe(0);
    const warnings = warningLines(post);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(tokenId);
    expect(warnings[0]).toMatch(/9109/);
    expect(warnings[0]).toMatch(/curl -X DELETE/);
    expect(callSequence(emu.emulator)).toEqual(["tokens.delete 403", "tokens.get 200"]);
    // Still there, as the warning says: the test deletes it itself.
    expect(await emu.cleanUp()).toEqual([tokenId]);
  });
});

describe("permission-group lookup", () => {
  test("is never triggered by a 401, a 429 or a 5xx on create", async () => {
    for (const status of [401, 429, 503]) {
      emu.emulator.resetCalls();
      emu.emulator.clearFaults();
      emu.emulator.injectFault({
        route: "tokens.create",
        times: 20,
        kind: { type: "status", status, retryAfter: "0", errors: [{ code: 10000, message: "refused" }] },
      });
      const main = await runMain({
        inputs: emulatorInputs(emu.emulator, emu.minter, newBucket(`s${status}`)),
      });
      expect(main.exitCode, describeStep(main)).toBe(1);
      expect(callsTo(emu.emulator, "permission_groups.list"), String(status)).toEqual([]);
    }
  }, 180_000);
});

describe("answers the evidence says Cloudflare gives, with each ambiguous point tried both ways", () => {
  test.each([409, 400] as const)(
    "create-bucket: a concurrent create answered %i/10004 by Cloudflare itself is settled by a second GET",
    async (status) => {
      emu.emulator.set({ assumptions: { bucketCreateConflictStatus: status } });
      const bucket = bucketName("race");
      emu.emulator.createBucket(bucket);
      // The first GET does not see the bucket yet (another job is creating it).
      emu.emulator.injectFault({
        route: "r2.buckets.get",
        kind: {
          type: "status",
          status: 404,
          errors: [{ code: 10006, message: "The specified bucket does not exist." }],
        },
      });
      const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, {
        "create-bucket": "true",
        "wait-timeout": "0",
      });
      const main = await runMain({ inputs });
      expect(main.exitCode, describeStep(main)).toBe(0);
      expect(callSequence(emu.emulator)).toEqual([
        "r2.buckets.get 404",
        `r2.buckets.create ${status}`,
        "r2.buckets.get 200",
        "tokens.create 200",
      ]);
      const post = await runPost({ inputs, state: main.state });
      expect(post.exitCode).toBe(0);
    },
  );

  test('create-bucket: a create answered with "result": {} (an older shape) is a success', async () => {
    const bucket = bucketName("lean");
    emu.emulator.injectFault({ route: "r2.buckets.create", kind: { type: "result-after", result: {} } });
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, {
      "create-bucket": "true",
      "wait-timeout": "0",
    });
    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(callSequence(emu.emulator)).toEqual([
      "r2.buckets.get 404",
      "r2.buckets.create 200",
      "tokens.create 200",
    ]);
    expect(main.stdout).toContain(`Created bucket ${bucket}`);
    const post = await runPost({ inputs, state: main.state });
    expect(post.exitCode).toBe(0);
  });

  test("a token create answered with an expires_on that is no date: the requested expiry stands, the child is revoked", async () => {
    const bucket = newBucket("oddexp");
    emu.emulator.injectFault({
      route: "tokens.create",
      kind: {
        type: "result-after",
        result: (own: unknown) => ({ ...(own as object), expires_on: "in an hour" }),
      },
    });
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, { ttl: "30m", "wait-timeout": "0" });
    const before = Date.now();
    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(0);
    const expiresAt = Date.parse(main.outputs["expires-at"] as string);
    expect(expiresAt - before).toBeGreaterThan(29 * 60_000);
    expect(expiresAt - before).toBeLessThanOrEqual(30 * 60_000 + 1_000);
    const post = await runPost({ inputs, state: main.state });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });

  test.each(["header", "any"] as const)(
    "hybrid and temporary mode reach an eu bucket when temp-access-credentials looks only in the %s jurisdiction",
    async (where) => {
      emu.emulator.set({ assumptions: { tempCredentialJurisdiction: where } });
      const bucket = bucketName("eutemp");
      emu.emulator.createBucket(bucket, "eu");
      for (const overrides of [{ prefixes: "in/" }, { mode: "temporary" }]) {
        emu.emulator.resetCalls();
        const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, {
          jurisdiction: "eu",
          permission: "object-read-write",
          ...overrides,
        });
        const main = await runMain({ inputs });
        expect(main.exitCode, describeStep(main)).toBe(0);
        const temp = callsTo(emu.emulator, "r2.temp_credentials")[0];
        expect(temp?.status).toBe(200);
        const post = await runPost({ inputs, state: main.state });
        expect(post.exitCode).toBe(0);
      }
    },
  );
});

describe("when Cloudflare rotated the R2 group ids and answers the old id with 403/9109 or 404", () => {
  const ROTATED = "0f0f0f0f0f0f4f0f8f0f0f0f0f0f0f09";
  const ROTATED_READ = "0e0e0e0e0e0e4e0e8e0e0e0e0e0e0e08";
  const rotated = useEmulator({
    permissionGroupIds: {
      "Workers R2 Storage Bucket Item Write": ROTATED,
      "Workers R2 Storage Bucket Item Read": ROTATED_READ,
    },
  });

  test.each(["403/9109", "404/7003"] as const)(
    "a %s on create with the known id looks the group up by name (%%20) and creates once more",
    async (answer) => {
      rotated.emulator.set({ assumptions: { unknownPermissionGroup: answer } });
      const bucket = bucketName("rot");
      rotated.emulator.createBucket(bucket);
      const inputs = emulatorInputs(rotated.emulator, rotated.minter, bucket, {
        permission: "object-read-write",
        "wait-timeout": "0",
      });
      const main = await runMain({ inputs });
      expect(main.exitCode, describeStep(main)).toBe(0);
      expect(callSequence(rotated.emulator)).toEqual([
        `tokens.create ${answer.split("/")[0]}`,
        "permission_groups.list 200",
        "tokens.create 200",
      ]);
      const lookup = callsTo(rotated.emulator, "permission_groups.list")[0];
      expect(lookup?.path).toContain("name=Workers%20R2%20Storage%20Bucket%20Item%20Write");
      expect(main.stdout).toContain(`using ${ROTATED}, found by name`);
      const post = await runPost({ inputs, state: main.state });
      expect(post.exitCode).toBe(0);
    },
  );

  test("rescope of a token whose own R2 group carries a rotated id still looks up the group it adds after a 403/9109", async () => {
    rotated.emulator.set({ assumptions: { unknownPermissionGroup: "403/9109" } });
    const [a, b] = [bucketName("rot-a"), bucketName("rot-b")];
    rotated.emulator.createBucket(a);
    rotated.emulator.createBucket(b);
    // A token made after the rotation: its Item Read group carries the new id, which no table here knows.
    const held = rotated.emulator.seedToken({
      scope: "account",
      policies: [
        {
          effect: "allow",
          permission_groups: [{ id: ROTATED_READ }],
          resources: { [bucketResource(rotated.emulator.accountId, a)]: "*" },
        },
      ],
    });
    rotated.emulator.resetCalls();
    const result = await runCli(
      ["rescope", "--token-id", held.id, "--add-bucket", b, "--permission", "object-read-write"].concat(
        apiFlags(rotated.emulator),
      ),
      { env: cliEnv(rotated.emulator, rotated.minter) },
    );
    expect(result.exitCode, describeCli(result)).toBe(0);
    expect(callSequence(rotated.emulator)).toEqual([
      "tokens.get 200",
      "tokens.update 403",
      "permission_groups.list 200",
      "tokens.update 200",
    ]);
  });
});

describe("an account full of tokens this tool did not make (OAuth-provisioned, newer or sparse shapes)", () => {
  const odd = useEmulator();

  test("orphan clean-up after an ambiguous create, hybrid, create-bucket and post all work among them", async () => {
    odd.emulator.seedOddTokens(60);
    const bucket = bucketName("odd");
    // The create acts, then the connection drops: the orphan is found by name among 60 odd tokens.
    odd.emulator.injectFault({ route: "tokens.create", nth: 1, times: 1, kind: { type: "drop-after" } });
    const inputs = emulatorInputs(odd.emulator, odd.minter, bucket, {
      "create-bucket": "true",
      permission: "object-read-write",
      prefixes: "odd/",
      "wait-timeout": "5",
    });
    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(0);
    const sequence = callSequence(odd.emulator);
    expect(sequence).toContain("tokens.list 200");
    expect(sequence.filter((call) => call.startsWith("tokens.delete"))).toEqual(["tokens.delete 200"]);
    expect(sequence.at(-1)).toBe("r2.temp_credentials 200");
    const post = await runPost({ inputs, state: main.state });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(liveChildIds(odd.emulator)).toEqual([]);
  });
});
