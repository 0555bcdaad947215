// `r2-ephemeral-credentials exec … -- CMD`: the built CLI runs real child processes against the
// emulator. What CMD gets in its environment (and what it does not), a real client using it, the
// exit-status table (CMD's own, 128+n, 127, 126, 2 before CMD starts), signals sent to the CLI and a
// real Ctrl-C typed on a terminal, and the revocation that follows whatever ended CMD.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { SeededToken } from "../../emulator/types.js";
import { spawnWithTimeout } from "../../scripts/harness/spawn.js";
import {
  type CliResult,
  cliCommandLine,
  cliEnv,
  describeCli,
  mintFlags,
  runCli,
  shellQuote,
  startCli,
  waitUntil,
} from "../helpers/cli.js";
import { needClients, requireClient } from "../helpers/clients.js";
import { bucketName, callsTo, FORBIDDEN_9109, liveChildIds } from "../helpers/emulator.js";
import { useEmulator } from "../helpers/use-emulator.js";

const bucket = bucketName("exec");
const emu = useEmulator({ buckets: [bucket], leftovers: "delete" });

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "r2e-exec-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function env(token: SeededToken = emu.minter, extra: Record<string, string> = {}): Record<string, string> {
  return { ...cliEnv(emu.emulator, token), DIR: dir, ...extra };
}

/** A CMD script in the test's folder (sh), executable unless told otherwise. */
function script(name: string, body: string, executable = true): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: executable ? 0o755 : 0o644 });
  return file;
}

function exec(args: string[], command: string[], token?: SeededToken, extra?: Record<string, string>) {
  return runCli(["exec", "--bucket", bucket, ...mintFlags(emu.emulator), ...args, "--", ...command], {
    env: env(token, extra),
  });
}

