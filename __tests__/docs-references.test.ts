// A fresh clone must hold everything its documents and comments point to. The design contract and
// the Cloudflare facts live in docs/design.md and docs/cloudflare-api.md, cited by section
// ("docs/design.md §4"); nothing may cite the notes they were first written from, which are not
// part of the repository, and every cited section must exist.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";

const root = path.resolve(import.meta.dirname, "..");
const self = path.relative(root, import.meta.filename);

/**
 * The repository's text files (tracked, or new and not ignored), without the bundles (generated)
 * and this file (which names the patterns).
 */
function trackedFiles(): string[] {
  return execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
  })
    .split("\0")
    .filter((file) => file !== "" && file !== self)
    .filter((file) => !file.startsWith("dist/") && !file.includes("node_modules/"))
    .filter((file) => fs.existsSync(path.join(root, file)));
}

function textOf(file: string): string | undefined {
  const bytes = fs.readFileSync(path.join(root, file));
  return bytes.includes(0) ? undefined : bytes.toString("utf8");
}

/** Ways of citing a document that lives outside the repository. */
const OUTSIDE: { what: string; pattern: RegExp }[] = [
  { what: "a DESIGN section", pattern: /\bDESIGN §/ },
  { what: "a NOTES section", pattern: /\bNOTES §/ },
  { what: "the design notes by name", pattern: /\((?:DESIGN|NOTES)[:)]/ },
  { what: "a NOTES open question", pattern: /\bNOTES open question/ },
  { what: "a notes file", pattern: /\b(?:DESIGN|NOTES|FIDELITY|ECOSYSTEM|STYLE|TOOLING)\.md\b/ },
  // `shared/` as a folder beside the repository, not a key prefix such as `s3://lake/shared/`.
  { what: "the shared folder", pattern: /(?:^|[\s`'"(])(?:\.\.\/)+shared\//m },
  { what: "the shared folder", pattern: /\/work\/shared\b/ },
  {
    what: "the shared folder",
    pattern: /(?:^|[\s`'"(])shared\/(?:[A-Z]+\.md|cloudflare-api\/|hooks\/)/m,
  },
  {
    what: "the research notes folder",
    pattern: /\bcloudflare-api\/(?:NOTES|FIDELITY|SOURCE|openapi-subset)/,
  },
];

const DOCS = { design: "docs/design.md", "cloudflare-api": "docs/cloudflare-api.md" } as const;
type Doc = keyof typeof DOCS;

/** Section numbers of a document: "## 3. …" gives "3", "### 8.1 …" gives "8.1". */
function sections(doc: Doc): Set<string> {
  const text = fs.readFileSync(path.join(root, DOCS[doc]), "utf8");
  return new Set([...text.matchAll(/^#{2,3} (\d+(?:\.\d+)?)\.? /gm)].map((m) => m[1] as string));
}

const CITATION = /(?<![\w-])(?:docs\/)?(design|cloudflare-api)\.md §(\d+(?:\.\d+)?)/g;

describe("references to documents", () => {
  const files = trackedFiles().flatMap((file) => {
    const text = textOf(file);
    return text === undefined ? [] : [{ file, text }];
  });

  test("the repository's files are found", () => {
    expect(files.map((f) => f.file)).toEqual(
      expect.arrayContaining(["README.md", DOCS.design, DOCS["cloudflare-api"]]),
    );
  });

  test("nothing cites a document outside the repository", () => {
    const found: string[] = [];
    for (const { file, text } of files) {
      text.split("\n").forEach((line, index) => {
        for (const { what, pattern } of OUTSIDE) {
          if (!pattern.test(line)) continue;
          found.push(`${file}:${index + 1} cites ${what}: ${line.trim()}`);
        }
      });
    }
    expect(found, "point these at docs/design.md §n or docs/cloudflare-api.md §n").toEqual([]);
  });

  test("every docs/design.md §n and docs/cloudflare-api.md §n names a section that exists", () => {
    const known = { design: sections("design"), "cloudflare-api": sections("cloudflare-api") };
    expect(known.design.size).toBeGreaterThan(5);
    expect(known["cloudflare-api"].size).toBeGreaterThan(5);
    const broken: string[] = [];
    let cited = 0;
    for (const { file, text } of files) {
      for (const match of text.matchAll(CITATION)) {
        const [citation, doc, section] = match as unknown as [string, Doc, string];
        cited++;
        if (!known[doc].has(section)) broken.push(`${file}: ${citation}`);
      }
    }
    expect(cited, "the code cites the documents by section").toBeGreaterThan(20);
    expect(broken).toEqual([]);
  });

  test.each(Object.keys(DOCS) as Doc[])(
    "%s.md: its own bare § references name sections that exist",
    (doc) => {
      // A § not preceded by a document's name refers to the document it is in.
      const text = fs.readFileSync(path.join(root, DOCS[doc]), "utf8").replace(CITATION, "");
      const known = sections(doc);
      const broken = [...text.matchAll(/§(\d+(?:\.\d+)?)/g)]
        .map((m) => m[1] as string)
        .filter((section) => !known.has(section));
      expect(broken).toEqual([]);
    },
  );
});
