// The minted credentials with Debian's AWS CLI v2 (/usr/bin/aws), taken from the AWS_* variables the
// action exports, as a later `run:` step would see them. AWS CLI 2.9 predates AWS_ENDPOINT_URL_S3,
// so the endpoint is passed with --endpoint-url.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { describeStep, runMain, runPost, type StepResult } from "../../scripts/harness/runner.js";
import type { SpawnResult } from "../../scripts/harness/spawn.js";
import { needClients } from "../helpers/clients.js";
import { bucketName, emulatorInputs, liveChildIds } from "../helpers/emulator.js";
import { runAwsCli, type S3Credentials } from "../helpers/s3.js";
import { useEmulator } from "../helpers/use-emulator.js";

const emu = useEmulator();

let workdir: string;

function credentialsFromEnv(step: StepResult): S3Credentials {
  const env = step.env;
  if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY || !env.AWS_ENDPOINT_URL_S3) {
    throw new Error(`main exported no AWS credentials:\n${describeStep(step)}`);
  }
  expect(env.AWS_REGION).toBe("auto");
  return {
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    sessionToken: env.AWS_SESSION_TOKEN ?? "",
    endpoint: env.AWS_ENDPOINT_URL_S3,
  };
}

function describeCli(result: SpawnResult): string {
  return `aws exit ${result.exitCode}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

beforeAll(() => {
  workdir = fs.mkdtempSync(path.join(os.tmpdir(), "r2e-awscli-"));
});

afterAll(() => {
  if (workdir) fs.rmSync(workdir, { recursive: true, force: true });
});

beforeEach((ctx) => {
  needClients(ctx, "aws");
});

describe("AWS CLI with the exported environment", () => {
  test("uploads, lists and downloads in the granted bucket, is refused elsewhere and after the post step", async () => {
    const bucket = bucketName("cli");
    const other = bucketName("cliother");
    await emu.emulator.createBucket(bucket);
    await emu.emulator.createBucket(other);
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, { permission: "object-read-write" });
    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(0);
    const credentials = credentialsFromEnv(main);
    expect(credentials.sessionToken).toBe("");

    const file = path.join(workdir, "release-notes.txt");
    fs.writeFileSync(file, "v1.2.3: faster uploads\n");

    const upload = await runAwsCli(["s3", "cp", file, `s3://${bucket}/releases/notes.txt`], credentials);
    expect(upload.exitCode, describeCli(upload)).toBe(0);

    const list = await runAwsCli(["s3", "ls", `s3://${bucket}/releases/`], credentials);
    expect(list.exitCode, describeCli(list)).toBe(0);
    expect(list.stdout).toContain("notes.txt");

    const download = await runAwsCli(["s3", "cp", `s3://${bucket}/releases/notes.txt`, "-"], credentials);
    expect(download.exitCode, describeCli(download)).toBe(0);
    expect(download.stdout).toBe("v1.2.3: faster uploads\n");

    const elsewhere = await runAwsCli(["s3", "cp", file, `s3://${other}/releases/notes.txt`], credentials);
    expect(elsewhere.exitCode, describeCli(elsewhere)).not.toBe(0);
    expect(elsewhere.stderr).toMatch(/AccessDenied|403|Forbidden/);

    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(liveChildIds(emu.emulator)).toEqual([]);

    const afterPost = await runAwsCli(["s3", "ls", `s3://${bucket}/releases/`], credentials);
    expect(afterPost.exitCode, describeCli(afterPost)).not.toBe(0);
    expect(afterPost.stderr).toMatch(/AccessDenied|InvalidAccessKeyId|Unauthorized|40[13]|Forbidden/);
  });

  test("object-read-only downloads but cannot upload", async () => {
    const bucket = bucketName("cliro");
    await emu.emulator.createBucket(bucket);
    await emu.emulator.putObject(bucket, "data/input.csv", "a,b\n1,2\n");
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, { permission: "object-read-only" });
    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(0);
    const credentials = credentialsFromEnv(main);

    const download = await runAwsCli(["s3", "cp", `s3://${bucket}/data/input.csv`, "-"], credentials);
    expect(download.exitCode, describeCli(download)).toBe(0);
    expect(download.stdout).toBe("a,b\n1,2\n");

    const file = path.join(workdir, "output.csv");
    fs.writeFileSync(file, "c\n");
    const upload = await runAwsCli(["s3", "cp", file, `s3://${bucket}/data/output.csv`], credentials);
    expect(upload.exitCode, describeCli(upload)).not.toBe(0);
    expect(upload.stderr).toMatch(/AccessDenied|403|Forbidden/);

    const post = await runPost({ inputs, state: main.state, env: main.env });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });
});