/** The environment CMD saw, as `env -0` wrote it. */
function childEnv(): Record<string, string> {
  const raw = fs.readFileSync(path.join(dir, "env"), "utf8");
  return Object.fromEntries(
    raw
      .split("\0")
      .filter(Boolean)
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
}

function expectRevoked(result: CliResult): void {
  expect(liveChildIds(emu.emulator), describeCli(result)).toEqual([]);
  expect(callsTo(emu.emulator, "tokens.delete").map((c) => c.status)).toEqual([200]);
}

describe("what CMD gets", () => {
  test("the AWS_* variables, the checksum settings and the nesting marker; no profile, no stale session token, no account token", async () => {
    const result = await exec([], ["sh", "-c", 'env -0 > "$DIR/env"'], undefined, {
      AWS_PROFILE: "work",
      AWS_DEFAULT_PROFILE: "work",
      AWS_SESSION_TOKEN: "stale-session-token",
      AWS_SECURITY_TOKEN: "stale-security-token",
      AWS_RESPONSE_CHECKSUM_VALIDATION: "when_supported",
      UNRELATED: "kept",
    });
    expect(result.exitCode, describeCli(result)).toBe(0);
    const seen = childEnv();
    // Token mode: the key id is the child token's id, the one exec deleted afterwards.
    expect(seen.AWS_ACCESS_KEY_ID).toMatch(/^[0-9a-f]{32}$/);
    expect(callsTo(emu.emulator, "tokens.delete")[0]?.path.split("/").at(-1)).toBe(seen.AWS_ACCESS_KEY_ID);
    expect(seen.AWS_SECRET_ACCESS_KEY).toMatch(/^[0-9a-f]{64}$/);
    expect(seen.AWS_ENDPOINT_URL_S3).toBe(emu.emulator.s3Endpoint());
    expect(seen.AWS_REGION).toBe("auto");
    expect(seen.AWS_DEFAULT_REGION).toBe("auto");
    expect(seen.AWS_CREDENTIAL_EXPIRATION).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(Date.parse(seen.AWS_CREDENTIAL_EXPIRATION as string)).toBeGreaterThan(Date.now() + 3_000_000);
    expect(seen.AWS_REQUEST_CHECKSUM_CALCULATION).toBe("when_required");
    // The user's own choice is left alone.
    expect(seen.AWS_RESPONSE_CHECKSUM_VALIDATION).toBe("when_supported");
    expect(seen.R2_EPHEMERAL_CREDENTIALS).toBe("1");
    expect(seen.UNRELATED).toBe("kept");
    for (const gone of [
      "AWS_PROFILE",
      "AWS_DEFAULT_PROFILE",
      "AWS_SESSION_TOKEN",
      "AWS_SECURITY_TOKEN",
      "CLOUDFLARE_API_TOKEN",
    ]) {
      expect(seen, gone).not.toHaveProperty(gone);
    }
    // Nothing on our stdout; progress (no secret) on stderr.
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/Created child token/);
    expect(result.stderr).toMatch(/accepted the credentials after \d+ ms/);
    expect(result.stderr).toMatch(/Revoked token [0-9a-f]{32}/);
    for (const secret of [seen.AWS_SECRET_ACCESS_KEY as string, emu.minter.value]) {
      expect(result.stderr.includes(secret)).toBe(false);
    }
    expectRevoked(result);
  });

  test("hybrid mode (--prefixes): CMD gets the session token, and loses access when exec revokes", async () => {
    const result = await exec(
      ["--prefixes", "in/", "--permission", "object-read-write"],
      ["sh", "-c", 'env -0 > "$DIR/env"'],
    );
    expect(result.exitCode, describeCli(result)).toBe(0);
    const seen = childEnv();
    expect(seen.AWS_SESSION_TOKEN).toBeTruthy();
    expect(result.stderr.includes(seen.AWS_SESSION_TOKEN as string)).toBe(false);
    expect(result.stderr.includes(seen.AWS_SECRET_ACCESS_KEY as string)).toBe(false);
    expectRevoked(result);
  });

  test("a real client: Debian's AWS CLI uploads with what exec gave it; after exec the same credentials are refused", async (ctx) => {
    needClients(ctx, "aws");
    const aws = requireClient("aws");
    fs.writeFileSync(path.join(dir, "data.csv"), "a,b\n1,2\n");
    // AWS CLI 2.9 predates AWS_ENDPOINT_URL_S3, so the endpoint is passed explicitly.
    const upload = `${shellQuote(aws)} --endpoint-url "$AWS_ENDPOINT_URL_S3" s3 cp "$DIR/data.csv" s3://${bucket}/exec/data.csv && env -0 > "$DIR/env"`;
    const result = await exec(["--permission", "object-read-write"], ["sh", "-c", upload]);
    expect(result.exitCode, describeCli(result)).toBe(0);
    expect(Buffer.from(emu.emulator.getObject(bucket, "exec/data.csv") ?? []).toString()).toBe("a,b\n1,2\n");
    expectRevoked(result);

    const seen = childEnv();
    const refused = await spawnWithTimeout(
      aws,
      ["--endpoint-url", emu.emulator.s3Endpoint(), "s3", "ls", `s3://${bucket}/`],
      {
        env: {
          PATH: process.env.PATH,
          HOME: dir,
          AWS_ACCESS_KEY_ID: seen.AWS_ACCESS_KEY_ID,
          AWS_SECRET_ACCESS_KEY: seen.AWS_SECRET_ACCESS_KEY,
          AWS_REGION: "auto",
        },
      },
    );
    expect(refused.exitCode).not.toBe(0);
  });

  test("temporary mode: nothing to revoke, so exec says when the credentials expire", async () => {
    const result = await exec(["--mode", "temporary"], ["sh", "-c", 'env -0 > "$DIR/env"']);
    expect(result.exitCode, describeCli(result)).toBe(0);
    expect(childEnv().AWS_SESSION_TOKEN).toBeTruthy();
    expect(result.stderr).toMatch(/Temporary credentials cannot be revoked; they expire at \d{4}-/);
    expect(callsTo(emu.emulator, "tokens.delete")).toEqual([]);
  });

  test("--quiet: no progress at all on success", async () => {
    const result = await exec(["--quiet"], ["true"]);
    expect(result.exitCode, describeCli(result)).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("");
    expectRevoked(result);
  });
});

