// `r2-ephemeral-credentials presign` end to end: URLs that plain `fetch` (no SDK, no credentials) can
// use against the emulator's SigV4-verifying S3 endpoint; the child token behind them, which lives as
// long as they do and is not revoked; what kills them (expiry, tampering, revoking the token); and
// --from-env, which signs with the AWS_* variables and mints nothing.
import { createHash } from "node:crypto";
import { describe, expect, test } from "vitest";
import { presignCommand } from "../../src/cli/commands/presign.js";
import { cliEnv, describeCli, mintFlags, runCli } from "../helpers/cli.js";
import { bucketName, callSequence, ITEM_READ_GROUP, ITEM_WRITE_GROUP } from "../helpers/emulator.js";
import { useEmulator } from "../helpers/use-emulator.js";

// presign leaves its token alive on purpose: the URLs die with it.
const emu = useEmulator({ leftovers: "delete" });

interface PresignedRow {
  key: string;
  method: string;
  url: string;
  "expires-at": string;
  "token-id": string;
}

function presign(args: string[], env: Record<string, string> = cliEnv(emu.emulator, emu.minter)) {
  return runCli(["presign", ...args], { env });
}

async function presignJson(args: string[]): Promise<PresignedRow[]> {
  const run = await presign([...args, "--format", "json", ...mintFlags(emu.emulator)]);
  expect(run.exitCode, describeCli(run)).toBe(0);
  return JSON.parse(run.stdout) as PresignedRow[];
}

function s3Code(body: string): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
}

const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");

