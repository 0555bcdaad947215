// docs/examples/front-end/ in a real browser (Debian's Chromium, headless): the page gets a presigned
// PUT URL from server.mjs (the stand-in for a Pages Function, signing with `presign --from-env`),
// uploads the file the user picked straight to the emulator's S3 endpoint, and reads it back with a
// presigned GET. Before `cors set` the browser's preflight is refused and the upload fails; after it,
// the upload succeeds and the bucket holds the bytes the page sent. This is docs/front-ends.md's
// claim, shown where it matters: in a browser, which enforces CORS as no HTTP client does.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { repoRoot } from "../../scripts/harness/paths.js";
import { type Browser, launchChromium } from "../helpers/browser.js";
import { cleanEnv, cliEnv, cliScript, describeCli, mintOutputs, runCli } from "../helpers/cli.js";
import { needClients } from "../helpers/clients.js";
import { bucketName } from "../helpers/emulator.js";
import { useEmulator } from "../helpers/use-emulator.js";

// The example's credentials come from `mint`, which has no post step: the test deletes them after.
const emu = useEmulator({ leftovers: "delete" });
const EXAMPLE = path.join(repoRoot, "docs/examples/front-end");

let server: ChildProcess | undefined;
let browser: Browser | undefined;

beforeEach((ctx) => needClients(ctx, "chromium"));

afterEach(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  browser = undefined;
  server = undefined;
});

/** Starts server.mjs as the example's README says, and returns the page's origin. */
function startServer(env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, [path.join(EXAMPLE, "server.mjs")], {
    env: cleanEnv({ ...env, PORT: "0", R2E_CLI: cliScript }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  server = child;
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const origin = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
      if (origin) resolve(origin);
    });
    child.once("exit", (code) =>
      reject(new Error(`server.mjs exited with ${code} before listening: ${out}${err}`)),
    );
  });
}

test("an upload from the page fails at the preflight before cors set, and stores the bytes the page sent after it", async () => {
  const bucket = bucketName("front-end");
  emu.emulator.createBucket(bucket);

  // The person running the example: mint a key pair for the server, as its README says.
  const outputs = await mintOutputs(emu.emulator, emu.minter, [
    "--bucket",
    bucket,
    "--permission",
    "object-read-write",
    "--ttl",
    "2h",
  ]);
  const origin = await startServer({
    BUCKET: bucket,
    AWS_ACCESS_KEY_ID: outputs["access-key-id"] as string,
    AWS_SECRET_ACCESS_KEY: outputs["secret-access-key"] as string,
    AWS_SESSION_TOKEN: outputs["session-token"] as string,
    AWS_ENDPOINT_URL_S3: outputs.endpoint as string,
    AWS_CREDENTIAL_EXPIRATION: outputs["expires-at"] as string,
  });

  browser = await launchChromium();
  const page = await browser.context.newPage();
  await page.goto(origin);
  const photo = randomBytes(150_000);
  const pick = () =>
    page.setInputFiles("#file", { name: "holiday photo.jpg", mimeType: "image/jpeg", buffer: photo });
  const status = page.locator("#status");

  // No CORS policy yet: the browser's preflight is refused, so R2 never sees the PUT.
  emu.emulator.resetCalls();
  await pick();
  await page.click("#upload");
  await expect.poll(() => status.getAttribute("data-state"), { timeout: 15_000 }).toBe("error");
  expect(await status.textContent()).toContain(`must allow the origin ${origin}, the method PUT`);
  expect(emu.emulator.s3Calls.map((c) => `${c.method} ${c.status}`)).toEqual(["OPTIONS 403"]);

  const set = await runCli(
    [
      "cors",
      "set",
      "--bucket",
      bucket,
      "--origin",
      origin,
      "--method",
      "PUT",
      "--method",
      "GET",
      "--header",
      "content-type",
      "--expose-header",
      "ETag",
      "--api-url",
      emu.emulator.apiUrl,
    ],
    { env: cliEnv(emu.emulator, emu.minter) },
  );
  expect(set.exitCode, describeCli(set)).toBe(0);

  emu.emulator.resetCalls();
  await pick();
  await page.click("#upload");
  await expect.poll(() => status.getAttribute("data-state"), { timeout: 15_000 }).toBe("ok");
  expect(await status.textContent()).toMatch(/150000 bytes sent, 150000 bytes read back, identical/);
  expect(emu.emulator.s3Calls.map((c) => `${c.method} ${c.status}`)).toEqual([
    "OPTIONS 200",
    "PUT 200",
    "GET 200",
  ]);

  const link = page.locator("#uploads a");
  const key = (await link.textContent()) ?? "";
  expect(key).toMatch(/^uploads\/[0-9a-f]{8}-holiday-photo\.jpg$/);
  const stored = emu.emulator.getObject(bucket, key);
  expect(stored && Buffer.from(stored).equals(photo)).toBe(true);
  // The link is the presigned GET the page read back with: a credential, short-lived.
  const href = (await link.getAttribute("href")) ?? "";
  expect(new URL(href).searchParams.get("X-Amz-Expires")).toBe("600");
});
