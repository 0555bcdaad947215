/**
 * Bundles the vending Worker with esbuild for the Workers runtime: ESM, browser platform (so any
 * `node:` import fails the build: the core must stay Workers-compatible), the `workerd` export
 * condition (jose's Web Crypto build). `wrangler deploy` bundles on its own; this build is for the tests,
 * Miniflare and the size measurement.
 *
 *   npm run build:worker           → build/worker/index.js (minified) and its size
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
export const WORKER_ENTRY = path.join(here, "src", "index.ts");
export const WORKER_OUTFILE = path.join(here, "..", "build", "worker", "index.js");

export interface WorkerBundle {
  code: string;
  bytes: number;
}

export async function buildWorker(options: { minify?: boolean } = {}): Promise<WorkerBundle> {
  const result = await build({
    entryPoints: [WORKER_ENTRY],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    minify: options.minify ?? true,
    legalComments: "none",
    logLevel: "silent",
    outfile: "index.js",
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error("esbuild wrote no output for the Worker");
  const code = file.text;
  // Belt and braces: esbuild's browser platform already refuses to resolve node: builtins.
  const nodeImport = /\bfrom\s*["']node:|\bimport\(\s*["']node:|require\(\s*["']node:/.exec(code);
  if (nodeImport) throw new Error(`the Worker bundle imports a Node built-in: ${nodeImport[0]}`);
  return { code, bytes: new TextEncoder().encode(code).length };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const bundle = await buildWorker();
  await mkdir(path.dirname(WORKER_OUTFILE), { recursive: true });
  await writeFile(WORKER_OUTFILE, bundle.code);
  const gzip = new Blob([bundle.code]).stream().pipeThrough(new CompressionStream("gzip"));
  const gzBytes = (await new Response(gzip).arrayBuffer()).byteLength;
  console.log(
    `${path.relative(process.cwd(), WORKER_OUTFILE)}: ${bundle.bytes} bytes minified, ${gzBytes} bytes gzipped`,
  );
}
