// The job summary end to end (the bundled action, runner protocol): main writes a table of what was
// minted — mode, buckets, permission, narrowing, expiry (the expires-at output), token id, endpoint,
// readiness wait — and post appends the revocation result. Never a secret. A summary that cannot be
// written is a warning, not a failure.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import {
  describeStep,
  errorLines,
  type JobResult,
  runJob,
  runMain,
  runPost,
  warningLines,
} from "../../scripts/harness/runner.js";
import { type ApiRecorder, startApiRecorder } from "../helpers/api-recorder.js";
import {
  bucketName,
  cloudflareApi,
  deleteLeftoverChildTokens,
  emulatorInputs,
  liveChildIds,
} from "../helpers/emulator.js";
import { secretScan } from "../helpers/secret-scan.js";
import { useEmulator } from "../helpers/use-emulator.js";

const bucket = bucketName("sum");
const emu = useEmulator({ minters: [{ scope: "account", name: "summary minter" }], buckets: [bucket] });

/** The rows of the summary's two-column Markdown table, by their (lower-cased) label. */
function summaryTable(markdown: string): Record<string, string> {
  const rows: Record<string, string> = {};
  for (const line of markdown.split("\n")) {
    const match = /^\|\s*([^|]+?)\s*\|\s*(.*?)\s*\|$/.exec(line);
    if (!match || /^-+$/.test(match[1] as string)) continue;
    rows[(match[1] as string).toLowerCase()] = match[2] as string;
  }
  return rows;
}

