// The action's `aws-profile` input: main writes [profile NAME] to the AWS config file and [NAME] to
// the shared credentials file (0600), leaving every other line as it was; a real client reaches R2
// through the profile while the job's own AWS_* stay untouched (export-env: false); the post step
// removes both sections in every mode. The hygiene check proves the credentials file is the only
// place a secret lands besides GITHUB_OUTPUT and GITHUB_ENV, and that it is written after the masks.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { describeStep, errorLines, repoRoot, runMain, runPost } from "../../scripts/harness/runner.js";
import { spawnWithTimeout } from "../../scripts/harness/spawn.js";
import { needClients, requireClient } from "../helpers/clients.js";
import { bucketName, callsTo, liveChildIds } from "../helpers/emulator.js";
import { useEmulator } from "../helpers/use-emulator.js";

const fx = useEmulator({ record: true });

let dir: string;
let files: { AWS_CONFIG_FILE: string; AWS_SHARED_CREDENTIALS_FILE: string };
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "r2e-aws-profile-"));
  files = {
    AWS_CONFIG_FILE: path.join(dir, ".aws", "config"),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, ".aws", "credentials"),
  };
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const CONFIG =
  "[default]\nregion = eu-west-1\n\n[profile work]\nrole_arn = arn:aws:iam::123456789012:role/dev\n";
const CREDENTIALS = "[default]\naws_access_key_id = AKIAWORKWORKWORK\naws_secret_access_key = work/secret\n";

function seedFiles(credentialsMode = 0o600): void {
  fs.mkdirSync(path.dirname(files.AWS_CONFIG_FILE), { recursive: true });
  fs.writeFileSync(files.AWS_CONFIG_FILE, CONFIG, { mode: 0o644 });
  fs.writeFileSync(files.AWS_SHARED_CREDENTIALS_FILE, CREDENTIALS, { mode: credentialsMode });
}

const read = (file: string) => fs.readFileSync(file, "utf8");
const mode = (file: string) => fs.statSync(file).mode & 0o777;

function newBucket(label: string): string {
  const bucket = bucketName(label);
  fx.emulator.createBucket(bucket);
  return bucket;
}