describe("presign", () => {
  test("GET URLs work with plain fetch; one read-only child backs them for exactly their lifetime, named on stderr and left alive", async () => {
    const bucket = bucketName("ps-get");
    emu.emulator.createBucket(bucket);
    const keys = ["reports/2026/q3.csv", "odd keys/Q3 (final)! it's *done*.txt"];
    for (const key of keys) emu.emulator.putObject(bucket, key, `body of ${key}`);

    const run = await presign([
      "--bucket",
      bucket,
      "--key",
      keys[0] as string,
      "--key",
      keys[1] as string,
      "--expires",
      "2h",
      ...mintFlags(emu.emulator),
    ]);
    expect(run.exitCode, describeCli(run)).toBe(0);
    const urls = run.stdout.trimEnd().split("\n");
    expect(urls).toHaveLength(2);
    for (const [i, url] of urls.entries()) {
      const res = await fetch(url);
      expect(res.status, url).toBe(200);
      expect(await res.text()).toBe(`body of ${keys[i]}`);
    }

    const [child, ...others] = emu.emulator.liveChildTokens();
    expect(others).toEqual([]);
    expect(child?.policies.flatMap((p) => p.permission_groups.map((g) => g.id))).toEqual([ITEM_READ_GROUP]);
    const lifetime = Date.parse(child?.expires_on ?? "") - Date.parse(child?.issued_on ?? "");
    expect(Math.abs(lifetime - 2 * 3_600_000)).toBeLessThanOrEqual(1_000);
    const params = new URL(urls[0] as string).searchParams;
    expect(params.get("X-Amz-Credential")?.split("/")[0]).toBe(child?.id);
    // Never longer than the token behind it, which was created a moment before the URLs were signed.
    expect(Number(params.get("X-Amz-Expires"))).toBeGreaterThan(7200 - 30);
    expect(Number(params.get("X-Amz-Expires"))).toBeLessThanOrEqual(7200);
    // stderr says which token backs the URLs and until when, and never prints a URL.
    expect(run.stderr).toContain(`backed by child token ${child?.id}`);
    expect(run.stderr).toContain(new Date(Date.parse(child?.expires_on ?? "")).toISOString());
    expect(run.stderr).not.toContain("X-Amz-Signature");
    expect(callSequence(emu.emulator)).toEqual(["tokens.create 200"]);
  });

  test("a PUT URL uploads the bytes sent with plain fetch, carries no checksum parameter, and is backed by a read-write child", async () => {
    const bucket = bucketName("ps-put");
    emu.emulator.createBucket(bucket);
    const [row] = await presignJson([
      "--bucket",
      bucket,
      "--key",
      "in/upload.bin",
      "--method",
      "put",
      "--expires",
      "15m",
    ]);
    expect(row).toMatchObject({ key: "in/upload.bin", method: "PUT" });
    const names = [...new URL(row?.url ?? "").searchParams.keys()].map((n) => n.toLowerCase());
    expect(names.filter((n) => n.includes("checksum"))).toEqual([]);
    expect(names).toContain("x-amz-signedheaders");
    expect(new URL(row?.url ?? "").searchParams.get("X-Amz-SignedHeaders")).toBe("host");

    const bytes = new Uint8Array(70_000).map((_, i) => (i * 31) % 256);
    const res = await fetch(row?.url ?? "", { method: "PUT", body: bytes });
    expect(res.status, await res.text()).toBe(200);
    expect(Buffer.from(emu.emulator.getObject(bucket, "in/upload.bin") ?? [])).toEqual(Buffer.from(bytes));

    const child = emu.emulator.liveChildTokens().find((t) => t.id === row?.["token-id"]);
    expect(child?.policies.flatMap((p) => p.permission_groups.map((g) => g.id))).toEqual([ITEM_WRITE_GROUP]);
    expect(Date.parse(row?.["expires-at"] ?? "")).toBeLessThanOrEqual(Date.parse(child?.expires_on ?? ""));
  });

  test("a URL is refused once the emulator's clock passes its expiry (403 ExpiredRequest), and when tampered with (403 SignatureDoesNotMatch)", async () => {
    const bucket = bucketName("ps-late");
    emu.emulator.createBucket(bucket);
    emu.emulator.putObject(bucket, "a.txt", "a");
    emu.emulator.putObject(bucket, "b.txt", "b");
    const [row] = await presignJson(["--bucket", bucket, "--key", "a.txt", "--expires", "10m"]);
    const url = row?.url ?? "";
    expect((await fetch(url)).status).toBe(200);

    const otherKey = url.replace("/a.txt?", "/b.txt?");
    const longer = url.replace(/X-Amz-Expires=\d+/, "X-Amz-Expires=604800");
    const asPut = { method: "PUT", body: "overwritten" };
    for (const [label, attempt] of [
      ["another key", fetch(otherKey)],
      ["a longer expiry", fetch(longer)],
      ["another method", fetch(url, asPut)],
    ] as const) {
      const res = await attempt;
      expect([label, res.status, s3Code(await res.text())]).toEqual([label, 403, "SignatureDoesNotMatch"]);
    }
    expect(new TextDecoder().decode(emu.emulator.getObject(bucket, "a.txt"))).toBe("a");

    emu.emulator.set({ clockOffsetMs: 10 * 60_000 + 2_000 });
    const late = await fetch(url);
    expect([late.status, s3Code(await late.text())]).toEqual([403, "ExpiredRequest"]);
  });

  test("--jurisdiction eu mints for the eu bucket and signs URLs for the eu endpoint", async () => {
    const bucket = bucketName("ps-eu");
    emu.emulator.createBucket(bucket, "eu");
    emu.emulator.putObject(bucket, "eu.txt", "in the eu", "eu");
    const run = await presign(["--bucket", bucket, "--key", "eu.txt", ...mintFlags(emu.emulator, "eu")]);
    expect(run.exitCode, describeCli(run)).toBe(0);
    const url = run.stdout.trim();
    expect(url.startsWith(`${emu.emulator.s3Endpoint("eu")}/${bucket}/eu.txt?`)).toBe(true);
    const res = await fetch(url);
    expect([res.status, await res.text()]).toEqual([200, "in the eu"]);
  });

  test("sweep --older-than deletes the backing token, and every URL it signed dies with it", async () => {
    const bucket = bucketName("ps-swept");
    emu.emulator.createBucket(bucket);
    emu.emulator.putObject(bucket, "kept.txt", "kept");
    const [row] = await presignJson(["--bucket", bucket, "--key", "kept.txt", "--expires", "1d"]);
    expect((await fetch(row?.url ?? "")).status).toBe(200);

    const swept = await runCli(["sweep", "--older-than", "0s", "--api-url", emu.emulator.apiUrl], {
      env: cliEnv(emu.emulator, emu.minter),
    });
    expect(swept.exitCode, describeCli(swept)).toBe(0);
    expect(swept.stdout).toContain(row?.["token-id"]);
    expect((await fetch(row?.url ?? "")).status).toBe(403);
  });

  describe("--from-env", () => {
    test("signs with an API token's key pair from AWS_*, mints nothing and calls no API; token-id is its access key id", async () => {
      const bucket = bucketName("ps-env");
      emu.emulator.createBucket(bucket);
      const writer = emu.emulator.seedToken({
        scope: "account",
        preset: "r2-bucket-write",
        buckets: [bucket],
      });
      const run = await presign(
        ["--from-env", "--bucket", bucket, "--key", "from-env.txt", "--method", "PUT", "--format", "json"],
        {
          AWS_ACCESS_KEY_ID: writer.id,
          AWS_SECRET_ACCESS_KEY: sha256(writer.value),
          AWS_ENDPOINT_URL_S3: emu.emulator.s3Endpoint(),
        },
      );
      expect(run.exitCode, describeCli(run)).toBe(0);
      const [row] = JSON.parse(run.stdout) as PresignedRow[];
      expect(row?.["token-id"]).toBe(writer.id);
      expect((await fetch(row?.url ?? "", { method: "PUT", body: "hello" })).status).toBe(200);
      expect(new TextDecoder().decode(emu.emulator.getObject(bucket, "from-env.txt"))).toBe("hello");
      expect(emu.emulator.calls).toEqual([]);
      expect(emu.emulator.liveChildTokens()).toEqual([]);
      expect(run.stderr).toContain("nothing minted");
      expect(run.stderr).not.toContain(sha256(writer.value));
    });

    test("signs with temporary credentials (session token) and never outlives AWS_CREDENTIAL_EXPIRATION", async () => {
      const bucket = bucketName("ps-temp");
      emu.emulator.createBucket(bucket);
      emu.emulator.putObject(bucket, "shared/data.json", "{}");
      const minted = await runCli(
        [
          "mint",
          "--bucket",
          bucket,
          "--prefixes",
          "shared/",
          "--ttl",
          "1h",
          "--format",
          "dotenv",
          ...mintFlags(emu.emulator),
        ],
        { env: cliEnv(emu.emulator, emu.minter) },
      );
      expect(minted.exitCode, describeCli(minted)).toBe(0);
      const awsEnv = Object.fromEntries(
        minted.stdout
          .split("\n")
          .filter((line) => line.startsWith("AWS_"))
          .map((line) => {
            const eq = line.indexOf("=");
            const value = line.slice(eq + 1);
            return [line.slice(0, eq), value.startsWith('"') ? (JSON.parse(value) as string) : value];
          }),
      ) as Record<string, string>;
      expect(awsEnv.AWS_SESSION_TOKEN).not.toBe("");
      emu.emulator.resetCalls();

      const run = await presign(
        [
          "--from-env",
          "--bucket",
          bucket,
          "--key",
          "shared/data.json",
          "--expires",
          "2h",
          "--format",
          "json",
        ],
        awsEnv,
      );
      expect(run.exitCode, describeCli(run)).toBe(0);
      const [row] = JSON.parse(run.stdout) as PresignedRow[];
      expect(new URL(row?.url ?? "").searchParams.get("X-Amz-Security-Token")).toBe(awsEnv.AWS_SESSION_TOKEN);
      expect(Date.parse(row?.["expires-at"] ?? "")).toBeLessThanOrEqual(
        Date.parse(awsEnv.AWS_CREDENTIAL_EXPIRATION ?? ""),
      );
      expect(row?.["token-id"]).toBe("");
      const res = await fetch(row?.url ?? "");
      expect([res.status, await res.text()]).toEqual([200, "{}"]);
      expect(emu.emulator.calls).toEqual([]);
    });

    test("refuses clearly when the AWS_* variables are missing, or with flags that only steer a mint", async () => {
      const base = ["presign", "--from-env", "--bucket", "some-bucket", "--key", "k"];
      const missing = await runCli(base, { env: { AWS_ACCESS_KEY_ID: "0123456789abcdef0123456789abcdef" } });
      expect(missing.exitCode).toBe(2);
      expect(missing.stderr).toContain("AWS_SECRET_ACCESS_KEY is not set");
      const noEndpoint = await runCli(base, { env: { AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b" } });
      expect(noEndpoint.exitCode).toBe(2);
      expect(noEndpoint.stderr).toContain("AWS_ENDPOINT_URL_S3 is not set");
      const named = await runCli([...base, "--token-name", "mine"], {
        env: {
          AWS_ACCESS_KEY_ID: "a",
          AWS_SECRET_ACCESS_KEY: "b",
          AWS_ENDPOINT_URL_S3: "https://example.com",
        },
      });
      expect(named.exitCode).toBe(2);
      expect(named.stderr).toContain("Flag --token-name applies only when presign mints");
      for (const run of [missing, noEndpoint, named]) expect(run.stdout).toBe("");
    });
  });

  test("bad flags are refused before any call", async () => {
    const bucket = bucketName("ps-bad");
    const cases: [string[], RegExp][] = [
      [["--bucket", bucket, "--key", "k", "--expires", "30s"], /Flag --expires is "30s"/],
      [["--bucket", bucket, "--key", "k", "--method", "POST"], /Flag --method is "POST"/],
      [["--bucket", bucket], /Flag --key is required/],
      [["--bucket", `${bucket},other-bucket`, "--key", "k"], /presign signs URLs into one/],
      [["--bucket", bucket, "--key", "k", "--format", "yaml"], /Flag --format is "yaml"/],
    ];
    for (const [args, message] of cases) {
      const run = await presign([...args, ...mintFlags(emu.emulator)]);
      expect([run.exitCode, run.stdout], describeCli(run)).toEqual([2, ""]);
      expect(run.stderr).toMatch(message);
    }
    expect(emu.emulator.calls).toEqual([]);
  });

  test("presign --help names every flag it takes, says a URL is a credential, and shows an example; no API call", async () => {
    const help = await runCli(["presign", "--help"], { env: cliEnv(emu.emulator, emu.minter) });
    expect([help.exitCode, help.stderr]).toEqual([0, ""]);
    for (const flag of Object.keys(presignCommand.options ?? {}).filter((f) => f !== "help"))
      expect(help.stdout).toContain(`--${flag}`);
    expect(help.stdout).toContain("A presigned\nURL IS a credential");
    expect(help.stdout.slice(help.stdout.indexOf("Examples:"))).toMatch(
      /r2-ephemeral-credentials presign --bucket \S+ --key/,
    );
    expect(emu.emulator.calls).toEqual([]);
  });
});
