// Readiness with temporary credentials: R2 takes a while to honour new credentials, temporary ones
// included. Main must wait with the session-token credentials and the narrowed scope (a key under
// the first prefix), so that the job's first S3 request succeeds, and at wait-timeout it must fail
// and delete the child token before the post step runs.
import { describe, expect, test } from "vitest";
import { describeStep, errorLines, runMain, runPost, warningLines } from "../../scripts/harness/runner.js";
import { bucketName, callSequence, callsTo, emulatorInputs, liveChildIds } from "../helpers/emulator.js";
import { readinessTiming, reportedWaitMs } from "../helpers/readiness.js";
import { putText, s3ClientFromOutputs } from "../helpers/s3.js";
import { useEmulator } from "../helpers/use-emulator.js";

const emu = useEmulator();

const PROPAGATION_MS = 3_000;

describe("readiness with temporary credentials", () => {
  test("hybrid: waits out a 3 s propagation delay under the first prefix; the first S3 request succeeds", async () => {
    emu.emulator.set({ propagationDelayMs: PROPAGATION_MS });
    const bucket = bucketName("hready");
    await emu.emulator.createBucket(bucket);
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, {
      permission: "object-read-write",
      prefixes: "pipelines/nightly/, pipelines/shared/",
    });

    const main = await runMain({ inputs });
    const mainEnded = Date.now();
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(callSequence(emu.emulator)).toEqual(["tokens.create 200", "r2.temp_credentials 200"]);

    // The job's first real request, right after main: one attempt, no retry.
    const s3 = s3ClientFromOutputs(main.outputs);
    expect(await putText(s3, bucket, "pipelines/nightly/first.csv", "first try")).toMatchObject({
      ok: true,
    });
    s3.destroy();

    // Main waited for the delay, and not much longer (the accepted probe and main's end within a
    // second of the delay's end, below).
    expect(main.durationMs).toBeGreaterThanOrEqual(PROPAGATION_MS);

    // It probed with the temporary credentials (session token included: they were accepted in the
    // end), on keys under the first prefix: refusals, then one acceptance, then nothing more.
    const probes = emu.emulator.s3Calls.filter(
      (call) => call.accessKeyId === main.outputs["access-key-id"] && call.at <= mainEnded,
    );
    expect(probes.length).toBeGreaterThanOrEqual(8);
    for (const probe of probes) {
      expect(probe.method).toBe("GET");
      expect(probe.bucket).toBe(bucket);
      expect(probe.key.startsWith("pipelines/nightly/"), probe.key).toBe(true);
    }
    expect(probes.slice(0, -1).every((call) => call.status === 401 || call.status === 403)).toBe(true);
    expect([200, 404]).toContain(probes.at(-1)?.status);
    // The temporary credentials exist from their mint; the delay runs from there.
    const minted = callsTo(emu.emulator, "r2.temp_credentials")[0]?.at ?? Number.NaN;
    const timing = readinessTiming(probes, minted + PROPAGATION_MS, mainEnded);
    expect(timing.acceptedLateByMs + timing.endedAfterAcceptedMs, JSON.stringify(timing)).toBeLessThan(1_000);

    const waited = reportedWaitMs(main.stdout);
    expect(waited, `no line reports the wait:\n${main.stdout}`).toBeDefined();
    expect(waited).toBeGreaterThanOrEqual(PROPAGATION_MS - 1_000);
    expect(waited).toBeLessThanOrEqual(main.durationMs);

    emu.emulator.resetCalls();
    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(callSequence(emu.emulator)).toEqual(["tokens.delete 200"]);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });

  test("temporary mode: waits out the same delay; the first S3 request succeeds", async () => {
    emu.emulator.set({ propagationDelayMs: PROPAGATION_MS });
    const bucket = bucketName("tready");
    await emu.emulator.createBucket(bucket);
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, {
      mode: "temporary",
      permission: "object-read-write",
    });

    const main = await runMain({ inputs });
    const mainEnded = Date.now();
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(callSequence(emu.emulator)).toEqual(["tokens.verify 200", "r2.temp_credentials 200"]);
    const probes = emu.emulator.s3Calls.filter(
      (call) => call.accessKeyId === main.outputs["access-key-id"] && call.at <= mainEnded,
    );
    const s3 = s3ClientFromOutputs(main.outputs);
    expect(await putText(s3, bucket, "first.csv", "first try")).toMatchObject({ ok: true });
    s3.destroy();
    expect(main.durationMs).toBeGreaterThanOrEqual(PROPAGATION_MS);
    const minted = callsTo(emu.emulator, "r2.temp_credentials")[0]?.at ?? Number.NaN;
    const timing = readinessTiming(probes, minted + PROPAGATION_MS, mainEnded);
    expect(timing.acceptedLateByMs + timing.endedAfterAcceptedMs, JSON.stringify(timing)).toBeLessThan(1_000);
  });

  test("hybrid: at wait-timeout main fails and deletes the child before the post step runs", async () => {
    emu.emulator.set({ propagationDelayMs: 10_000 });
    const bucket = bucketName("htimeout");
    await emu.emulator.createBucket(bucket);
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, {
      permission: "object-read-write",
      prefixes: "pipelines/nightly/",
      "wait-timeout": "2",
    });

    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(1);
    expect(main.durationMs).toBeLessThan(6_000);
    // It waited the whole wait-timeout after the temporary credentials existed, then gave up.
    const minted = callsTo(emu.emulator, "r2.temp_credentials")[0];
    const deleted = callsTo(emu.emulator, "tokens.delete")[0];
    const waitedMs = (deleted?.at ?? 0) - (minted?.at ?? 0);
    expect(
      waitedMs,
      "ms from the temporary credentials' creation to the child's deletion",
    ).toBeGreaterThanOrEqual(2_000);
    expect(waitedMs).toBeLessThan(3_500);
    const errors = errorLines(main);
    expect(errors, describeStep(main)).toHaveLength(1);
    expect(errors[0]).toMatch(/wait-timeout/);
    expect(errors[0]).not.toMatch(/\n\s+at /);

    // No live child token before the post step: main deleted the one it created.
    expect(liveChildIds(emu.emulator)).toEqual([]);
    // The input token asked on the child's behalf: the child is the parent the body names.
    const temp = callsTo(emu.emulator, "r2.temp_credentials")[0];
    expect(temp?.tokenId).toBe(emu.minter.id);
    const childId = (temp?.body as { parentAccessKeyId?: string } | undefined)?.parentAccessKeyId;
    expect(childId).toMatch(/^[0-9a-f]{32}$/);
    expect(callSequence(emu.emulator)).toEqual([
      "tokens.create 200",
      "r2.temp_credentials 200",
      "tokens.delete 200",
    ]);
    expect(callsTo(emu.emulator, "tokens.delete")[0]?.path).toBe(
      `/accounts/${emu.emulator.accountId}/tokens/${childId}`,
    );
    // The probes used the temporary credentials, under the prefix.
    expect(emu.emulator.s3Calls.length).toBeGreaterThanOrEqual(4);
    expect(emu.emulator.s3Calls.every((call) => call.key.startsWith("pipelines/nightly/"))).toBe(true);
    expect(emu.emulator.s3Calls.every((call) => call.accessKeyId !== childId)).toBe(true);
    // On failure the credential outputs stay empty and nothing is exported.
    for (const name of ["access-key-id", "secret-access-key", "session-token"]) {
      expect(main.outputs[name] ?? "", name).toBe("");
    }
    expect(main.env.AWS_SESSION_TOKEN ?? "").toBe("");

    // The post step has nothing left to revoke: no call, no warning.
    emu.emulator.resetCalls();
    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(warningLines(post)).toEqual([]);
    expect(emu.emulator.calls).toEqual([]);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });
});
