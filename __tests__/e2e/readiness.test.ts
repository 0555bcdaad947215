// Readiness: new credentials take a while to be honoured by R2's S3 endpoint. The emulator refuses
// them for `propagationDelayMs`; main must wait (and say how long), so that the job's first real
// S3 request succeeds, and must give up and clean up at `wait-timeout`.
import { describe, expect, test } from "vitest";
import { describeStep, errorLines, runMain, runPost, warningLines } from "../../scripts/harness/runner.js";
import { bucketName, callsTo, emulatorInputs, liveChildIds } from "../helpers/emulator.js";
import { readinessTiming, reportedWaitMs } from "../helpers/readiness.js";
import { putText, s3ClientFromOutputs } from "../helpers/s3.js";
import { useEmulator } from "../helpers/use-emulator.js";

const emu = useEmulator();

describe("waiting for the S3 endpoint", () => {
  test("waits out a 3 s propagation delay so that the job's first S3 request succeeds", async () => {
    emu.emulator.set({ propagationDelayMs: 3_000 });
    const bucket = bucketName("ready");
    await emu.emulator.createBucket(bucket);
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, { permission: "object-read-write" });

    const main = await runMain({ inputs });
    const mainEnded = Date.now();
    expect(main.exitCode, describeStep(main)).toBe(0);

    // The first real request, right after main: one attempt, no retry.
    const s3 = s3ClientFromOutputs(main.outputs);
    expect(await putText(s3, bucket, "first.txt", "first try")).toMatchObject({ ok: true });
    s3.destroy();

    // Main waited (it could not have been accepted before the delay) but not much longer: the
    // accepted probe and main's end both came within a second of the delay's end.
    expect(main.durationMs).toBeGreaterThanOrEqual(3_000);

    // It polled often (every 250 ms at first): refusals, then one acceptance, then nothing more.
    const accessKeyId = main.outputs["access-key-id"];
    const probes = emu.emulator.s3Calls.filter(
      (call) => call.accessKeyId === accessKeyId && call.at <= mainEnded,
    );
    expect(probes.length).toBeGreaterThanOrEqual(8);
    expect(probes.slice(0, -1).every((call) => call.status === 401 || call.status === 403)).toBe(true);
    expect([200, 404]).toContain(probes.at(-1)?.status);
    expect(probes.every((call) => call.bucket === bucket)).toBe(true);
    const created = callsTo(emu.emulator, "tokens.create")[0]?.at ?? Number.NaN;
    const timing = readinessTiming(probes, created + 3_000, mainEnded);
    expect(timing.acceptedLateByMs + timing.endedAfterAcceptedMs, JSON.stringify(timing)).toBeLessThan(1_000);

    // It reports how long it waited.
    const waited = reportedWaitMs(main.stdout);
    expect(waited, `no line reports the wait:\n${main.stdout}`).toBeDefined();
    expect(waited).toBeGreaterThanOrEqual(2_000);
    expect(waited).toBeLessThanOrEqual(main.durationMs);

    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });

  test("wait-timeout 0 makes no S3 request and does not wait", async () => {
    emu.emulator.set({ propagationDelayMs: 5_000 });
    const bucket = bucketName("nowait");
    await emu.emulator.createBucket(bucket);
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, { "wait-timeout": "0" });

    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(emu.emulator.s3Calls).toEqual([]);
    expect(main.durationMs).toBeLessThan(2_500);

    // The delay was real: the credentials are not honoured yet.
    const s3 = s3ClientFromOutputs(main.outputs);
    expect(await putText(s3, bucket, "too-early.txt", "x")).toMatchObject({ ok: false });
    s3.destroy();

    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });

  test("at wait-timeout main fails clearly and deletes the token it minted before the post step runs", async () => {
    emu.emulator.set({ propagationDelayMs: 10_000 });
    const bucket = bucketName("timeout");
    await emu.emulator.createBucket(bucket);
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, { "wait-timeout": "2" });

    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(1);
    expect(main.durationMs).toBeLessThan(6_000);
    // It waited the whole wait-timeout after the token existed, and gave up soon after.
    const created = callsTo(emu.emulator, "tokens.create")[0];
    const deleted = callsTo(emu.emulator, "tokens.delete")[0];
    const waitedMs = (deleted?.at ?? 0) - (created?.at ?? 0);
    expect(waitedMs, "ms from the token's creation to its deletion").toBeGreaterThanOrEqual(2_000);
    expect(waitedMs).toBeLessThan(3_500);
    const errors = errorLines(main);
    expect(errors, describeStep(main)).toHaveLength(1);
    // It says what happened and what to change: the wait-timeout (2 s here).
    expect(errors[0]).toMatch(/wait-timeout|\b2 ?s\b|2 seconds/);
    expect(errors[0]).not.toMatch(/\n\s+at /); // no stack trace

    // Main cleaned up itself: the child is gone before post runs.
    expect(callsTo(emu.emulator, "tokens.create").map((call) => call.status)).toEqual([200]);
    const childId = emu.emulator.s3Calls[0]?.accessKeyId;
    expect(childId, "main probed S3 with the child's access key id").toMatch(/^[0-9a-f]{32}$/);
    expect(liveChildIds(emu.emulator)).toEqual([]);
    expect(callsTo(emu.emulator, "tokens.delete").map((call) => `${call.path} ${call.status}`)).toEqual([
      `/accounts/${emu.emulator.accountId}/tokens/${childId} 200`,
    ]);
    // On failure the credential outputs stay empty.
    for (const name of ["access-key-id", "secret-access-key", "session-token"]) {
      expect(main.outputs[name] ?? "", name).toBe("");
    }
    expect(main.env.AWS_SECRET_ACCESS_KEY ?? "").toBe("");

    // The post step has nothing left to revoke and does not warn about it.
    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(warningLines(post)).toEqual([]);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });
});