describe("aws-profile", () => {
  test("token mode with export-env false: both sections written beside the user's profiles, a real client uses them, the job's AWS_* untouched, post removes them", async () => {
    seedFiles(0o644);
    const bucket = newBucket("prof");
    const inputs = fx.inputs(bucket, {
      "aws-profile": "r2",
      "export-env": "false",
      permission: "object-read-write",
    });
    const main = await runMain({ inputs, env: files });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(main.outputs["aws-profile"]).toBe("r2");
    expect(main.env).toEqual({});

    const config = read(files.AWS_CONFIG_FILE);
    expect(config.startsWith(`${CONFIG}\n[profile r2]\n# Managed by r2-ephemeral-credentials`)).toBe(true);
    expect(config).toContain(`endpoint_url = ${fx.emulator.s3Endpoint()}\n`);
    expect(config).toContain(
      "region = auto\nrequest_checksum_calculation = when_required\nresponse_checksum_validation = when_required\n",
    );
    expect(mode(files.AWS_CONFIG_FILE)).toBe(0o644);
    const credentials = read(files.AWS_SHARED_CREDENTIALS_FILE);
    expect(credentials).toBe(
      `${CREDENTIALS}\n[r2]\n# Managed by r2-ephemeral-credentials: it replaces or removes this section; other sections are left alone.\naws_access_key_id = ${main.outputs["access-key-id"]}\naws_secret_access_key = ${main.outputs["secret-access-key"]}\n`,
    );
    // An existing credentials file is closed to others.
    expect(mode(files.AWS_SHARED_CREDENTIALS_FILE)).toBe(0o600);
    expect(main.state["aws-profile"]).toBe("r2");
    expect(main.state["aws-config-file"]).toBe(files.AWS_CONFIG_FILE);
    expect(main.state["aws-credentials-file"]).toBe(files.AWS_SHARED_CREDENTIALS_FILE);

    // The AWS SDK for JavaScript, as a later step runs it: AWS_PROFILE=r2 and nothing else of ours.
    const program = [
      'import { S3Client, PutObjectCommand } from "@aws-sdk/client-s3";',
      "const s3 = new S3Client({});",
      "await s3.send(new PutObjectCommand({ Bucket: process.env.BUCKET, Key: 'profile/one.txt', Body: 'via profile' }));",
    ].join("\n");
    const file = path.join(repoRoot, ".tmp", `aws-profile-sdk-${process.pid}.mjs`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, program);
    try {
      const sdk = await spawnWithTimeout(process.execPath, [file], {
        env: { PATH: process.env.PATH, HOME: dir, ...files, AWS_PROFILE: "r2", BUCKET: bucket },
        timeoutMs: 60_000,
      });
      expect(sdk.exitCode, sdk.stderr).toBe(0);
    } finally {
      fs.rmSync(file, { force: true });
    }
    expect(Buffer.from(fx.emulator.getObject(bucket, "profile/one.txt") ?? []).toString()).toBe(
      "via profile",
    );

    const post = await runPost({ inputs, env: files, state: main.state });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(post.stdout).toContain(`Removed [r2] from ${files.AWS_SHARED_CREDENTIALS_FILE}`);
    expect(post.stdout).toContain(`Removed [profile r2] from ${files.AWS_CONFIG_FILE}`);
    expect(read(files.AWS_CONFIG_FILE)).toBe(CONFIG);
    expect(read(files.AWS_SHARED_CREDENTIALS_FILE)).toBe(CREDENTIALS);
    expect(liveChildIds(fx.emulator)).toEqual([]);
  });

  test("Debian's AWS CLI reads the profile's credentials (hybrid mode: with the session token)", async (ctx) => {
    needClients(ctx, "aws");
    const aws = requireClient("aws");
    const bucket = newBucket("prof-cli");
    const inputs = fx.inputs(bucket, {
      "aws-profile": "r2",
      prefixes: "in/",
      permission: "object-read-write",
    });
    const main = await runMain({ inputs, env: files });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(read(files.AWS_SHARED_CREDENTIALS_FILE)).toContain(
      `aws_session_token = ${main.outputs["session-token"]}\n`,
    );
    fs.writeFileSync(path.join(dir, "x.txt"), "x");
    // AWS CLI 2.9 ignores the profile's endpoint_url: the endpoint is given on the command line.
    const cp = await spawnWithTimeout(
      aws,
      [
        "--profile",
        "r2",
        "--endpoint-url",
        fx.emulator.s3Endpoint(),
        "s3",
        "cp",
        path.join(dir, "x.txt"),
        `s3://${bucket}/in/x.txt`,
      ],
      { env: { PATH: process.env.PATH, HOME: dir, ...files }, timeoutMs: 60_000 },
    );
    expect(cp.exitCode, cp.stderr).toBe(0);
    const post = await runPost({ inputs, env: files, state: main.state });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(fs.existsSync(files.AWS_SHARED_CREDENTIALS_FILE)).toBe(false);
    expect(fs.existsSync(files.AWS_CONFIG_FILE)).toBe(false);
  });

  test("new files are created 0600; default is [default] in both; temporary mode with revoke false is cleaned up too", async () => {
    const bucket = newBucket("prof-tmp");
    const inputs = fx.inputs(bucket, { "aws-profile": "default", mode: "temporary", revoke: "false" });
    const main = await runMain({ inputs, env: files });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(read(files.AWS_CONFIG_FILE)).toMatch(/^\[default\]\n# Managed by/);
    expect(read(files.AWS_SHARED_CREDENTIALS_FILE)).toMatch(
      /^\[default\]\n# Managed by[^\n]*\naws_access_key_id = /,
    );
    expect(mode(files.AWS_CONFIG_FILE)).toBe(0o600);
    expect(mode(files.AWS_SHARED_CREDENTIALS_FILE)).toBe(0o600);
    const post = await runPost({ inputs, env: files, state: main.state });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(post.stdout).toMatch(/cannot be revoked/);
    expect(fs.existsSync(files.AWS_CONFIG_FILE)).toBe(false);
    expect(fs.existsSync(files.AWS_SHARED_CREDENTIALS_FILE)).toBe(false);
  });

  test("a same-named section the action did not write: main fails before minting, files untouched", async () => {
    seedFiles();
    const inputs = fx.inputs(newBucket("prof-foreign"), { "aws-profile": "work" });
    const main = await runMain({ inputs, env: files });
    expect(main.exitCode).not.toBe(0);
    expect(errorLines(main).join("\n")).toMatch(
      /\[profile work\] section that r2-ephemeral-credentials did not write/,
    );
    expect(callsTo(fx.emulator, "tokens.create")).toEqual([]);
    expect(read(files.AWS_CONFIG_FILE)).toBe(CONFIG);
    expect(read(files.AWS_SHARED_CREDENTIALS_FILE)).toBe(CREDENTIALS);
  });

  test("an invalid profile name is an input error that names the input", async () => {
    const main = await runMain({
      inputs: fx.inputs(newBucket("prof-bad"), { "aws-profile": "my profile" }),
      env: files,
    });
    expect(main.exitCode).not.toBe(0);
    expect(errorLines(main).join("\n")).toMatch(/Input aws-profile is "my profile"/);
    expect(fs.existsSync(files.AWS_CONFIG_FILE)).toBe(false);
  });

  test.each([
    ["token mode", {}],
    ["hybrid mode", { prefixes: "p/" }],
  ])(
    "hygiene (%s): the credentials file is the only place a secret lands besides GITHUB_OUTPUT/ENV, written after the masks",
    async (_label, extra) => {
      seedFiles();
      const bucket = newBucket("prof-hyg");
      await fx.job({
        inputs: fx.inputs(bucket, { "aws-profile": "r2", ...extra }),
        env: files,
        traceFileWrites: true,
        afterMain: () => {
          // No temporary file of the atomic writes is left beside them.
          expect(fs.readdirSync(path.dirname(files.AWS_CONFIG_FILE)).sort()).toEqual([
            "config",
            "credentials",
          ]);
          return {
            profileFiles: {
              config: read(files.AWS_CONFIG_FILE),
              credentials: read(files.AWS_SHARED_CREDENTIALS_FILE),
            },
          };
        },
      });
      expect(read(files.AWS_CONFIG_FILE)).toBe(CONFIG);
      expect(read(files.AWS_SHARED_CREDENTIALS_FILE)).toBe(CREDENTIALS);
    },
  );
});
