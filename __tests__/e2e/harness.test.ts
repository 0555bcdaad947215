// The end-to-end harness tested on its own, with tiny fake actions built on the real @actions/core:
// if the runner emulation or the secret scan were wrong, every other e2e test would be worthless.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { inputEnvName, parseFileCommands, repoRoot, runJob, runMain } from "../../scripts/harness/runner.js";
import { spawnWithTimeout } from "../../scripts/harness/spawn.js";
import { findSecretLeaks, secretScan } from "../helpers/secret-scan.js";

const core = pathToFileURL(path.join(repoRoot, "node_modules/@actions/core/lib/core.js")).href;
const SECRET = "s3cr3t-9f8e7d6c5b4a";
let dir: string;

/** Writes a fake action step that imports @actions/core as `core`. */
function fakeStep(name: string, body: string): string {
  const file = path.join(dir, `${name}.mjs`);
  fs.writeFileSync(file, `import * as core from ${JSON.stringify(core)};\n${body}\n`);
  return file;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "r2e-harness-"));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("runner emulation", () => {
  test("names inputs like the runner", () => {
    expect(inputEnvName("api-token")).toBe("INPUT_API-TOKEN");
    expect(inputEnvName("wait timeout")).toBe("INPUT_WAIT_TIMEOUT");
  });

  test("parses heredoc blocks and plain lines of a runner file", () => {
    const parsed = parseFileCommands(
      "a<<ghadelimiter_1\none\nghadelimiter_1\nplain=x=y\nmulti<<EOF\nl1\nl2\nEOF\nempty<<D\n\nD\n",
    );
    expect(parsed).toEqual({ a: "one", plain: "x=y", multi: "l1\nl2", empty: "" });
    expect(() => parseFileCommands("a<<D\nnever closed\n")).toThrow(/not closed/);
    expect(() => parseFileCommands("garbage\n")).toThrow(/malformed/);
  });

  test("gives every input its action.yml default, hands state to post and carries the exported env", async () => {
    const main = fakeStep(
      "main",
      `core.setOutput("ttl", core.getInput("ttl"));
       core.setOutput("region-in", process.env["INPUT_WAIT-TIMEOUT"]);
       core.setOutput("bucket", core.getInput("bucket"));
       core.setOutput("multi", "line one\\nline two");
       core.saveState("tokenId", "abc123");
       core.exportVariable("FROM_MAIN", "yes");
       await core.summary.addRaw("minted").write();`,
    );
    const post = fakeStep(
      "post",
      `core.setOutput("state", process.env.STATE_tokenId ?? "missing");
       core.setOutput("carried", process.env.FROM_MAIN ?? "missing");
       core.setOutput("repo", process.env.GITHUB_REPOSITORY);`,
    );
    const job = await runJob({ inputs: { bucket: "my-bucket" }, scripts: { main, post } });
    expect(job.main.exitCode, job.main.stderr).toBe(0);
    expect(job.main.outputs).toEqual({
      ttl: "1h",
      "region-in": "60",
      bucket: "my-bucket",
      multi: "line one\nline two",
    });
    expect(job.main.state).toEqual({ tokenId: "abc123" });
    expect(job.main.env).toEqual({ FROM_MAIN: "yes" });
    expect(job.main.summary).toContain("minted");
    expect(job.post.outputs).toEqual({ state: "abc123", carried: "yes", repo: "octo-org/octo-repo" });
    expect(job.main.processEnv.HTTPS_PROXY).toBeUndefined();
  });

  test("refuses an input that action.yml does not declare (a typo in a test)", async () => {
    await expect(runMain({ inputs: { "api-tokn": "x" }, scriptPath: fakeStep("noop", "") })).rejects.toThrow(
      /not declared/,
    );
  });

  test("kills a step that hangs", async () => {
    const result = await spawnWithTimeout(process.execPath, ["-e", "setInterval(() => {}, 1000)"], {
      env: { PATH: process.env.PATH },
      timeoutMs: 300,
    });
    expect(result.timedOut).toBe(true);
    expect(result.signal).toBe("SIGKILL");
  });
});

