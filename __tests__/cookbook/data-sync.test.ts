// docs/cookbook.md, recipe "data-sync": a scheduled matrix of pipelines, each with credentials
// narrowed to `pipelines/<name>/` (hybrid mode), uploading with docs/examples/upload.py and boto3.
// The three jobs run at once; each job's credentials are refused outside its own prefix.
import fs from "node:fs";
import { afterAll, beforeAll, expect, test } from "vitest";
import { callsTo, liveChildIds } from "../helpers/emulator.js";
import { useEmulator } from "../helpers/use-emulator.js";
import {
  COOKBOOK_EMULATOR,
  describeJob,
  jobSucceeded,
  makeWorkRoot,
  objectText,
  runRecipe,
} from "./recipe.js";

const emu = useEmulator({ ...COOKBOOK_EMULATOR, buckets: ["data-lake"] });

let workRoot: string;

const PIPELINES = ["orders", "inventory", "web-analytics"];
/** Yesterday's export of each pipeline, which no other pipeline may overwrite. */
const earlier = (pipeline: string) => `pipelines/${pipeline}/2026-01-01/${pipeline}.csv`;

beforeAll(() => {
  workRoot = makeWorkRoot("data-sync");
});

afterAll(() => {
  if (workRoot) fs.rmSync(workRoot, { recursive: true, force: true });
});

test("each pipeline writes under its own prefix and is refused under another's and at the bucket root", async (ctx) => {
  for (const pipeline of PIPELINES) emu.emulator.putObject("data-lake", earlier(pipeline), "kept\n");
  emu.emulator.resetCalls();
  const refusals: Record<string, string[]> = {};

  const jobs = await runRecipe("data-sync", {
    ctx,
    emulator: emu.emulator,
    minter: emu.minter,
    clients: ["boto3"],
    workRoot,
    files: { "scripts/upload.py": "docs/examples/upload.py" },
    stubs: { "Install boto3": () => {} },
    beforePost: async ({ matrix, shell }) => {
      const own = matrix.pipeline as string;
      const neighbour = PIPELINES[(PIPELINES.indexOf(own) + 1) % PIPELINES.length] as string;
      const lines: string[] = [];
      // The same upload, aimed at the neighbour's earlier export and at the bucket root.
      for (const destination of [`s3://data-lake/${earlier(neighbour)}`, "s3://data-lake/shared/"]) {
        const attempt = await shell(`python3 scripts/upload.py "out/$PIPELINE.csv" "${destination}"`);
        lines.push(`${attempt.exitCode} ${attempt.stderr.trim()}`);
      }
      refusals[own] = lines;
    },
  });

  expect(jobs.map((job) => job.matrix.pipeline)).toEqual(PIPELINES);
  for (const job of jobs) {
    const pipeline = job.matrix.pipeline as string;
    expect(jobSucceeded(job), describeJob(job)).toBe(true);
    expect(job.main.outputs["session-token"], pipeline).not.toBe("");

    const upload = job.steps.find((step) => step.name === "Upload")?.result;
    const key = new RegExp(
      `to s3://data-lake/(pipelines/${pipeline}/\\d{4}-\\d{2}-\\d{2}/${pipeline}\\.csv)$`,
      "m",
    ).exec(upload?.stdout ?? "")?.[1];
    expect(key, upload?.stdout).toBeDefined();
    expect(objectText(emu.emulator, "data-lake", key as string)).toMatch(
      new RegExp(`^pipeline,exported_at\\n${pipeline},`),
    );

    const neighbour = PIPELINES[(PIPELINES.indexOf(pipeline) + 1) % PIPELINES.length] as string;
    const [toNeighbour, toRoot] = refusals[pipeline] ?? [];
    expect(toNeighbour, toNeighbour).toMatch(
      new RegExp(`^1 upload\\.py: s3://data-lake/${earlier(neighbour)}: AccessDenied`),
    );
    const rootCalls = emu.emulator.s3Calls.filter((call) => call.key === `shared/${pipeline}.csv`);
    expect(toRoot, `${toRoot}\nS3 answers: ${rootCalls.map((call) => call.status).join(", ")}`).toMatch(
      new RegExp(`^1 upload\\.py: s3://data-lake/shared/${pipeline}\\.csv: AccessDenied`),
    );
    // Every write this job's credentials made landed under its own prefix.
    const writes = emu.emulator.s3Calls.filter(
      (call) =>
        call.accessKeyId === job.main.outputs["access-key-id"] &&
        call.method === "PUT" &&
        call.status === 200,
    );
    expect(writes.map((call) => call.key)).toEqual([key]);
  }
  for (const pipeline of PIPELINES)
    expect(objectText(emu.emulator, "data-lake", earlier(pipeline))).toBe("kept\n");

  // Hybrid mode: one child token and one temp-access-credentials call per job, all deleted by the post steps.
  expect(callsTo(emu.emulator, "tokens.create")).toHaveLength(3);
  expect(callsTo(emu.emulator, "r2.temp_credentials")).toHaveLength(3);
  expect(callsTo(emu.emulator, "tokens.delete").map((call) => call.status)).toEqual([200, 200, 200]);
  expect(liveChildIds(emu.emulator)).toEqual([]);
});
