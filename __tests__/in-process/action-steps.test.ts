// The action's main and post steps run in the test process (runMain, runPost) against the emulator,
// through the in-memory runner (fake-runner.ts): the step logic without spawning the bundle, so each
// case takes milliseconds. The e2e suites check the same flows as the runner runs them.
import { beforeAll, describe, expect, test } from "vitest";
import { jobContext } from "../../scripts/harness/runner.js";
import { runMain } from "../../src/action/main-step.js";
import { runPost } from "../../src/action/post-step.js";
import type { HttpDeps } from "../../src/cloudflare/client.js";
import { nodeHttpDeps } from "../../src/node/http.js";
import { bucketName, callSequence, emulatorInputs, liveChildIds } from "../helpers/emulator.js";
import { FakeRunner } from "../helpers/fake-runner.js";
import { useEmulator } from "../helpers/use-emulator.js";

const emu = useEmulator();
const run = {
  repository: jobContext.GITHUB_REPOSITORY,
  runId: jobContext.GITHUB_RUN_ID,
  runAttempt: jobContext.GITHUB_RUN_ATTEMPT,
  job: jobContext.GITHUB_JOB,
};
let http: HttpDeps;

beforeAll(async () => {
  http = await nodeHttpDeps({});
});

function newBucket(): string {
  const bucket = bucketName("inproc");
  emu.emulator.createBucket(bucket);
  return bucket;
}

/** What the runner was told, for assertion messages. */
function described(runner: FakeRunner): string {
  return JSON.stringify(runner.events, null, 1);
}

describe("main and post in process", () => {
  test("token mode: main masks, mints, publishes and saves state; post revokes with that state", async () => {
    const inputs = emulatorInputs(emu.emulator, emu.minter, newBucket(), { permission: "object-read-write" });
    const main = new FakeRunner({ inputs });
    await runMain(main, { ...http, env: {}, run });

    expect(main.failures, described(main)).toEqual([]);
    expect(callSequence(emu.emulator)).toEqual(["tokens.create 200"]);
    const [child] = emu.emulator.liveChildTokens();
    expect(child?.name).toMatch(new RegExp(`^r2-ephemeral ${run.repository} run ${run.runId}\\.`));
    expect(main.outputs["token-id"]).toBe(child?.id);
    expect(main.outputs["access-key-id"]).toBe(child?.id);
    const secret = main.outputs["secret-access-key"] as string;
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(main.exported.AWS_SECRET_ACCESS_KEY).toBe(secret);
    expect(main.saved).toEqual({
      revoker: "cloudflare",
      "token-id": child?.id,
      "token-scope": "account",
      "account-id": emu.emulator.accountId,
      "api-url": emu.emulator.apiUrl,
      "expires-at": main.outputs["expires-at"],
      revoke: "true",
    });

    // Every masked value is masked before anything carries it: the secret before its output.
    expect(main.masks).toEqual(expect.arrayContaining([emu.minter.value, secret]));
    expect(main.maskOf(secret)).toBeLessThan(main.firstWriteOf(secret));
    for (const value of main.masks) {
      const written = main.firstWriteOf(value);
      if (written >= 0)
        expect(main.maskOf(value), `mask of a value first written at ${written}`).toBeLessThan(written);
    }
    expect(main.firstWriteOf(emu.minter.value), "the input token is never written").toBe(-1);

    emu.emulator.resetCalls();
    const post = new FakeRunner({ inputs, state: main.saved });
    await runPost(post, { ...http, env: {} });
    expect(post.failures, described(post)).toEqual([]);
    expect(post.logs("warning"), described(post)).toEqual([]);
    expect(callSequence(emu.emulator)).toEqual(["tokens.delete 200"]);
    expect(liveChildIds(emu.emulator)).toEqual([]);
    expect(post.logs("info")).toContain(`Revoked child token ${child?.id}.`);
    expect(post.masks).toContain(emu.minter.value);
  });

  test("a bad input fails main before any call, with one failure naming it; the token is still masked", async () => {
    const main = new FakeRunner({ inputs: emulatorInputs(emu.emulator, emu.minter, "Not_A_Bucket") });
    await runMain(main, { ...http, env: {}, run });

    expect(main.failures, described(main)).toHaveLength(1);
    expect(main.failures[0]).toMatch(/\bbucket\b/);
    expect(main.failures[0]).toContain("Not_A_Bucket");
    expect(emu.emulator.calls).toEqual([]);
    expect(emu.emulator.s3Calls).toEqual([]);
    expect(main.outputs).toEqual({});
    expect(main.exported).toEqual({});
    expect(main.saved).toEqual({});
    expect(main.masks).toContain(emu.minter.value);
  });

  test("post with no state (main minted nothing) does nothing, calls nothing and never fails", async () => {
    const post = new FakeRunner({ inputs: emulatorInputs(emu.emulator, emu.minter, newBucket()) });
    await runPost(post, { ...http, env: {} });

    expect(emu.emulator.calls).toEqual([]);
    expect(post.failures).toEqual([]);
    expect(post.logs("warning")).toEqual([]);
    expect(post.logs("info")).toEqual(["Nothing to revoke: the main step left no child token."]);
    expect(post.summary).toEqual([]);
  });

  test("a refused delete in post is a warning naming the token and the manual fix, not a failure", async () => {
    const inputs = emulatorInputs(emu.emulator, emu.minter, newBucket());
    const main = new FakeRunner({ inputs });
    await runMain(main, { ...http, env: {}, run });
    expect(main.failures, described(main)).toEqual([]);
    const tokenId = main.outputs["token-id"] as string;

    emu.emulator.resetCalls();
    emu.emulator.injectFault({ route: "tokens.delete", kind: { type: "status", status: 403 } });
    const post = new FakeRunner({ inputs, state: main.saved });
    await runPost(post, { ...http, env: {} });

    expect(post.failures).toEqual([]);
    const warnings = post.logs("warning");
    expect(warnings, described(post)).toHaveLength(1);
    expect(warnings[0]).toContain(tokenId);
    expect(warnings[0]).toContain("curl -X DELETE");
    expect(callSequence(emu.emulator)).toEqual(["tokens.delete 403"]);
    // The fault kept the token alive; the test deletes it (useEmulator would fail it otherwise).
    expect(await emu.cleanUp()).toEqual([tokenId]);
  });
});
