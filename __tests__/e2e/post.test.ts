// The post step on its own: nothing to do, a token that is already gone, a delete that fails, a
// delete that needs a retry. It never fails the job and never prints a secret.
import { describe, expect, test } from "vitest";
import {
  describeStep,
  errorLines,
  type Inputs,
  runMain,
  runPost,
  type StepResult,
  warningLines,
} from "../../scripts/harness/runner.js";
import {
  bucketName,
  callSequence,
  callsTo,
  cloudflareApi,
  emulatorInputs,
  FORBIDDEN_9109,
  liveChildIds,
} from "../helpers/emulator.js";
import { secretScan } from "../helpers/secret-scan.js";
import { useEmulator } from "../helpers/use-emulator.js";

const emu = useEmulator();

/** Mints a child token with main and returns what the post step needs. */
async function mint(): Promise<{ inputs: Inputs; main: StepResult; tokenId: string }> {
  const bucket = bucketName("post");
  await emu.emulator.createBucket(bucket);
  const inputs = emulatorInputs(emu.emulator, emu.minter, bucket);
  const main = await runMain({ inputs });
  expect(main.exitCode, describeStep(main)).toBe(0);
  const tokenId = main.outputs["token-id"] as string;
  expect(liveChildIds(emu.emulator)).toEqual([tokenId]);
  emu.emulator.resetCalls();
  return { inputs, main, tokenId };
}

/** What the warning tells the user to do: delete the token by hand. */
async function deleteByHand(tokenId: string): Promise<void> {
  emu.emulator.clearFaults();
  const deleted = await cloudflareApi(
    emu.emulator,
    emu.minter,
    "DELETE",
    `/accounts/${emu.emulator.accountId}/tokens/${tokenId}`,
  );
  expect(deleted.status).toBe(200);
  expect(liveChildIds(emu.emulator)).toEqual([]);
}

describe("post step", () => {
  test("with no state (main failed before minting) does nothing, calls nothing and succeeds", async () => {
    const post = await runPost({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucketName("none")),
      debug: true,
    });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(emu.emulator.calls).toEqual([]);
    expect(warningLines(post)).toEqual([]);
    expect(errorLines(post)).toEqual([]);
    secretScan(post, { "api-token input": emu.minter.value });
  });

  test("a token that is already deleted is not a warning and is not retried", async () => {
    const { inputs, main, tokenId } = await mint();
    const deleted = await cloudflareApi(
      emu.emulator,
      emu.minter,
      "DELETE",
      `/accounts/${emu.emulator.accountId}/tokens/${tokenId}`,
    );
    expect(deleted.status).toBe(200);
    emu.emulator.resetCalls();

    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(warningLines(post)).toEqual([]);
    expect(errorLines(post)).toEqual([]);
    expect(callsTo(emu.emulator, "tokens.delete").map((call) => `${call.path} ${call.status}`)).toEqual([
      `/accounts/${emu.emulator.accountId}/tokens/${tokenId} 404`,
    ]);
    expect(
      emu.emulator.calls.every((call) =>
        call.path.startsWith(`/accounts/${emu.emulator.accountId}/tokens/${tokenId}`),
      ),
    ).toBe(true);
  });

  test("a refused delete (403) is a warning naming the token id, and the job still succeeds", async () => {
    const { inputs, main, tokenId } = await mint();
    emu.emulator.injectFault({
      route: "tokens.delete",
      times: 10,
      kind: FORBIDDEN_9109,
    });

    const post = await runPost({ inputs, state: main.state, env: main.env, debug: true });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(errorLines(post)).toEqual([]);
    const warnings = warningLines(post);
    expect(warnings, describeStep(post)).toHaveLength(1);
    expect(warnings[0]).toContain(tokenId);
    expect(warnings[0]).toMatch(/403/);
    // A 403 is final: no retry.
    expect(callsTo(emu.emulator, "tokens.delete").map((call) => call.status)).toEqual([403]);
    expect(post.summary).toContain(tokenId);
    expect(liveChildIds(emu.emulator)).toEqual([tokenId]);
    secretScan(post, {
      "api-token input": emu.minter.value,
      "secret access key": main.outputs["secret-access-key"] ?? "",
    });
    await deleteByHand(tokenId);
  });

  test("a wrong api-token in the post step is a warning naming the token id, and is never printed", async () => {
    const { inputs, main, tokenId } = await mint();
    const wrongToken = "cfat_ThisIsNotTheTokenYouAreLookingFor0123456789abcdef";
    const post = await runPost({
      inputs: { ...inputs, "api-token": wrongToken },
      state: main.state,
      env: main.env,
    });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(errorLines(post)).toEqual([]);
    const warnings = warningLines(post);
    expect(warnings, describeStep(post)).toHaveLength(1);
    expect(warnings[0]).toContain(tokenId);
    expect(liveChildIds(emu.emulator)).toEqual([tokenId]);
    secretScan(post, { "wrong api-token": wrongToken, "api-token input": emu.minter.value });
    await deleteByHand(tokenId);
  });

  test("a 503 on delete is retried and the token is deleted without a warning", async () => {
    const { inputs, main, tokenId } = await mint();
    emu.emulator.injectFault({ route: "tokens.delete", times: 1, kind: { type: "status", status: 503 } });

    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(warningLines(post)).toEqual([]);
    expect(callsTo(emu.emulator, "tokens.delete").map((call) => call.status)).toEqual([503, 200]);
    expect(liveChildIds(emu.emulator)).toEqual([]);
    expect(callSequence(emu.emulator).every((call) => call.startsWith("tokens.delete"))).toBe(true);
    expect(tokenId).toMatch(/^[0-9a-f]{32}$/);
  });
});
