// docs/cookbook.md, recipe "rclone": `rclone sync ./public r2:site-assets/www/` with Debian's rclone,
// the remote configured from RCLONE_CONFIG_R2_* variables only (no rclone.conf: HOME is empty).
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

const emu = useEmulator({ ...COOKBOOK_EMULATOR, buckets: ["site-assets"] });

let workRoot: string;

const PUBLIC = {
  "index.html": "<!doctype html><title>site</title>\n",
  "css/site.css": "h1 { color: orange }\n",
  "img/logo.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>\n",
};

beforeAll(() => {
  workRoot = makeWorkRoot("rclone");
});

afterAll(() => {
  if (workRoot) fs.rmSync(workRoot, { recursive: true, force: true });
});

test("rclone sync publishes public/ under www/, deletes what public/ no longer has, keeps the rest", async (ctx) => {
  emu.emulator.putObject("site-assets", "www/old-page.html", "<p>gone</p>\n");
  emu.emulator.putObject("site-assets", "downloads/keep.zip", "not part of the site\n");

  const [job] = await runRecipe("rclone", {
    ctx,
    emulator: emu.emulator,
    minter: emu.minter,
    clients: ["rclone"],
    workRoot,
    checkout: (workspace) => {
      for (const [file, body] of Object.entries(PUBLIC)) {
        fs.mkdirSync(path.dirname(path.join(workspace, "public", file)), { recursive: true });
        fs.writeFileSync(path.join(workspace, "public", file), body);
      }
    },
    stubs: {
      // rclone is installed on this machine (requireClients checked it); no sudo apt-get here.
      "Install rclone": () => {},
    },
  });
  if (!job) throw new Error("no job ran");
  expect(jobSucceeded(job), describeJob(job)).toBe(true);

  for (const [file, body] of Object.entries(PUBLIC)) {
    expect(objectText(emu.emulator, "site-assets", `www/${file}`), file).toBe(body);
  }
  expect(objectText(emu.emulator, "site-assets", "www/old-page.html")).toBeUndefined();
  expect(objectText(emu.emulator, "site-assets", "downloads/keep.zip")).toBe("not part of the site\n");
  // rclone signed with the action's key pair (env_auth), read from the AWS_* variables.
  const put = emu.emulator.s3Calls.find((call) => call.method === "PUT" && call.key === "www/index.html");
  expect(put?.accessKeyId).toBe(job.main.outputs["access-key-id"]);
  expect(put?.status).toBe(200);
  expect(liveChildIds(emu.emulator)).toEqual([]);
});
