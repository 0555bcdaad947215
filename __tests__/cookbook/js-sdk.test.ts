// docs/cookbook.md, recipe "js-sdk": docs/examples/upload.mjs (as scripts/upload.mjs) with the AWS SDK
// for JavaScript v3, in hybrid mode (`objects: releases/latest.json`), so with a session token.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { repoRoot } from "../../scripts/harness/runner.js";
import { liveChildIds } from "../helpers/emulator.js";
import { useEmulator } from "../helpers/use-emulator.js";
import {
  COOKBOOK_EMULATOR,
  describeJob,
  jobSucceeded,
  makeWorkRoot,
  objectText,
  runRecipe,
} from "./recipe.js";

const emu = useEmulator({ ...COOKBOOK_EMULATOR, buckets: ["downloads"] });

let workRoot: string;

beforeAll(() => {
  workRoot = makeWorkRoot("js-sdk");
});

afterAll(() => {
  if (workRoot) fs.rmSync(workRoot, { recursive: true, force: true });
});

test("upload.mjs writes releases/latest.json with temporary credentials and nothing else", async (ctx) => {
  const sha = "89abcdef0123456789abcdef0123456789abcdef";
  emu.emulator.putObject("downloads", "releases/v1.3.0.json", '{"version":"v1.3.0"}\n');
  const [job] = await runRecipe("js-sdk", {
    ctx,
    emulator: emu.emulator,
    minter: emu.minter,
    clients: ["node-aws-sdk"],
    workRoot,
    sha,
    refName: "v1.4.0",
    files: { "scripts/upload.mjs": "docs/examples/upload.mjs" },
    stubs: {
      // npm ci: this repository's node_modules has @aws-sdk/client-s3.
      "Install dependencies": ({ workspace }) =>
        fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(workspace, "node_modules")),
    },
    beforePost: async ({ shell }) => {
      // The same script, the same credentials: any other key is refused.
      const other = await shell("node scripts/upload.mjs latest.json s3://downloads/releases/v1.3.0.json");
      expect(other.exitCode, other.stderr).toBe(1);
      expect(other.stderr).toContain("upload.mjs: s3://downloads/releases/v1.3.0.json: AccessDenied");
      // The upload streams, so the SDK at its default settings sends its checksum as an aws-chunked
      // trailer, which R2 refuses: it worked above only because the action exported when_required.
      const bare = await shell(
        "env -u AWS_REQUEST_CHECKSUM_CALCULATION -u AWS_RESPONSE_CHECKSUM_VALIDATION node scripts/upload.mjs latest.json s3://downloads/releases/latest.json",
      );
      expect(bare.exitCode, bare.stderr).toBe(1);
      expect(bare.stderr).toContain("upload.mjs: s3://downloads/releases/latest.json: NotImplemented");
    },
  });
  if (!job) throw new Error("no job ran");
  expect(jobSucceeded(job), describeJob(job)).toBe(true);

  expect(job.main.outputs["session-token"]).not.toBe("");
  expect(job.env.AWS_SESSION_TOKEN).toBe(job.main.outputs["session-token"]);
  expect(objectText(emu.emulator, "downloads", "releases/latest.json")).toBe(
    `{"version":"v1.4.0","commit":"${sha}"}\n`,
  );
  expect(objectText(emu.emulator, "downloads", "releases/v1.3.0.json")).toBe('{"version":"v1.3.0"}\n');
  const put = emu.emulator.s3Calls.find(
    (call) => call.method === "PUT" && call.key === "releases/latest.json",
  );
  expect(put?.accessKeyId).toBe(job.main.outputs["access-key-id"]);
  expect(liveChildIds(emu.emulator)).toEqual([]);
});
