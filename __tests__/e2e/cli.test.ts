// The CLI end to end: `dist/cli/index.js` as a real process against the emulator — help, usage
// errors (exit 2, no API call), Cloudflare failures (exit 1), `mint` in every format and mode with a
// real S3 client on what it printed, and `revoke`.
import fs from "node:fs";
import path from "node:path";
import { parseEnv } from "node:util";
import { describe, expect, test } from "vitest";
import { parse as parseYaml } from "yaml";
import type { SeededToken } from "../../emulator/types.js";
import { repoRoot } from "../../scripts/harness/runner.js";
import { type ApiRecorder, startApiRecorder } from "../helpers/api-recorder.js";
import {
  apiFlags,
  type CliResult,
  cliCommandLine,
  cliEnv,
  describeCli,
  mintFlags,
  runBash,
  runCli,
  runCliInTty,
} from "../helpers/cli.js";
import { bucketName, callSequence, callsTo, FORBIDDEN_9109, liveChildIds } from "../helpers/emulator.js";
import { getText, putText, s3ClientFromOutputs } from "../helpers/s3.js";
import { useEmulator } from "../helpers/use-emulator.js";

const bucket = bucketName("cli");
const emu = useEmulator({
  minters: [
    { scope: "account", name: "cli test minter" },
    { scope: "user", name: "cli test user minter" },
  ],
  buckets: [bucket],
  // The CLI has no post step: what a test mints and does not revoke itself is cleaned up after it.
  leftovers: "delete",
});

const TOKEN_ID = /^[0-9a-f]{32}$/;
const declaredOutputs = Object.keys(
  (
    parseYaml(fs.readFileSync(path.join(repoRoot, "action.yml"), "utf8")) as {
      outputs: Record<string, unknown>;
    }
  ).outputs,
);
const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;

function env(token: SeededToken = emu.minter): Record<string, string> {
  return cliEnv(emu.emulator, token);
}

/** mint, expecting success; returns the parsed JSON. */
async function mintJson(
  args: string[],
  token: SeededToken = emu.minter,
): Promise<{ result: CliResult; json: Record<string, string> }> {
  const result = await runCli(["mint", ...args, ...mintFlags(emu.emulator), "--format", "json"], {
    env: env(token),
  });
  expect(result.exitCode, describeCli(result)).toBe(0);
  return { result, json: JSON.parse(result.stdout) as Record<string, string> };
}

function expectNoSecretIn(text: string, where: string, secrets: Record<string, string | undefined>): void {
  for (const [label, value] of Object.entries(secrets)) {
    if (!value) continue;
    expect(text.includes(value), `${where} carries ${label}`).toBe(false);
  }
}

