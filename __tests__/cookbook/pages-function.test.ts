// docs/front-ends.md's Pages Function (`functions/api/upload-url.js`) and the page's two lines that use
// it, run as printed: the test takes both code blocks out of the guide, so the guide cannot drift
// from what works. The one change is the host: the guide signs for
// `<account>.r2.cloudflarestorage.com`, the test for the emulator's S3 endpoint.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, expect, test } from "vitest";
import { repoRoot } from "../../scripts/harness/paths.js";
import { mintOutputs } from "../helpers/cli.js";
import { bucketName } from "../helpers/emulator.js";
import { useEmulator } from "../helpers/use-emulator.js";

const emu = useEmulator({ leftovers: "delete" });
const GUIDE = fs.readFileSync(path.join(repoRoot, "docs/front-ends.md"), "utf8");
// biome-ignore lint/suspicious/noTemplateCurlyInString: the guide's template literal, matched as text
const R2_HOST = "https://${env.R2_ACCOUNT_ID}.r2.cloudflarestorage.com";

/** The fenced ```js block whose text contains `marker`; exactly one must. */
function jsBlock(marker: string): string {
  const blocks = [...GUIDE.matchAll(/^```js\n([\s\S]*?)^```/gm)]
    .map((m) => m[1] as string)
    .filter((code) => code.includes(marker));
  expect(blocks, `docs/front-ends.md has one js block containing ${marker}`).toHaveLength(1);
  return blocks[0] as string;
}

type PagesFunction = (context: { request: Request; env: Record<string, string> }) => Promise<Response>;
let onRequestPost: PagesFunction;
let moduleDir: string;

beforeAll(async () => {
  const source = jsBlock("// functions/api/upload-url.js");
  expect(source.split(R2_HOST)).toHaveLength(2);
  // Inside the repository so that `import "aws4fetch"` resolves from its node_modules.
  fs.mkdirSync(path.join(repoRoot, ".tmp"), { recursive: true });
  moduleDir = fs.mkdtempSync(path.join(repoRoot, ".tmp", "pages-function-"));
  const file = path.join(moduleDir, "upload-url.mjs");
  // biome-ignore lint/suspicious/noTemplateCurlyInString: written into the guide's template literal
  fs.writeFileSync(file, source.replace(R2_HOST, "${env.R2_TEST_ENDPOINT}"));
  ({ onRequestPost } = (await import(pathToFileURL(file).href)) as { onRequestPost: PagesFunction });
});

afterAll(() => {
  if (moduleDir) fs.rmSync(moduleDir, { recursive: true, force: true });
});

test("the guide's Pages Function signs a PUT URL for a key it chooses, and the page's fetch uploads the file with it", async () => {
  const bucket = bucketName("pages-fn");
  emu.emulator.createBucket(bucket);
  const outputs = await mintOutputs(emu.emulator, emu.minter, [
    "--bucket",
    bucket,
    "--permission",
    "object-read-write",
    "--ttl",
    "1h",
  ]);
  const env = {
    R2_ACCESS_KEY_ID: outputs["access-key-id"] as string,
    R2_SECRET_ACCESS_KEY: outputs["secret-access-key"] as string,
    R2_ACCOUNT_ID: emu.emulator.accountId,
    BUCKET_NAME: bucket,
    R2_TEST_ENDPOINT: outputs.endpoint as string,
  };

  // The page's side: its fetch of /api/upload-url is routed to the Function as Pages would.
  const page = jsBlock("// In the page");
  const file = new File([new Uint8Array([1, 2, 3, 250, 251, 252])], "my holiday/photo.jpg", {
    type: "image/jpeg",
  });
  const pageFetch = async (input: string, init?: RequestInit): Promise<Response> =>
    input === "/api/upload-url"
      ? onRequestPost({ request: new Request("https://site.pages.dev/api/upload-url", init), env })
      : fetch(input, init);
  const runPage = new Function("fetch", "file", `return (async () => { ${page}; return url; })();`) as (
    f: typeof pageFetch,
    file: File,
  ) => Promise<string>;
  emu.emulator.resetCalls();
  const url = await runPage(pageFetch, file);

  // The Function chose the key (a page cannot pick another object) and the URL lives 600 s.
  const signed = new URL(url);
  expect(signed.searchParams.get("X-Amz-Expires")).toBe("600");
  const key = decodeURIComponent(signed.pathname.slice(`/${bucket}/`.length));
  expect(key).toMatch(/^uploads\/[0-9a-f-]{36}-my-holiday-photo\.jpg$/);
  expect(emu.emulator.s3Calls.map((c) => `${c.method} ${c.status}`)).toEqual(["PUT 200"]);
  const stored = emu.emulator.getObject(bucket, key);
  expect(stored && Buffer.from(stored).equals(Buffer.from([1, 2, 3, 250, 251, 252]))).toBe(true);

  // Past its 600 s the same URL is refused: it is a credential, short-lived.
  emu.emulator.set({ clockOffsetMs: 601_000 });
  const late = await fetch(url, { method: "PUT", body: "again" });
  expect(late.status).toBe(403);
  expect(await late.text()).toContain("<Code>ExpiredRequest</Code>");
});