/** A cell without Markdown code spans. */
function plain(cell: string | undefined): string {
  return (cell ?? "").replace(/`/g, "");
}

function secretsOf(job: JobResult, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const all: Record<string, string | undefined> = {
    "input token": emu.minter.value,
    "secret access key": job.main.outputs["secret-access-key"],
    "session token": job.main.outputs["session-token"],
    ...extra,
  };
  return Object.fromEntries(Object.entries(all).filter((entry): entry is [string, string] => !!entry[1]));
}

describe("job summary", () => {
  test("token mode: main's table carries every field, equal to the outputs; post appends the revocation; no secret", async () => {
    const second = bucketName("sum-2");
    emu.emulator.createBucket(second);
    const job = await runJob({
      inputs: emulatorInputs(emu.emulator, emu.minter, `${bucket},${second}`, {
        permission: "object-read-write",
        // A trailing slash: the endpoint output drops it, the summary must show the same value.
        "s3-endpoint": `${emu.emulator.s3Endpoint()}/`,
      }),
    });
    expect(job.main.exitCode, describeStep(job.main)).toBe(0);
    expect(job.post.exitCode, describeStep(job.post)).toBe(0);
    const { outputs } = job.main;
    const table = summaryTable(job.main.summary);
    expect(Object.keys(table)).toEqual(
      expect.arrayContaining([
        "mode",
        "buckets",
        "permission",
        "narrowing",
        "expires at",
        "token id",
        "endpoint",
        "readiness wait",
      ]),
    );
    expect(table.mode).toBe("token");
    expect(plain(table.buckets)).toBe(`${bucket}, ${second}`);
    expect(table.permission).toBe("object-read-write");
    expect(table.narrowing).toMatch(/whole bucket|none/i);
    expect(table["expires at"]).toBe(outputs["expires-at"]);
    expect(plain(table["token id"])).toBe(outputs["token-id"]);
    expect(plain(table.endpoint)).toBe(outputs.endpoint);
    expect(outputs.endpoint).toBe(emu.emulator.s3Endpoint());
    expect(table["readiness wait"]).toMatch(/^\d+ ms \(\d+ probes?\)$/);

    expect(job.post.summary).toMatch(/Revocation/);
    expect(job.post.summary).toContain(outputs["token-id"]);
    expect(job.post.summary).toMatch(/revoked/);
    expect(liveChildIds(emu.emulator)).toEqual([]);
    secretScan(job, secretsOf(job));
  });

  test("hybrid mode: narrowing lists the prefixes and objects; the token id is the child's; the child's value is nowhere", async () => {
    const recorder: ApiRecorder = await startApiRecorder(emu.emulator.apiUrl);
    try {
      const job = await runJob({
        inputs: emulatorInputs(emu.emulator, emu.minter, bucket, {
          "api-url": recorder.apiUrl,
          prefixes: "logs/2026/\nreports/",
          objects: "manifest.json",
          permission: "object-read-write",
        }),
      });
      expect(job.main.exitCode, describeStep(job.main)).toBe(0);
      const table = summaryTable(job.main.summary);
      expect(table.mode).toBe("hybrid");
      expect(table.narrowing).toContain("logs/2026/");
      expect(table.narrowing).toContain("reports/");
      expect(table.narrowing).toContain("manifest.json");
      expect(plain(table["token id"])).toBe(job.main.outputs["token-id"]);
      expect(table["expires at"]).toBe(job.main.outputs["expires-at"]);
      expect(job.post.summary).toContain(job.main.outputs["token-id"]);
      const childValue = recorder.childValue(job.main.outputs["token-id"] as string);
      expect(childValue).toBeTruthy();
      secretScan(job, secretsOf(job, { "child token value": childValue }));
    } finally {
      await recorder.close();
    }
  });

  test("temporary mode: no token id; post says the credentials cannot be revoked and when they expire", async () => {
    const job = await runJob({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket, { mode: "temporary", ttl: "15m" }),
    });
    expect(job.main.exitCode, describeStep(job.main)).toBe(0);
    const table = summaryTable(job.main.summary);
    expect(table.mode).toBe("temporary");
    expect(table["token id"]).toMatch(/none/i);
    expect(table["expires at"]).toBe(job.main.outputs["expires-at"]);
    expect(job.post.summary).toMatch(/Revocation/);
    expect(job.post.summary).toMatch(/cannot be revoked|not possible/);
    expect(job.post.summary).toContain(job.main.outputs["expires-at"]);
    secretScan(job, secretsOf(job));
  });

  test("wait-timeout 0: the readiness row says the wait was skipped", async () => {
    const job = await runJob({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket, { "wait-timeout": "0" }),
    });
    expect(job.main.exitCode, describeStep(job.main)).toBe(0);
    expect(summaryTable(job.main.summary)["readiness wait"]).toMatch(/skipped/);
  });

  test("revoke: false → post's summary says revocation was skipped and when the token expires", async () => {
    const job = await runJob({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket, { revoke: "false" }),
    });
    expect(job.main.exitCode, describeStep(job.main)).toBe(0);
    expect(job.post.summary).toMatch(/skipped/);
    expect(job.post.summary).toContain(job.main.outputs["token-id"]);
    expect(job.post.summary).toContain(job.main.outputs["expires-at"]);
    expect(liveChildIds(emu.emulator)).toEqual([job.main.outputs["token-id"]]);
    await deleteLeftoverChildTokens(emu.emulator, { account: emu.minter });
  });

  test("the expiry and token id match what Cloudflare holds; a child deleted by hand before post is reported as already gone", async () => {
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket);
    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(0);
    const table = summaryTable(main.summary);
    const id = plain(table["token id"]);
    const path = `/accounts/${emu.emulator.accountId}/tokens/${id}`;
    const { status, body } = await cloudflareApi(emu.emulator, emu.minter, "GET", path);
    expect(status).toBe(200);
    const expiresOn = (body as { result: { expires_on: string } }).result.expires_on;
    expect(Date.parse(table["expires at"] as string)).toBe(Date.parse(expiresOn));

    expect((await cloudflareApi(emu.emulator, emu.minter, "DELETE", path)).status).toBe(200);
    const post = await runPost({ inputs, state: main.state });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(post.summary).toMatch(/already gone/);
    expect(post.summary).toContain(id);
    expect(warningLines(post)).toEqual([]);
  });

  test("an unwritable GITHUB_STEP_SUMMARY (a directory): a ::warning:: in main and post, both steps succeed, outputs and revocation intact", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "r2e-summary-dir-"));
    try {
      const job = await runJob({
        inputs: emulatorInputs(emu.emulator, emu.minter, bucket),
        env: { GITHUB_STEP_SUMMARY: dir },
      });
      expect(job.main.exitCode, describeStep(job.main)).toBe(0);
      expect(errorLines(job.main)).toEqual([]);
      expect(
        warningLines(job.main).some((w) => /summary/i.test(w)),
        describeStep(job.main),
      ).toBe(true);
      expect(job.main.outputs["access-key-id"]).toMatch(/^[0-9a-f]{32}$/);
      expect(job.main.outputs["expires-at"]).not.toBe("");
      expect(job.main.env.AWS_ACCESS_KEY_ID).toBe(job.main.outputs["access-key-id"]);

      expect(job.post.exitCode, describeStep(job.post)).toBe(0);
      expect(errorLines(job.post)).toEqual([]);
      expect(
        warningLines(job.post).some((w) => /summary/i.test(w)),
        describeStep(job.post),
      ).toBe(true);
      expect(liveChildIds(emu.emulator)).toEqual([]);
      // The warning explains; it does not leak.
      for (const warning of [...warningLines(job.main), ...warningLines(job.post)]) {
        expect(warning).not.toContain(job.main.outputs["secret-access-key"]);
        expect(warning).not.toContain(emu.minter.value);
      }
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