describe("help and usage", () => {
  test("--help (and -h) prints the overview on stdout with every command, exit 0", async () => {
    for (const flag of ["--help", "-h"]) {
      const result = await runCli([flag]);
      expect(result.exitCode, describeCli(result)).toBe(0);
      expect(result.stderr).toBe("");
      expect(result.stdout).toMatch(/Usage: r2-ephemeral-credentials <command>/);
      for (const command of ["mint", "exec", "configure-profile", "revoke", "sweep", "rescope", "doctor"]) {
        expect(result.stdout).toMatch(new RegExp(`^\\s+${command}\\s`, "m"));
      }
      expect(result.stdout).toContain("CLOUDFLARE_API_TOKEN");
      expect(result.stdout).toContain("CLOUDFLARE_ACCOUNT_ID");
    }
  });

  test("the top-level --help shows an example a newcomer can paste", async () => {
    const result = await runCli(["--help"]);
    expect(result.exitCode).toBe(0);
    // "Usage" alone does not tell a newcomer what a first command looks like.
    expect(result.stdout).toMatch(/Examples?:/);
    expect(result.stdout).toMatch(/^\s+r2-ephemeral-credentials mint --bucket \S+/m);
  });

  test.each([
    ["mint", /r2-ephemeral-credentials mint --bucket/],
    ["revoke", /r2-ephemeral-credentials revoke --token-id/],
    ["sweep", /r2-ephemeral-credentials sweep/],
    ["rescope", /r2-ephemeral-credentials rescope --token-id \S+ --add-bucket/],
    ["exec", /r2-ephemeral-credentials exec --bucket \S+ .* -- python3/],
    ["configure-profile", /r2-ephemeral-credentials configure-profile --profile \S+ --bucket/],
    ["doctor", /r2-ephemeral-credentials doctor --bucket/],
  ])("%s --help: usage, flags and an example on stdout, exit 0, no API call", async (command, example) => {
    const result = await runCli([command, "--help"], { env: env() });
    expect(result.exitCode, describeCli(result)).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(new RegExp(`^Usage: r2-ephemeral-credentials ${command}`, "m"));
    expect(result.stdout).toMatch(/Examples?:/);
    const examples = result.stdout.slice(result.stdout.search(/Examples?:/));
    expect(examples).toMatch(example);
    expect(emu.emulator.calls).toEqual([]);
  });

  test("mint --help lists every flag that mirrors an action input", async () => {
    const result = await runCli(["mint", "--help"]);
    const inputs = Object.keys(
      (parseYaml(fs.readFileSync(path.join(repoRoot, "action.yml"), "utf8")) as { inputs: object }).inputs,
    );
    // Inputs that only make sense in a workflow (keyless minting needs the job's OIDC token), or
    // that would put the secret on the command line.
    const workflowOnly = new Set([
      "api-token",
      "export-env",
      "revoke",
      "vending-url",
      "audience",
      "aws-profile",
    ]);
    for (const input of inputs.filter((name) => !workflowOnly.has(name))) {
      expect(result.stdout, `--${input}`).toContain(`--${input}`);
    }
    expect(result.stdout).toContain("--format");
  });

  test("no command: the overview on stderr, stdout empty, exit 2", async () => {
    const result = await runCli([]);
    expect(result.exitCode, describeCli(result)).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/Usage: r2-ephemeral-credentials <command>/);
  });

  test.each([
    [["frobnicate"], /Unknown command "frobnicate"/],
    [["constructor"], /Unknown command "constructor"/],
    [["mint", "--bucket", "x-bucket", "--bogus"], /--bogus/],
    [["mint", "my-bucket"], /my-bucket|argument/i],
    [["revoke", "--token"], /--token/],
    [["sweep", "--older"], /--older/],
    [["rescope", "--add-bucket"], /--add-bucket/],
  ])("bad usage %j → exit 2, message on stderr, nothing on stdout, no API call", async (args, message) => {
    const result = await runCli(args, { env: env() });
    expect(result.exitCode, describeCli(result)).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/); // no stack trace
    expect(emu.emulator.calls).toEqual([]);
  });

  const badFlags: [string, string[], Record<string, string> | undefined, RegExp][] = [
    ["bucket name", ["mint", "--bucket", "Not_A_Bucket"], undefined, /--bucket.*"Not_A_Bucket"/],
    ["ttl too short", ["mint", "--bucket", "ok-bucket", "--ttl", "30s"], undefined, /--ttl.*"30s"/],
    ["ttl too long", ["mint", "--bucket", "ok-bucket", "--ttl", "8d"], undefined, /--ttl.*"8d"/],
    [
      "permission",
      ["mint", "--bucket", "ok-bucket", "--permission", "write"],
      undefined,
      /--permission.*"write"/,
    ],
    ["format", ["mint", "--bucket", "ok-bucket", "--format", "yaml"], undefined, /--format.*"yaml"/],
    ["account id missing", ["mint", "--bucket", "ok-bucket"], { CLOUDFLARE_ACCOUNT_ID: "" }, /--account-id/],
    [
      "account id malformed",
      ["revoke", "--token-id", "0".repeat(32), "--account-id", "ACME"],
      undefined,
      /--account-id.*"ACME"/,
    ],
    ["token id", ["revoke", "--token-id", "abc"], undefined, /--token-id.*"abc"/],
    ["older-than", ["sweep", "--older-than", "soon"], undefined, /--older-than.*"soon"/],
    [
      "rescope bucket",
      ["rescope", "--token-id", "0".repeat(32), "--add-bucket", "UPPER"],
      undefined,
      /--add-bucket.*"UPPER"/,
    ],
    [
      "rescope admin permission",
      [
        "rescope",
        "--token-id",
        "0".repeat(32),
        "--add-bucket",
        "ok-bucket",
        "--permission",
        "admin-read-write",
      ],
      undefined,
      /admin-read-write/,
    ],
    [
      "prefixes with several buckets",
      ["mint", "--bucket", "aaa,bbb", "--prefixes", "p/"],
      undefined,
      /--bucket[\s\S]*--prefixes|--prefixes[\s\S]*--bucket/,
    ],
  ];
  test.each(badFlags)(
    "bad flag value (%s) → exit 2 naming the flag, zero API calls",
    async (_label, args, extraEnv, message) => {
      const result = await runCli([...args, ...apiFlags(emu.emulator)], { env: { ...env(), ...extraEnv } });
      expect(result.exitCode, describeCli(result)).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);
      expect(callSequence(emu.emulator)).toEqual([]);
    },
  );

  test("CLOUDFLARE_API_TOKEN unset → exit 2 naming the variable, zero API calls", async () => {
    for (const args of [
      ["mint", "--bucket", bucket, ...mintFlags(emu.emulator)],
      ["revoke", "--token-id", "0".repeat(32), ...apiFlags(emu.emulator)],
      ["sweep", ...apiFlags(emu.emulator)],
    ]) {
      const result = await runCli(args, { env: { CLOUDFLARE_ACCOUNT_ID: emu.emulator.accountId } });
      expect(result.exitCode, describeCli(result)).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain("CLOUDFLARE_API_TOKEN");
    }
    expect(callSequence(emu.emulator)).toEqual([]);
  });
});

