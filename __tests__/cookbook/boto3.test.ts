// docs/cookbook.md, recipe "boto3": docs/examples/upload.py (as scripts/upload.py) run with Debian's
// /usr/bin/python3 and python3-boto3, reading nothing but the variables the action exported.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { repoRoot } from "../../scripts/harness/runner.js";
import { spawnWithTimeout } from "../../scripts/harness/spawn.js";
import { liveChildIds } from "../helpers/emulator.js";
import { useEmulator } from "../helpers/use-emulator.js";
import {
  COOKBOOK_EMULATOR,
  describeJob,
  jobSucceeded,
  makeWorkRoot,
  objectText,
  requireClients,
  runRecipe,
} from "./recipe.js";

const emu = useEmulator({ ...COOKBOOK_EMULATOR, buckets: ["datasets"] });

let workRoot: string;

beforeAll(() => {
  workRoot = makeWorkRoot("boto3");
});

afterAll(() => {
  if (workRoot) fs.rmSync(workRoot, { recursive: true, force: true });
});

test("upload.py puts the data set under daily/<date>/ and is refused once the post step revoked the token", async (ctx) => {
  const [job] = await runRecipe("boto3", {
    ctx,
    emulator: emu.emulator,
    minter: emu.minter,
    clients: ["boto3"],
    workRoot,
    files: { "scripts/upload.py": "docs/examples/upload.py" },
    stubs: {
      // boto3 for /usr/bin/python3 is installed on this machine (requireClients checked it).
      "Install boto3": () => {},
    },
  });
  if (!job) throw new Error("no job ran");
  expect(jobSucceeded(job), describeJob(job)).toBe(true);

  const upload = job.steps.find((step) => step.name === "Upload with boto3")?.result;
  const key = /to s3:\/\/datasets\/(daily\/\d{4}-\d{2}-\d{2}\/orders\.csv)$/m.exec(upload?.stdout ?? "")?.[1];
  expect(key, upload?.stdout).toBeDefined();
  const csv = fs.readFileSync(`${job.workspace}/data/orders.csv`, "utf8");
  expect(csv).toMatch(/^day,orders\n\d{4}-\d{2}-\d{2},42\n$/);
  expect(objectText(emu.emulator, "datasets", key as string)).toBe(csv);
  const put = emu.emulator.s3Calls.find((call) => call.method === "PUT" && call.key === key);
  expect(put?.accessKeyId).toBe(job.main.outputs["access-key-id"]);

  // Plain token mode: no session token, and boto3 must not send the empty one.
  expect(job.env.AWS_SESSION_TOKEN).toBe("");

  // After the post step the same script, with the same environment, is refused.
  expect(liveChildIds(emu.emulator)).toEqual([]);
  const after = await job.shell('python3 scripts/upload.py data/ "s3://datasets/daily/after-post/"');
  expect(after.exitCode, after.stderr).toBe(1);
  expect(after.stderr).toMatch(
    /upload\.py: s3:\/\/datasets\/daily\/after-post\/orders\.csv: (InvalidAccessKeyId|AccessDenied)/,
  );
});

test("upload.py exits 2 with its usage line on bad arguments, before touching S3", async (ctx) => {
  requireClients(ctx, ["boto3"]);
  const script = path.join(repoRoot, "docs/examples/upload.py");
  const run = (...args: string[]) =>
    spawnWithTimeout("/usr/bin/python3", [script, ...args], {
      env: { PATH: "/usr/bin:/bin" },
      cwd: workRoot,
    });
  const usage = await run("data/");
  expect(usage.exitCode).toBe(2);
  expect(usage.stderr).toContain("python3 upload.py SOURCE s3://BUCKET/KEY-OR-PREFIX/");
  const badDestination = await run(".", "datasets/daily/");
  expect(badDestination.exitCode).toBe(2);
  expect(badDestination.stderr).toContain("destination must look like s3://bucket/key");
});