describe("exit status: CMD's own, and the token revoked whatever ended CMD", () => {
  const cases: [string, number, () => string[]][] = [
    ["exits 0", 0, () => ["sh", "-c", "exit 0"]],
    ["exits 1 (its own 1, not ours)", 1, () => ["sh", "-c", "exit 1"]],
    ["exits 42", 42, () => ["sh", "-c", "exit 42"]],
    ["kills itself with SIGTERM", 128 + 15, () => ["sh", "-c", "kill -TERM $$"]],
    ["kills itself with SIGKILL", 128 + 9, () => ["sh", "-c", "kill -KILL $$"]],
    ["crashes (SIGSEGV)", 128 + 11, () => ["sh", "-c", "kill -SEGV $$"]],
    ["does not exist", 127, () => ["r2e-no-such-command-anywhere"]],
    ["is not executable", 126, () => [script("not-executable.sh", "exit 0", false)]],
    ["is a folder", 126, () => [os.tmpdir()]],
  ];
  test.each(cases)("CMD %s → exit %i", async (label, status, command) => {
    const result = await exec([], command());
    expect(result.exitCode, describeCli(result)).toBe(status);
    expect(result.stdout).toBe("");
    if (status === 127) expect(result.stderr).toMatch(/r2e-no-such-command-anywhere: command not found/);
    if (label.includes("executable")) expect(result.stderr).toMatch(/cannot be run/);
    expectRevoked(result);
  });

  test("our own failures before CMD starts are 2, and CMD never starts", async () => {
    const marker = script("mark.sh", 'touch "$DIR/started"');
    const refusedToken = emu.emulator.seedToken({ scope: "account", preset: "no-permissions" });
    const runs: [string, Promise<CliResult>, RegExp][] = [
      ["a bad flag", exec(["--ttl", "1s"], [marker]), /--ttl/],
      ["an unknown flag", exec(["--bogus"], [marker]), /--bogus/],
      ["mint refused by Cloudflare", exec([], [marker], refusedToken), /403|permission|Unauthorized/i],
      [
        "nested inside another exec",
        exec([], [marker], undefined, { R2_EPHEMERAL_CREDENTIALS: "1" }),
        /already running inside r2-ephemeral-credentials exec/,
      ],
      [
        "no command after --",
        runCli(["exec", "--bucket", bucket, ...mintFlags(emu.emulator)], { env: env() }),
        /needs a command after --/,
      ],
    ];
    for (const [label, run, message] of runs) {
      const result = await run;
      expect(result.exitCode, `${label}\n${describeCli(result)}`).toBe(2);
      expect(result.stderr, label).toMatch(message);
      expect(result.stdout, label).toBe("");
    }
    expect(fs.existsSync(path.join(dir, "started"))).toBe(false);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });

  test("a failed revoke keeps CMD's status and warns with the token id", async () => {
    emu.emulator.injectFault({
      route: "tokens.delete",
      kind: FORBIDDEN_9109,
      times: 10,
    });
    const result = await exec(["--quiet"], ["sh", "-c", "exit 5"]);
    expect(result.exitCode, describeCli(result)).toBe(5);
    const [id] = liveChildIds(emu.emulator);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(result.stderr).toContain(`warning: could not revoke token ${id}`);
    expect(result.stderr).toContain(`revoke --token-id ${id}`);
  });
});