describe("Cloudflare failures", () => {
  test("a proxy variable that is no URL: one line naming the variable, never its value (it may hold a password)", async () => {
    const result = await runCli(["mint", "--bucket", "ok-bucket", ...mintFlags(emu.emulator)], {
      env: { ...env(), HTTPS_PROXY: "http://ops:pa55w0rd-xyz@[proxy" },
    });
    expect(result.exitCode, describeCli(result)).toBe(1);
    expect(result.stderr).toMatch(/^error: The proxy setting in HTTPS_PROXY is not a proxy URL/);
    expect(result.stderr).not.toContain("pa55w0rd");
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(emu.emulator.calls).toEqual([]);
  });

  test("a token without API Tokens Write: exit 1, the Cloudflare code and the missing permission on stderr, stdout empty", async () => {
    const r2Admin = emu.emulator.seedToken({ scope: "account", preset: "r2-admin", name: "cli r2 admin" });
    for (const args of [
      ["mint", "--bucket", bucket, ...mintFlags(emu.emulator)],
      ["sweep", ...apiFlags(emu.emulator)],
      ["revoke", "--token-id", "0".repeat(32), ...apiFlags(emu.emulator)],
    ]) {
      const result = await runCli(args, { env: env(r2Admin) });
      expect(result.exitCode, describeCli(result)).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain("9109");
      expect(result.stderr).toContain("403");
      expect(result.stderr).toMatch(/API Tokens Write/);
      expect(result.stderr).not.toContain(r2Admin.value);
      expect(result.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);
    }
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });

  test("the 9109 hint speaks the CLI's language: CLOUDFLARE_API_TOKEN and --token-scope, not the action's inputs", async () => {
    const r2Admin = emu.emulator.seedToken({ scope: "account", preset: "r2-admin", name: "cli r2 admin 2" });
    const denied = await runCli(["mint", "--bucket", bucket, ...mintFlags(emu.emulator)], {
      env: env(r2Admin),
    });
    expect(denied.exitCode, describeCli(denied)).toBe(1);
    // A CLI user has no `api-token` input and no `token-scope:` YAML key.
    expect(denied.stderr).not.toMatch(/\bapi-token\b/);
    expect(denied.stderr).not.toMatch(/token-scope: /);
  });

  test("the 10006 hint speaks the CLI's language: --jurisdiction, not the jurisdiction input", async () => {
    const nowhere = bucketName("cli-nowhere");
    const missing = await runCli(
      ["mint", "--bucket", nowhere, "--prefixes", "p/", ...mintFlags(emu.emulator)],
      {
        env: env(),
      },
    );
    expect(missing.exitCode, describeCli(missing)).toBe(1);
    expect(missing.stdout).toBe("");
    expect(missing.stderr).toContain("10006");
    expect(missing.stderr).toContain(nowhere);
    expect(missing.stderr).toContain("--jurisdiction");
    expect(missing.stderr).not.toMatch(/jurisdiction input|jurisdiction: eu/);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });
});

