// docs/cookbook.md, recipe "aws-cli-sync": `aws s3 sync ./dist s3://build-artifacts/builds/$GITHUB_SHA/`
// with Debian's AWS CLI 2.9 (/usr/bin/aws) and the variables the action exported.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
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

const emu = useEmulator({ ...COOKBOOK_EMULATOR, buckets: ["build-artifacts"] });

let workRoot: string;

const DIST = {
  "index.html": "<!doctype html><title>app</title>\n",
  "assets/app.js": "console.log('hello');\n",
  "assets/app.css": "body { margin: 0 }\n",
};

beforeAll(() => {
  workRoot = makeWorkRoot("aws-cli");
});

afterAll(() => {
  if (workRoot) fs.rmSync(workRoot, { recursive: true, force: true });
});

test("aws s3 sync uploads dist/ under builds/<sha>/ and is refused after the post step", async (ctx) => {
  const sha = "0123456789abcdef0123456789abcdef01234567";
  const [job] = await runRecipe("aws-cli-sync", {
    ctx,
    emulator: emu.emulator,
    minter: emu.minter,
    clients: ["aws"],
    workRoot,
    sha,
    stubs: {
      // The project's own build (npm ci && npm run build) writes dist/.
      Build: ({ workspace }) => {
        for (const [file, body] of Object.entries(DIST)) {
          fs.mkdirSync(path.dirname(path.join(workspace, "dist", file)), { recursive: true });
          fs.writeFileSync(path.join(workspace, "dist", file), body);
        }
      },
    },
  });
  if (!job) throw new Error("no job ran");
  expect(jobSucceeded(job), describeJob(job)).toBe(true);
  expect(job.env.AWS_SESSION_TOKEN).toBe("");

  for (const [file, body] of Object.entries(DIST)) {
    expect(objectText(emu.emulator, "build-artifacts", `builds/${sha}/${file}`), file).toBe(body);
  }
  const upload = job.steps.find((step) => step.name === "Upload dist/")?.result;
  expect(upload?.stdout).toContain(
    `upload: dist/assets/app.js to s3://build-artifacts/builds/${sha}/assets/app.js`,
  );

  // The post step deleted the child token; the AWS_* variables it left behind are dead.
  expect(liveChildIds(emu.emulator)).toEqual([]);
  const after = await job.shell(
    'aws s3 ls "s3://build-artifacts/builds/$GITHUB_SHA/" --endpoint-url "$AWS_ENDPOINT_URL_S3"',
  );
  expect(after.exitCode, after.stderr).not.toBe(0);
  expect(after.stderr).toMatch(/InvalidAccessKeyId|AccessDenied|Forbidden|403|401/);
});
