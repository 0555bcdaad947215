// docs/cookbook.md, recipe "matrix": three matrix jobs at once, each minting its own child token,
// uploading its archive with Debian's AWS CLI 2.9 and revoking only its own token in its post step.
import fs from "node:fs";
import path from "node:path";
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

const emu = useEmulator({ ...COOKBOOK_EMULATOR, buckets: ["build-artifacts"] });

let workRoot: string;

const TARGETS = ["linux-x64", "linux-arm64", "windows-x64"];

beforeAll(() => {
  workRoot = makeWorkRoot("matrix");
});

afterAll(() => {
  if (workRoot) fs.rmSync(workRoot, { recursive: true, force: true });
});

test("three concurrent jobs mint three child tokens, upload their own archive and leave no token behind", async (ctx) => {
  emu.emulator.resetCalls();
  const jobs = await runRecipe("matrix", {
    ctx,
    emulator: emu.emulator,
    minter: emu.minter,
    clients: ["aws"],
    workRoot,
    refName: "v2.0.0",
    stubs: {
      // The project's own build (make dist) writes out/app-$TARGET.tar.gz.
      Build: ({ workspace, matrix }) => {
        fs.mkdirSync(path.join(workspace, "out"));
        fs.writeFileSync(
          path.join(workspace, "out", `app-${matrix.target}.tar.gz`),
          `archive for ${matrix.target}\n`,
        );
      },
    },
  });

  expect(jobs.map((job) => job.matrix.target)).toEqual(TARGETS);
  for (const job of jobs) expect(jobSucceeded(job), describeJob(job)).toBe(true);

  // Three different child tokens, each one revoked by its own job's post step.
  const tokenIds = jobs.map((job) => job.main.outputs["token-id"]);
  expect(new Set(tokenIds).size).toBe(3);
  for (const job of jobs) {
    expect(job.main.outputs["access-key-id"]).toBe(job.main.outputs["token-id"]);
    expect(job.post?.stdout).toContain(`Revoked child token ${job.main.outputs["token-id"]}.`);
  }
  expect(callsTo(emu.emulator, "tokens.create")).toHaveLength(3);
  expect(
    callsTo(emu.emulator, "tokens.delete")
      .map((call) => call.path.split("/").pop())
      .sort(),
  ).toEqual([...tokenIds].sort());
  expect(liveChildIds(emu.emulator)).toEqual([]);

  for (const job of jobs) {
    const target = job.matrix.target as string;
    const key = `releases/v2.0.0/app-${target}.tar.gz`;
    expect(objectText(emu.emulator, "build-artifacts", key)).toBe(`archive for ${target}\n`);
    const put = emu.emulator.s3Calls.find((call) => call.method === "PUT" && call.key === key);
    expect(put?.accessKeyId, target).toBe(job.main.outputs["access-key-id"]);
  }

  // The jobs ran at the same time: all three child tokens existed before the first was revoked.
  const created = callsTo(emu.emulator, "tokens.create").map((call) => call.at);
  const deleted = callsTo(emu.emulator, "tokens.delete").map((call) => call.at);
  expect(Math.max(...created)).toBeLessThan(Math.min(...deleted));
});