describe("secret scan", () => {
  test("passes a step that masks before it prints and writes", async () => {
    const step = await runMain({
      scriptPath: fakeStep(
        "clean",
        `core.setSecret(${JSON.stringify(SECRET)});
         console.log("using ${SECRET} after the mask is masked by the runner");
         core.setOutput("secret", ${JSON.stringify(SECRET)});
         core.saveState("id", "public-id");`,
      ),
      traceFileWrites: true,
    });
    expect(step.exitCode, step.stderr).toBe(0);
    expect(() => secretScan(step, [SECRET])).not.toThrow();
    // … but strict mode (the post step's rule) forbids even the masked print.
    expect(() => secretScan(step, [SECRET], { strict: true })).toThrow(/printed \(even masked/);
  });

  test.each([
    [
      "printed before its mask",
      `console.log("x ${SECRET}"); core.setSecret("${SECRET}");`,
      /before its ::add-mask::/,
    ],
    ["never masked", `core.setOutput("s", "${SECRET}");`, /never masked/],
    [
      "saved to state",
      `core.setSecret("${SECRET}"); core.saveState("s", "${SECRET}");`,
      /GITHUB_STATE carries/,
    ],
    [
      "written to the summary",
      `core.setSecret("${SECRET}"); await core.summary.addRaw("${SECRET}").write();`,
      /job summary carries/,
    ],
    ["printed to stderr", `core.setSecret("${SECRET}"); console.error("${SECRET}");`, /stderr carries/],
    [
      "inside an error annotation",
      `core.setSecret("${SECRET}"); core.setFailed("bad ${SECRET}");`,
      /annotation/,
    ],
    [
      "printed as a debug line before its mask",
      `core.debug("${SECRET}"); core.setSecret("${SECRET}");`,
      /before its/,
    ],
  ])("catches a secret %s", async (_case, body, problem) => {
    const step = await runMain({ scriptPath: fakeStep(`leak-${Math.random()}`, body), debug: true });
    expect(() => secretScan(step, { "the secret": SECRET })).toThrow(problem);
  });

  test("catches an output written before the secret was masked (traced file writes)", async () => {
    const step = await runMain({
      scriptPath: fakeStep(
        "early-output",
        `core.setOutput("key", "${SECRET}"); core.setSecret("${SECRET}");`,
      ),
      traceFileWrites: true,
    });
    expect(step.stdout).toMatch(/^##trace-file-write output key$/m);
    expect(findSecretLeaks(step, { "the secret": SECRET })).toEqual([
      'main stdout line 1: output "key" carries the secret before its ::add-mask::',
    ]);
  });

  test("traces writes made through the ESM namespace and the summary's promises API", async () => {
    const step = await runMain({
      scriptPath: fakeStep(
        "traced",
        `core.exportVariable("AWS_X", "1"); core.saveState("s", "1"); await core.summary.addRaw("hi").write();`,
      ),
      traceFileWrites: true,
    });
    expect(step.stdout.match(/^##trace-file-write .*$/gm)).toEqual([
      "##trace-file-write env AWS_X",
      "##trace-file-write state s",
      "##trace-file-write summary -",
    ]);
  });

  test("requires every line of a multi-line secret to be masked", async () => {
    const multi = "-----BEGIN KEY-----\nAAAAsecretbody\n-----END KEY-----";
    const masked = await runMain({
      scriptPath: fakeStep(
        "multi-ok",
        `core.setSecret(${JSON.stringify(multi)}); console.log("AAAAsecretbody");`,
      ),
    });
    expect(() => secretScan(masked, [multi])).not.toThrow();
    const partly = await runMain({
      scriptPath: fakeStep(
        "multi-partly",
        `core.setSecret("-----BEGIN KEY-----"); console.log("AAAAsecretbody"); core.setSecret(${JSON.stringify(multi)});`,
      ),
    });
    expect(() => secretScan(partly, [multi])).toThrow(/before its ::add-mask::/);
  });

  test("refuses an empty secret instead of passing vacuously", async () => {
    const step = await runMain({ scriptPath: fakeStep("empty", "") });
    expect(() => secretScan(step, { missing: "" })).toThrow(/empty/);
  });
});