describe("signals", () => {
  /**
   * CMD: says it started, records each signal it gets, and leaves on `stop` (exit = number of INTs)
   * or TERM/HUP. Node handles each delivery as it comes, so a second SIGINT a few milliseconds after
   * the first is counted (a shell trap, busy in a foreground sleep, would merge them).
   */
  function waiter(): string[] {
    const program = `
      const fs = require("node:fs"), path = require("node:path"), dir = process.env.DIR;
      let ints = 0;
      process.on("SIGINT", () => fs.writeFileSync(path.join(dir, "ints"), String(++ints)));
      process.on("SIGTERM", () => { fs.writeFileSync(path.join(dir, "signal"), "TERM"); process.exit(7); });
      process.on("SIGHUP", () => { fs.writeFileSync(path.join(dir, "signal"), "HUP"); process.exit(8); });
      fs.writeFileSync(path.join(dir, "started"), "");
      setInterval(() => { if (fs.existsSync(path.join(dir, "stop"))) process.exit(ints); }, 10);
    `;
    return [process.execPath, "-e", program];
  }
  const started = () => fs.existsSync(path.join(dir, "started"));

  test.each([
    ["SIGTERM", "TERM", 7],
    ["SIGHUP", "HUP", 8],
  ] as const)("%s sent to the CLI reaches CMD; CMD's status, token revoked", async (signal, seen, status) => {
    const cli = startCli(["exec", "--bucket", bucket, ...mintFlags(emu.emulator), "--", ...waiter()], {
      env: env(),
    });
    await waitUntil("CMD to start", started);
    cli.kill(signal);
    const result = await cli.done;
    expect(result.exitCode, describeCli(result)).toBe(status);
    expect(fs.readFileSync(path.join(dir, "signal"), "utf8").trim()).toBe(seen);
    expectRevoked(result);
  });

  test("SIGTERM to the CLI when CMD does not handle it: CMD dies of it, exit 143, token revoked", async () => {
    const cmd = script("sleeper.sh", 'touch "$DIR/started"\nexec sleep 30');
    const cli = startCli(["exec", "--bucket", bucket, ...mintFlags(emu.emulator), "--", cmd], { env: env() });
    await waitUntil("CMD to start", started);
    cli.kill("SIGTERM");
    const result = await cli.done;
    expect(result.exitCode, describeCli(result)).toBe(143);
    expectRevoked(result);
  });

  test("SIGINT sent to the CLI alone (a supervisor, no terminal) reaches CMD exactly once", async () => {
    const cli = startCli(["exec", "--bucket", bucket, ...mintFlags(emu.emulator), "--", ...waiter()], {
      env: env(),
    });
    await waitUntil("CMD to start", started);
    cli.kill("SIGINT");
    await waitUntil("CMD to see the INT", () => fs.existsSync(path.join(dir, "ints")));
    await new Promise((resolve) => setTimeout(resolve, 300));
    fs.writeFileSync(path.join(dir, "stop"), "");
    const result = await cli.done;
    expect(result.exitCode, describeCli(result)).toBe(1);
    expectRevoked(result);
  });

  test("Ctrl-C typed on a terminal reaches CMD once (from the terminal, not again from us); exec waits for CMD and revokes", async () => {
    // script(1) gives the CLI a pseudo-terminal; ^C written to it is turned into SIGINT for the
    // terminal's foreground process group, which holds the CLI and CMD, as in a real shell.
    // exec: the CLI is script's child itself, so script -e returns the CLI's own status.
    const inner = `exec ${cliCommandLine(["exec", "--bucket", bucket, ...mintFlags(emu.emulator), "--", ...waiter()])}`;
    const cli = startCli([], {
      command: ["/usr/bin/script", "-qec", inner, "/dev/null"],
      env: { ...env(), TERM: "xterm" },
    });
    await waitUntil("CMD to start", started);
    cli.write("\u0003");
    await waitUntil("CMD to see the INT", () => fs.existsSync(path.join(dir, "ints")));
    await new Promise((resolve) => setTimeout(resolve, 300));
    fs.writeFileSync(path.join(dir, "stop"), "");
    const result = await cli.done;
    // script -e returns the CLI's status, which is CMD's: the number of INTs it saw.
    expect(result.exitCode, describeCli(result)).toBe(1);
    expect(fs.readFileSync(path.join(dir, "ints"), "utf8").trim()).toBe("1");
    expectRevoked(result);
  });

  test("SIGTERM while waiting for the S3 endpoint: CMD never starts, the token is deleted (its DELETE retried after a 503), exit 143", async () => {
    emu.emulator.set({ propagationDelayMs: 20_000 });
    const marker = script("mark.sh", 'touch "$DIR/started"');
    const cli = startCli(["exec", "--bucket", bucket, ...mintFlags(emu.emulator), "--", marker], {
      env: env(),
    });
    await waitUntil("the child token", () => /Created child token/.test(cli.stderr()));
    // The interrupt ends the readiness wait at once, not the clean-up's retries.
    emu.emulator.injectFault({ route: "tokens.delete", kind: { type: "status", status: 503 } });
    cli.kill("SIGTERM");
    const result = await cli.done;
    expect(result.exitCode, describeCli(result)).toBe(143);
    expect(result.durationMs).toBeLessThan(10_000);
    expect(started()).toBe(false);
    expect(callsTo(emu.emulator, "tokens.delete").map((c) => c.status)).toEqual([503, 200]);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });
});
