// `mint --format credential-process` and `configure-profile`: the AWS SDKs and CLIs fetch (and
// refresh) R2 credentials by themselves. The process-credentials JSON exactly, its 0600 cache and
// when it is reused or replaced, the profile spliced into an AWS config file leaving every other line
// byte for byte, and real clients reading that profile: Debian's AWS CLI 2.9 and boto3 1.26 through
// credential_process (they ignore endpoint_url and the checksum keys, so the endpoint is explicit),
// and the AWS SDK for JavaScript, which reads every line of it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { SeededToken } from "../../emulator/types.js";
import { repoRoot } from "../../scripts/harness/runner.js";
import { spawnWithTimeout } from "../../scripts/harness/spawn.js";
import { cliEnv, cliScript, describeCli, mintFlags, runCli } from "../helpers/cli.js";
import { needClients, requireClient } from "../helpers/clients.js";
import { bucketName, callsTo } from "../helpers/emulator.js";
import { useEmulator } from "../helpers/use-emulator.js";

const bucket = bucketName("profile");
const emu = useEmulator({ buckets: [bucket], leftovers: "delete" });

let dir: string;
let configFile: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "r2e-profile-"));
  configFile = path.join(dir, "aws", "config");
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The environment of a laptop: the token exported, a home and cache of the test's own. */
function env(token: SeededToken = emu.minter): Record<string, string> {
  return {
    ...cliEnv(emu.emulator, token),
    HOME: dir,
    XDG_CACHE_HOME: path.join(dir, "cache"),
    AWS_CONFIG_FILE: configFile,
  };
}

function credentialProcess(args: string[] = [], token?: SeededToken) {
  return runCli(
    ["mint", "--format", "credential-process", "--bucket", bucket, ...mintFlags(emu.emulator), ...args],
    { env: env(token) },
  );
}

const cacheDir = () => path.join(dir, "cache", "r2-ephemeral-credentials");
const cacheFiles = () => (fs.existsSync(cacheDir()) ? fs.readdirSync(cacheDir()) : []);
const mints = () => callsTo(emu.emulator, "tokens.create").length;

