// Bundles the three entry points exactly as shipped: ncc (one file per entry, licences recorded),
// then esbuild's minifier over ncc's output. `npm run build` writes dist/; the test suite's global
// set-up writes the same bundles into a folder of its own (`--out DIR`), so tests run what src/ is now.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name: string) => path.join(root, "node_modules/.bin", name);

/** Entry points and the dist/ folder each one becomes (action.yml and package.json's bin name them). */
export const ENTRIES = {
  main: "src/action/main.ts",
  post: "src/action/post.ts",
  cli: "src/cli/index.ts",
} as const;

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
    child.once("error", reject);
    child.once("exit", (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`${path.basename(command)} ${args.join(" ")} ended with ${signal ?? code}`)),
    );
  });
}

/** Builds every entry into `outDir` (emptied first). */
export async function build(outDir: string): Promise<void> {
  fs.rmSync(outDir, { recursive: true, force: true });
  // Two at a time: ncc is mostly single-threaded and CI machines have two cores.
  const entries = Object.entries(ENTRIES);
  for (let i = 0; i < entries.length; i += 2) {
    await Promise.all(
      entries
        .slice(i, i + 2)
        .map(([name, source]) =>
          run(bin("ncc"), [
            "build",
            source,
            "-o",
            path.join(outDir, name),
            "-q",
            "--target",
            "es2023",
            "--license",
            "licenses.txt",
          ]),
        ),
    );
  }
  const bundles = Object.keys(ENTRIES).flatMap((name) =>
    fs
      .readdirSync(path.join(outDir, name))
      .filter((file) => file.endsWith(".js"))
      .map((file) => path.join(outDir, name, file)),
  );
  await run(bin("esbuild"), [
    ...bundles,
    `--outbase=${outDir}`,
    `--outdir=${outDir}`,
    "--allow-overwrite",
    "--minify",
    "--keep-names",
    "--tree-shaking=true",
    "--format=esm",
    "--platform=node",
    "--target=node20",
    "--log-level=warning",
  ]);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outFlag = process.argv.indexOf("--out");
  const outDir = path.resolve(root, outFlag === -1 ? "dist" : (process.argv[outFlag + 1] ?? "dist"));
  build(outDir).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  });
}
