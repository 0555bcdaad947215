import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * The bundles under test: the suite's global set-up builds src/ and names the build in R2E_E2E_DIST;
 * set by hand it points the suite at another build (e.g. a deliberately broken copy when checking
 * that the tests catch a regression). Without either (a script outside vitest), the committed dist/.
 */
export const distDir = process.env.R2E_E2E_DIST
  ? path.resolve(process.env.R2E_E2E_DIST)
  : path.join(repoRoot, "dist");