describe("mint --format credential-process", () => {
  test("prints exactly the process-credentials JSON (no SessionToken in token mode), nothing on stderr", async () => {
    const result = await credentialProcess();
    expect(result.exitCode, describeCli(result)).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout.endsWith("}\n")).toBe(true);
    const json = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(["Version", "AccessKeyId", "SecretAccessKey", "Expiration"]);
    expect(json.Version).toBe(1);
    expect(json.AccessKeyId).toMatch(/^[0-9a-f]{32}$/);
    expect(json.SecretAccessKey).toMatch(/^[0-9a-f]{64}$/);
    expect(new Date(json.Expiration as string).toISOString()).toBe(json.Expiration);
  });

  test("hybrid mode carries the SessionToken", async () => {
    const result = await credentialProcess(["--prefixes", "in/"]);
    expect(result.exitCode, describeCli(result)).toBe(0);
    const json = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual([
      "Version",
      "AccessKeyId",
      "SecretAccessKey",
      "SessionToken",
      "Expiration",
    ]);
    expect(json.SessionToken).toBeTruthy();
  });

  test("the cache: a 0600 file in a 0700 folder, reused without any API call; another request mints anew", async () => {
    const first = await credentialProcess();
    expect(first.exitCode, describeCli(first)).toBe(0);
    expect(cacheFiles()).toHaveLength(1);
    expect(fs.statSync(cacheDir()).mode & 0o777).toBe(0o700);
    const file = path.join(cacheDir(), cacheFiles()[0] as string);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);

    emu.emulator.resetCalls();
    const second = await credentialProcess();
    expect(second.exitCode, describeCli(second)).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toBe("");
    expect(emu.emulator.calls).toEqual([]);

    // Another permission, another ttl, another minting token: never the cached credentials.
    const other = emu.emulator.seedToken({ scope: "account", preset: "minter" });
    for (const [args, token] of [
      [["--permission", "object-read-write"], undefined],
      [["--ttl", "2h"], undefined],
      [[], other],
    ] as [string[], SeededToken | undefined][]) {
      const result = await credentialProcess(args, token);
      expect(result.exitCode, describeCli(result)).toBe(0);
      expect(result.stdout).not.toBe(first.stdout);
    }
    expect(mints()).toBe(3);
    expect(cacheFiles()).toHaveLength(4);
  });

  test("an entry inside the refresh window is replaced, and a ttl not longer than the window is said to mint every call", async () => {
    const first = await credentialProcess(["--ttl", "30m"]);
    expect(first.exitCode, describeCli(first)).toBe(0);
    emu.emulator.resetCalls();
    const second = await credentialProcess(["--ttl", "30m", "--refresh-window", "45m"]);
    expect(second.exitCode, describeCli(second)).toBe(0);
    expect(mints()).toBe(1);
    expect(second.stdout).not.toBe(first.stdout);
    expect(second.stderr).toMatch(
      /--ttl \(1800 s\) is not longer than --refresh-window \(2700 s\).*every call mints/,
    );
    for (const secret of [JSON.parse(second.stdout).SecretAccessKey, emu.minter.value]) {
      expect(second.stderr.includes(secret)).toBe(false);
    }
  });

  test("an unreadable, corrupt or loosely protected entry is replaced, never an error", async () => {
    await credentialProcess();
    const file = path.join(cacheDir(), cacheFiles()[0] as string);
    for (const spoil of [
      () => fs.writeFileSync(file, "{not json"),
      () => fs.writeFileSync(file, JSON.stringify({ version: 1, credentials: { Version: 1 } })),
      () => fs.chmodSync(file, 0o644),
    ]) {
      spoil();
      emu.emulator.resetCalls();
      const result = await credentialProcess();
      expect(result.exitCode, describeCli(result)).toBe(0);
      expect(result.stderr).toBe("");
      expect(mints()).toBe(1);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(JSON.parse(fs.readFileSync(file, "utf8")).credentials).toEqual(JSON.parse(result.stdout));
    }
  });

  test("--no-cache mints on every call and writes nothing; cache flags need this format", async () => {
    for (let i = 0; i < 2; i++) {
      const result = await credentialProcess(["--no-cache"]);
      expect(result.exitCode, describeCli(result)).toBe(0);
    }
    expect(mints()).toBe(2);
    expect(cacheFiles()).toEqual([]);
    const misuse = await runCli(["mint", "--bucket", bucket, "--no-cache"], { env: env() });
    expect(misuse.exitCode).toBe(2);
    expect(misuse.stderr).toMatch(/--no-cache applies only to --format credential-process/);
  });
});

const EXISTING = [
  "# my AWS settings, hand-written",
  "[default]",
  "region = eu-west-1",
  "output=json",
  "",
  "[profile work]   ; the day job",
  "role_arn = arn:aws:iam::123456789012:role/dev",
  "  source_profile = default",
  "",
  "[profile r2-other]",
  "region = auto",
  "",
].join("\n");

function configureProfile(args: string[]) {
  return runCli(["configure-profile", "--bucket", bucket, ...mintFlags(emu.emulator), ...args], {
    env: env(),
  });
}