describe("mint", () => {
  test("--format json (default): exactly the action's outputs plus mode, and the credentials work with the AWS SDK", async () => {
    const result = await runCli(
      ["mint", "--bucket", bucket, "--permission", "object-read-write", ...mintFlags(emu.emulator)],
      {
        env: env(),
      },
    );
    expect(result.exitCode, describeCli(result)).toBe(0);
    const json = JSON.parse(result.stdout) as Record<string, string>;
    // aws-profile is the action's alone: mint writes no profile (configure-profile does).
    const mintOutputs = declaredOutputs.filter((name) => name !== "aws-profile");
    expect(Object.keys(json).sort()).toEqual([...mintOutputs, "mode"].sort());
    expect(json.mode).toBe("token");
    expect(json["token-id"]).toMatch(TOKEN_ID);
    expect(json["access-key-id"]).toBe(json["token-id"]);
    expect(json["secret-access-key"]).toMatch(/^[0-9a-f]{64}$/);
    expect(json["session-token"]).toBe("");
    expect(json.region).toBe("auto");
    expect(json.bucket).toBe(bucket);
    expect(json.endpoint).toBe(emu.emulator.s3Endpoint());
    expect(json["expires-at"]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/);
    const lifetime = Date.parse(json["expires-at"] as string) - Date.now();
    expect(lifetime).toBeGreaterThan(3_500_000);
    expect(lifetime).toBeLessThanOrEqual(3_600_000);

    // stderr: progress, never a secret, never a spinner (it is a pipe here).
    expectNoSecretIn(result.stderr, "stderr", {
      "secret access key": json["secret-access-key"],
      "input token": emu.minter.value,
    });
    expect(result.stderr).not.toMatch(SPINNER);
    expect(result.stderr).not.toContain("\r");
    expect(result.stderr).toContain(json["token-id"]);

    const s3 = s3ClientFromOutputs(json);
    expect(await putText(s3, bucket, "cli/json.txt", "from json")).toMatchObject({ ok: true });
    expect(await getText(s3, bucket, "cli/json.txt")).toMatchObject({ ok: true, body: "from json" });

    const revoked = await runCli(
      ["revoke", "--token-id", json["token-id"] as string, ...apiFlags(emu.emulator)],
      {
        env: env(),
      },
    );
    expect(revoked.exitCode, describeCli(revoked)).toBe(0);
  });

  test('--format env: `eval "$(r2-ephemeral-credentials mint …)"` exports working AWS_* variables', async () => {
    const args = [
      "mint",
      "--bucket",
      bucket,
      "--permission",
      "object-read-write",
      "--format",
      "env",
      ...mintFlags(emu.emulator),
    ];
    const script = [
      "set -euo pipefail",
      `eval "$(${cliCommandLine(args)})"`,
      'for v in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ENDPOINT_URL_S3 AWS_REGION AWS_DEFAULT_REGION AWS_CREDENTIAL_EXPIRATION AWS_REQUEST_CHECKSUM_CALCULATION AWS_RESPONSE_CHECKSUM_VALIDATION; do printf "%s=[%s]\\n" "$v" "$(printenv "$v")"; done',
      // exported, not just shell variables: a child process sees them
      'env | grep -c "^AWS_" >&2',
    ].join("\n");
    const shell = await runBash(script, { env: env() });
    expect(shell.exitCode, `${shell.stdout}\n${shell.stderr}`).toBe(0);
    const vars = Object.fromEntries(
      shell.stdout
        .trim()
        .split("\n")
        .map((line) => /^([A-Z0-9_]+)=\[(.*)\]$/.exec(line)?.slice(1, 3) as [string, string]),
    );
    expect(vars.AWS_ACCESS_KEY_ID).toMatch(TOKEN_ID);
    expect(vars.AWS_SECRET_ACCESS_KEY).toMatch(/^[0-9a-f]{64}$/);
    expect(vars.AWS_SESSION_TOKEN).toBe("");
    expect(vars.AWS_ENDPOINT_URL_S3).toBe(emu.emulator.s3Endpoint());
    expect(vars.AWS_REGION).toBe("auto");
    expect(vars.AWS_DEFAULT_REGION).toBe("auto");
    expect(Date.parse(vars.AWS_CREDENTIAL_EXPIRATION ?? "")).toBeGreaterThan(Date.now());
    expect(vars.AWS_REQUEST_CHECKSUM_CALCULATION).toBe("when_required");
    expect(vars.AWS_RESPONSE_CHECKSUM_VALIDATION).toBe("when_required");
    expect(shell.stderr).toMatch(/^9$/m);

    const s3 = s3ClientFromOutputs({
      "access-key-id": vars.AWS_ACCESS_KEY_ID as string,
      "secret-access-key": vars.AWS_SECRET_ACCESS_KEY as string,
      endpoint: vars.AWS_ENDPOINT_URL_S3 as string,
    });
    expect(await putText(s3, bucket, "cli/env.txt", "from env")).toMatchObject({ ok: true });
    expect(liveChildIds(emu.emulator)).toEqual([vars.AWS_ACCESS_KEY_ID]);
  });

  test("--format env quotes values for eval, and every line is a comment or an export", async () => {
    // Hybrid: the session token is base64 (+, /, =), the kind of value an unquoted export breaks.
    const result = await runCli(
      ["mint", "--bucket", bucket, "--prefixes", "in/", "--format", "env", ...mintFlags(emu.emulator)],
      { env: env() },
    );
    expect(result.exitCode, describeCli(result)).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    for (const line of lines) expect(line).toMatch(/^(#.*|export AWS_[A-Z0-9_]+='[^']*')$/);
    // What eval gives back is exactly what was printed between the quotes.
    const shell = await runBash('eval "$(cat)"; printf "%s" "$AWS_SESSION_TOKEN"', { input: result.stdout });
    const printed = /^export AWS_SESSION_TOKEN='([^']*)'$/m.exec(result.stdout)?.[1];
    expect(printed).toBeTruthy();
    expect(shell.stdout).toBe(printed);
  });

  test("--format dotenv: a dotenv parser reads the same credentials, which work", async () => {
    const result = await runCli(
      [
        "mint",
        "--bucket",
        bucket,
        "--prefixes",
        "dot/",
        "--permission",
        "object-read-write",
        "--format",
        "dotenv",
        ...mintFlags(emu.emulator),
      ],
      { env: env() },
    );
    expect(result.exitCode, describeCli(result)).toBe(0);
    for (const line of result.stdout.trimEnd().split("\n")) expect(line).toMatch(/^(#.*|AWS_[A-Z0-9_]+=.*)$/);
    const vars = parseEnv(result.stdout) as Record<string, string>;
    expect(Object.keys(vars).sort()).toEqual(
      [
        "AWS_ACCESS_KEY_ID",
        "AWS_CREDENTIAL_EXPIRATION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL_S3",
        "AWS_REGION",
        "AWS_REQUEST_CHECKSUM_CALCULATION",
        "AWS_RESPONSE_CHECKSUM_VALIDATION",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
      ].sort(),
    );
    expect(vars.AWS_SESSION_TOKEN).not.toBe("");
    const s3 = s3ClientFromOutputs({
      "access-key-id": vars.AWS_ACCESS_KEY_ID as string,
      "secret-access-key": vars.AWS_SECRET_ACCESS_KEY as string,
      "session-token": vars.AWS_SESSION_TOKEN as string,
      endpoint: vars.AWS_ENDPOINT_URL_S3 as string,
    });
    expect(await putText(s3, bucket, "dot/x.txt", "dotenv")).toMatchObject({ ok: true });
    expect(await putText(s3, bucket, "elsewhere/x.txt", "dotenv")).toMatchObject({ ok: false, status: 403 });
  });

  test("hybrid (--prefixes): narrowed temporary credentials from a child token; no secret on stderr, the child's value nowhere", async () => {
    const recorder: ApiRecorder = await startApiRecorder(emu.emulator.apiUrl);
    try {
      const result = await runCli(
        [
          "mint",
          "--bucket",
          bucket,
          "--prefixes",
          "pipelines/nightly/",
          "--permission",
          "object-read-write",
          "--api-url",
          recorder.apiUrl,
          "--s3-endpoint",
          emu.emulator.s3Endpoint(),
        ],
        { env: env() },
      );
      expect(result.exitCode, describeCli(result)).toBe(0);
      const json = JSON.parse(result.stdout) as Record<string, string>;
      expect(json.mode).toBe("hybrid");
      expect(json["token-id"]).toMatch(TOKEN_ID);
      expect(json["access-key-id"]).not.toBe(json["token-id"]);
      expect(json["session-token"]).not.toBe("");
      expect(liveChildIds(emu.emulator)).toEqual([json["token-id"]]);

      const childValue = recorder.childValue(json["token-id"] as string);
      expect(childValue, "the recorder saw the child token's value").toBeTruthy();
      expect(result.stdout).not.toContain(childValue);
      expectNoSecretIn(result.stderr, "stderr", {
        "child token value": childValue,
        "secret access key": json["secret-access-key"],
        "session token": json["session-token"],
        "input token": emu.minter.value,
      });

      const s3 = s3ClientFromOutputs(json);
      expect(await putText(s3, bucket, "pipelines/nightly/a.txt", "ok")).toMatchObject({ ok: true });
      expect(await putText(s3, bucket, "pipelines/other/a.txt", "no")).toMatchObject({
        ok: false,
        status: 403,
      });

      // Revoking the child kills the temporary credentials.
      const revoked = await runCli(
        ["revoke", "--token-id", json["token-id"] as string, ...apiFlags(emu.emulator)],
        {
          env: env(),
        },
      );
      expect(revoked.exitCode, describeCli(revoked)).toBe(0);
      expect(await putText(s3, bucket, "pipelines/nightly/b.txt", "no")).toMatchObject({
        ok: false,
        status: 403,
      });
    } finally {
      await recorder.close();
    }
  });

  test("--mode temporary: session credentials, no child token, empty token-id", async () => {
    const { result, json } = await mintJson(["--bucket", bucket, "--mode", "temporary", "--ttl", "15m"]);
    expect(json.mode).toBe("temporary");
    expect(json["token-id"]).toBe("");
    expect(json["session-token"]).not.toBe("");
    expect(liveChildIds(emu.emulator)).toEqual([]);
    const lifetime = Date.parse(json["expires-at"] as string) - Date.now();
    expect(lifetime).toBeGreaterThan(800_000);
    expect(lifetime).toBeLessThanOrEqual(900_000);
    expectNoSecretIn(result.stderr, "stderr", {
      "secret access key": json["secret-access-key"],
      "session token": json["session-token"],
    });
    const s3 = s3ClientFromOutputs(json);
    emu.emulator.putObject(bucket, "temp/read.txt", "readable");
    expect(await getText(s3, bucket, "temp/read.txt")).toMatchObject({ ok: true, body: "readable" });
    expect(await putText(s3, bucket, "temp/write.txt", "no")).toMatchObject({ ok: false, status: 403 });
  });

  test("several buckets (repeated and comma-separated) in one token; --token-scope user", async () => {
    const second = bucketName("cli-2");
    emu.emulator.createBucket(second);
    const { json } = await mintJson(
      [
        "--bucket",
        `${bucket},${second}`,
        "--bucket",
        bucket,
        "--token-scope",
        "user",
        "--permission",
        "object-read-write",
      ],
      emu.userMinter,
    );
    expect(json.bucket).toBe(`${bucket},${second}`);
    expect(emu.emulator.liveChildTokens().map((t) => [t.id, t.scope])).toEqual([[json["token-id"], "user"]]);
    const s3 = s3ClientFromOutputs(json);
    expect(await putText(s3, second, "k", "v")).toMatchObject({ ok: true });
    const revoked = await runCli(
      [
        "revoke",
        "--token-id",
        json["token-id"] as string,
        "--token-scope",
        "user",
        ...apiFlags(emu.emulator),
      ],
      { env: env(emu.userMinter) },
    );
    expect(revoked.exitCode, describeCli(revoked)).toBe(0);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });

  test("--quiet: nothing on stderr on success", async () => {
    const { result, json } = await mintJson(["--bucket", bucket, "--quiet"]);
    expect(result.stderr).toBe("");
    await runCli(["revoke", "--token-id", json["token-id"] as string, ...apiFlags(emu.emulator)], {
      env: env(),
    });
  });

  test("a readiness timeout: exit 1, stdout empty, the child deleted", async () => {
    emu.emulator.set({ propagationDelayMs: 60_000 });
    try {
      const result = await runCli(
        ["mint", "--bucket", bucket, "--wait-timeout", "1", ...mintFlags(emu.emulator)],
        {
          env: env(),
        },
      );
      expect(result.exitCode, describeCli(result)).toBe(1);
      expect(result.stdout).toBe("");
      expect(callsTo(emu.emulator, "tokens.delete")).toHaveLength(1);
      expect(liveChildIds(emu.emulator)).toEqual([]);
    } finally {
      emu.emulator.set({ propagationDelayMs: 0 });
    }
  });

  test("--quiet silences progress, never a child token it could not delete", async () => {
    emu.emulator.set({ propagationDelayMs: 60_000 });
    emu.emulator.injectFault({ route: "tokens.delete", times: 5, kind: FORBIDDEN_9109 });
    try {
      const result = await runCli(
        ["mint", "--bucket", bucket, "--wait-timeout", "1", "--quiet", ...mintFlags(emu.emulator)],
        { env: env() },
      );
      expect(result.exitCode, describeCli(result)).toBe(1);
      const [child] = liveChildIds(emu.emulator);
      expect(child).toMatch(TOKEN_ID);
      expect(result.stderr).toContain(`Could not delete child token ${child} after the failure`);
      expect(result.stderr).not.toContain("Created child token");
    } finally {
      emu.emulator.clearFaults();
      emu.emulator.set({ propagationDelayMs: 0 });
    }
  });

  test("on a terminal, stderr shows a progress line during the readiness wait and clears it; stdout stays clean JSON", async () => {
    emu.emulator.set({ propagationDelayMs: 1_200 });
    try {
      const tty = await runCliInTty(["mint", "--bucket", bucket, ...mintFlags(emu.emulator)], { env: env() });
      expect(tty.exitCode, tty.terminal).toBe(0);
      expect(tty.terminal).toMatch(SPINNER);
      expect(tty.terminal).toContain("waiting for the S3 endpoint");
      expect(tty.terminal).toContain("\r\u001b[2K");
      const json = JSON.parse(tty.stdout) as Record<string, string>;
      expect(json["token-id"]).toMatch(TOKEN_ID);
      expect(tty.terminal).not.toContain(json["secret-access-key"]);
      // The same wait into a pipe: no progress line at all.
      const piped = await runCli(["mint", "--bucket", bucket, ...mintFlags(emu.emulator)], { env: env() });
      expect(piped.exitCode, describeCli(piped)).toBe(0);
      expect(piped.stderr).not.toMatch(SPINNER);
      expect(piped.stderr).not.toContain("\r");
      expect(piped.stderr).not.toContain("waiting for the S3 endpoint to accept");
    } finally {
      emu.emulator.set({ propagationDelayMs: 0 });
    }
  });
});

describe("revoke", () => {
  test("deletes the token, the S3 endpoint refuses it; a second revoke says already gone, exit 0", async () => {
    const { json } = await mintJson(["--bucket", bucket, "--permission", "object-read-write"]);
    const id = json["token-id"] as string;
    const s3 = s3ClientFromOutputs(json);
    expect(await putText(s3, bucket, "rv/before.txt", "x")).toMatchObject({ ok: true });
    emu.emulator.resetCalls();

    const first = await runCli(["revoke", "--token-id", id, ...apiFlags(emu.emulator)], { env: env() });
    expect(first.exitCode, describeCli(first)).toBe(0);
    expect(`${first.stdout}${first.stderr}`).toMatch(new RegExp(`[Rr]evoked.*${id}`));
    expect(callSequence(emu.emulator)).toEqual(["tokens.delete 200"]);
    expect(liveChildIds(emu.emulator)).toEqual([]);
    expect(await putText(s3, bucket, "rv/after.txt", "x")).toMatchObject({ ok: false, status: 403 });

    emu.emulator.resetCalls();
    const second = await runCli(["revoke", "--token-id", id, ...apiFlags(emu.emulator)], { env: env() });
    expect(second.exitCode, describeCli(second)).toBe(0);
    expect(`${second.stdout}${second.stderr}`).toMatch(/already gone/);
    expect(second.stderr).not.toMatch(/error|warning/i);
    expect(callSequence(emu.emulator)).toEqual(["tokens.delete 404"]);
  });
});
