// Relative links in the repository's Markdown (README.md and the other top-level documents,
// docs/*.md and the example front end's README, worker/ and emulator/) point at files that exist and at headings that exist (GitHub's
// anchor rules: lower case, punctuation dropped, spaces to hyphens, -1, -2 for repeats).
import fs from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { repoRoot } from "../../scripts/harness/runner.js";

const pages = [
  "README.md",
  "CONTRIBUTING.md",
  "SECURITY.md",
  "CHANGELOG.md",
  "BENCHMARKS.md",
  "worker/README.md",
  "emulator/README.md",
  "docs/examples/front-end/README.md",
  ...fs
    .readdirSync(path.join(repoRoot, "docs"))
    .filter((file) => file.endsWith(".md"))
    .map((file) => `docs/${file}`),
];

/** Markdown without fenced code blocks, where `[x](y)` is not a link. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, "");
}

function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = (heading as string)
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

test.each(pages)("%s: every relative link resolves", (page) => {
  const text = fs.readFileSync(path.join(repoRoot, page), "utf8");
  const broken: string[] = [];
  for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
    const link = target as string;
    if (/^[a-z]+:/.test(link)) continue;
    const [file, anchor] = link.split("#") as [string, string | undefined];
    const resolved = file === "" ? page : path.normalize(path.join(path.dirname(page), file));
    const full = path.join(repoRoot, resolved);
    if (!fs.existsSync(full)) {
      broken.push(`${link}: no file ${resolved}`);
      continue;
    }
    if (
      anchor !== undefined &&
      resolved.endsWith(".md") &&
      !anchors(fs.readFileSync(full, "utf8")).has(anchor)
    ) {
      broken.push(`${link}: no heading #${anchor} in ${resolved}`);
    }
  }
  expect(broken).toEqual([]);
});