describe("configure-profile", () => {
  test("splices [profile NAME] in, every other line byte for byte; a rerun replaces only it", async () => {
    fs.mkdirSync(path.dirname(configFile), { recursive: true });
    fs.writeFileSync(configFile, EXISTING, { mode: 0o640 });
    const result = await configureProfile(["--profile", "r2", "--permission", "object-read-write"]);
    expect(result.exitCode, describeCli(result)).toBe(0);
    expect(result.stdout).toContain(`[profile r2]`);
    expect(result.stdout).toMatch(/reads CLOUDFLARE_API_TOKEN from the environment/);
    const written = fs.readFileSync(configFile, "utf8");
    expect(written.startsWith(`${EXISTING}\n[profile r2]\n`)).toBe(true);
    const section = written.slice(EXISTING.length + 1);
    const lines = section.trimEnd().split("\n");
    expect(lines[0]).toBe("[profile r2]");
    expect(lines[1]).toMatch(/^# Managed by r2-ephemeral-credentials/);
    expect(lines.slice(2).map((l) => l.split(" = ")[0])).toEqual([
      "credential_process",
      "endpoint_url",
      "region",
      "request_checksum_calculation",
      "response_checksum_validation",
    ]);
    expect(section).toContain(
      `credential_process = '${process.execPath}' '${fs.realpathSync(cliScript)}' mint --format credential-process`,
    );
    expect(section).toContain(`--bucket ${bucket}`);
    expect(section).toContain(`--account-id ${emu.emulator.accountId}`);
    expect(section).toContain(`endpoint_url = ${emu.emulator.s3Endpoint()}\n`);
    expect(section).toContain("region = auto\n");
    // The token is read when the SDK runs the process, never written.
    expect(written.includes(emu.minter.value)).toBe(false);
    expect(fs.statSync(configFile).mode & 0o777).toBe(0o640);
    expect(callsTo(emu.emulator, "tokens.create")).toEqual([]);

    // Put a profile after ours, then rerun with other flags: only our section changes.
    fs.appendFileSync(configFile, "\n[profile later]\nregion = us-east-2\n");
    const before = fs.readFileSync(configFile, "utf8");
    const again = await configureProfile(["--profile", "r2", "--ttl", "2h"]);
    expect(again.exitCode, describeCli(again)).toBe(0);
    const after = fs.readFileSync(configFile, "utf8");
    const ours = (text: string) => /\[profile r2\]\n[\s\S]*?(?=\n\n|\n\[|$)/.exec(text)?.[0] ?? "";
    expect(after.replace(ours(after), "")).toBe(before.replace(ours(before), ""));
    expect(ours(after)).toContain("--ttl 2h");
    expect(ours(after)).not.toContain("object-read-write");
  });

  test("--print prints the section and writes nothing; a new file is created 0600 in a 0700 folder", async () => {
    const printed = await configureProfile(["--profile", "r2", "--print"]);
    expect(printed.exitCode, describeCli(printed)).toBe(0);
    expect(printed.stdout).toMatch(/^\[profile r2\]\n# Managed by/);
    expect(fs.existsSync(configFile)).toBe(false);

    const written = await configureProfile(["--profile", "default"]);
    expect(written.exitCode, describeCli(written)).toBe(0);
    expect(fs.readFileSync(configFile, "utf8")).toMatch(/^\[default\]\n# Managed by/);
    expect(fs.statSync(configFile).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(configFile)).mode & 0o777).toBe(0o700);
  });

  test("a same-named section this tool did not write is refused (exit 1, file untouched) unless --force", async () => {
    fs.mkdirSync(path.dirname(configFile), { recursive: true });
    fs.writeFileSync(configFile, EXISTING);
    for (const profile of ["default", "work"]) {
      const refused = await configureProfile(["--profile", profile]);
      expect(refused.exitCode, describeCli(refused)).toBe(1);
      expect(refused.stderr).toMatch(/did not write/);
      expect(refused.stderr).toMatch(/--force/);
      expect(fs.readFileSync(configFile, "utf8")).toBe(EXISTING);
    }
    const forced = await configureProfile(["--profile", "work", "--force"]);
    expect(forced.exitCode, describeCli(forced)).toBe(0);
    const text = fs.readFileSync(configFile, "utf8");
    expect(text).not.toContain("role_arn");
    expect(text).toContain("[profile r2-other]\nregion = auto\n");
    expect(
      text.startsWith(
        "# my AWS settings, hand-written\n[default]\nregion = eu-west-1\noutput=json\n\n[profile work]\n# Managed by",
      ),
    ).toBe(true);
  });

  test("bad flags: exit 2, nothing written", async () => {
    for (const args of [
      ["--profile", "has space"],
      ["--profile", "r2", "--ttl", "1s"],
      ["--profile", "r2", "--token-name", "laptop #1"],
      ["--bucket", "x-bucket"],
    ]) {
      const result = await runCli(["configure-profile", ...args], { env: env() });
      expect(result.exitCode, describeCli(result)).toBe(2);
    }
    expect(fs.existsSync(configFile)).toBe(false);
  });
});

describe("--token-file: the token where the calling program's environment has none", () => {
  test("a file only the user can read is used; one others can read is refused (exit 2, no API call)", async () => {
    const file = path.join(dir, "cloudflare-token");
    fs.writeFileSync(file, `${emu.minter.value}\n`, { mode: 0o644 });
    const { CLOUDFLARE_API_TOKEN: _none, ...noToken } = env();
    const args = [
      "mint",
      "--format",
      "credential-process",
      "--bucket",
      bucket,
      "--token-file",
      file,
      ...mintFlags(emu.emulator),
    ];
    const loose = await runCli(args, { env: noToken });
    expect(loose.exitCode, describeCli(loose)).toBe(2);
    expect(loose.stderr).toMatch(/others can read or write \(mode 644\).*chmod 600/);
    expect(emu.emulator.calls).toEqual([]);

    fs.chmodSync(file, 0o600);
    const ok = await runCli(args, { env: noToken });
    expect(ok.exitCode, describeCli(ok)).toBe(0);
    expect(JSON.parse(ok.stdout).Version).toBe(1);
    expect(ok.stderr.includes(emu.minter.value)).toBe(false);
  });

  test("configure-profile --token-file bakes the absolute path in; the profile's command works with no token in the environment", async () => {
    const file = path.join(dir, "cloudflare-token");
    fs.writeFileSync(file, emu.minter.value, { mode: 0o600 });
    const result = await runCli(
      [
        "configure-profile",
        "--profile",
        "r2",
        "--bucket",
        bucket,
        "--token-file",
        file,
        ...mintFlags(emu.emulator),
      ],
      { env: env() },
    );
    expect(result.exitCode, describeCli(result)).toBe(0);
    const line = /^credential_process = (.*)$/m.exec(fs.readFileSync(configFile, "utf8"))?.[1] ?? "";
    expect(line).toContain(`--token-file ${file}`);
    expect(fs.readFileSync(configFile, "utf8").includes(emu.minter.value)).toBe(false);
    // What an SDK does with the line: run it through sh, here without CLOUDFLARE_API_TOKEN.
    const run = await spawnWithTimeout("/bin/sh", ["-c", line], {
      env: { PATH: process.env.PATH, HOME: dir, XDG_CACHE_HOME: path.join(dir, "cache") },
    });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).AccessKeyId).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe("real clients reading the profile", () => {
  async function configured(): Promise<Record<string, string>> {
    const result = await configureProfile(["--profile", "r2", "--permission", "object-read-write"]);
    expect(result.exitCode, describeCli(result)).toBe(0);
    // What the SDK's process gets: the token exported, nothing else of ours.
    return {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dir,
      XDG_CACHE_HOME: path.join(dir, "cache"),
      AWS_CONFIG_FILE: configFile,
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, "aws", "credentials"),
      CLOUDFLARE_API_TOKEN: emu.minter.value,
    };
  }

  test("Debian's AWS CLI 2.9 through credential_process: upload, list; one mint for several calls", async (ctx) => {
    needClients(ctx, "aws");
    const aws = requireClient("aws");
    const clientEnv = await configured();
    fs.writeFileSync(path.join(dir, "data.csv"), "x,y\n");
    const s3 = emu.emulator.s3Endpoint();
    const calls = [
      [
        "--profile",
        "r2",
        "--endpoint-url",
        s3,
        "s3",
        "cp",
        path.join(dir, "data.csv"),
        `s3://${bucket}/cli/data.csv`,
      ],
      ["--profile", "r2", "--endpoint-url", s3, "s3", "ls", `s3://${bucket}/cli/`],
    ];
    const outputs: string[] = [];
    for (const args of calls) {
      const result = await spawnWithTimeout(aws, args, { env: clientEnv, timeoutMs: 60_000 });
      expect(result.exitCode, `${args.join(" ")}\n${result.stdout}\n${result.stderr}`).toBe(0);
      outputs.push(result.stdout);
    }
    expect(outputs[1]).toContain("data.csv");
    expect(Buffer.from(emu.emulator.getObject(bucket, "cli/data.csv") ?? []).toString()).toBe("x,y\n");
    expect(mints()).toBe(1);
  });

  test("boto3 1.26 through credential_process: two clients in one script, one mint", async (ctx) => {
    needClients(ctx, "boto3");
    const python = requireClient("boto3");
    const clientEnv = await configured();
    const script = [
      "import boto3, os",
      "session = boto3.Session(profile_name='r2')",
      "a = session.client('s3', endpoint_url=os.environ['S3'])",
      "a.put_object(Bucket=os.environ['BUCKET'], Key='py/one.txt', Body=b'one')",
      "b = boto3.Session(profile_name='r2').client('s3', endpoint_url=os.environ['S3'])",
      "print(b.get_object(Bucket=os.environ['BUCKET'], Key='py/one.txt')['Body'].read().decode())",
    ].join("\n");
    const result = await spawnWithTimeout(python, ["-c", script], {
      env: { ...clientEnv, S3: emu.emulator.s3Endpoint(), BUCKET: bucket },
      timeoutMs: 60_000,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe("one");
    expect(mints()).toBe(1);
  });

  test("the AWS SDK for JavaScript reads every line: credentials, endpoint_url, region and both checksum settings", async () => {
    const clientEnv = await configured();
    const program = [
      'import { S3Client, PutObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";',
      "const s3 = new S3Client({});",
      "const hosts = new Set();",
      "s3.middlewareStack.add((next) => async (args) => { hosts.add(args.request.protocol + '//' + args.request.hostname + ':' + args.request.port); return next(args); }, { step: 'finalizeRequest' });",
      "await s3.send(new PutObjectCommand({ Bucket: process.env.BUCKET, Key: 'js/one.txt', Body: 'js' }));",
      "const got = await s3.send(new GetObjectCommand({ Bucket: process.env.BUCKET, Key: 'js/one.txt' }));",
      "console.log(JSON.stringify({",
      "  region: await s3.config.region(),",
      "  endpoints: [...hosts],",
      "  request: await s3.config.requestChecksumCalculation(),",
      "  response: await s3.config.responseChecksumValidation(),",
      "  body: await got.Body.transformToString(),",
      "}));",
    ].join("\n");
    const file = path.join(repoRoot, ".tmp", `profile-sdk-${process.pid}.mjs`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, program);
    try {
      const result = await spawnWithTimeout(process.execPath, [file], {
        // AWS_PROFILE, as a user runs a script: the SDK reads endpoint_url only from that profile,
        // not from a client's own \`profile\` option.
        env: { ...clientEnv, BUCKET: bucket, AWS_PROFILE: "r2" },
        timeoutMs: 60_000,
      });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({
        region: "auto",
        endpoints: [emu.emulator.s3Endpoint()],
        request: "WHEN_REQUIRED",
        response: "WHEN_REQUIRED",
        body: "js",
      });
    } finally {
      fs.rmSync(file, { force: true });
    }
    expect(mints()).toBe(1);
  });
});
