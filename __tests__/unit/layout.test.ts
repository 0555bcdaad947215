// The core/edge rule: the src/ root and src/cloudflare/ are the host-free core (fetch, Web Crypto,
// zod and aws4fetch only; it also runs in the vending Worker); each host is a wing that imports the
// core (and the wings it composes, e.g. the action's entry points use src/node/), never the other way.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { repoRoot } from "../../scripts/harness/paths.js";

const SRC = path.join(repoRoot, "src");
const WINGS = ["action", "cli", "keyless", "node"];
const CORE = ["", "cloudflare"];

function tsFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory()
        ? tsFiles(path.join(dir, entry.name))
        : entry.name.endsWith(".ts")
          ? [path.join(dir, entry.name)]
          : [],
    );
}

/** Every module specifier a file imports or re-exports, static or dynamic. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  const found = new Set<string>();
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/g))
    found.add(match[1] as string);
  for (const match of text.matchAll(/(?:^|\n)\s*import\s*["']([^"']+)["']/g)) found.add(match[1] as string);
  for (const match of text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) found.add(match[1] as string);
  return [...found];
}

/** The folder of src/ a file belongs to: "" for the root, else its first directory. */
function roomOf(file: string): string {
  const relative = path.relative(SRC, file);
  return relative.includes(path.sep) ? (relative.split(path.sep)[0] as string) : "";
}

function violations(file: string): string[] {
  const room = roomOf(file);
  const problems: string[] = [];
  for (const specifier of importsOf(file)) {
    if (specifier.startsWith(".")) {
      const target = path.resolve(path.dirname(file), specifier);
      if (!target.startsWith(SRC + path.sep)) {
        problems.push(`${specifier} (outside src/)`);
        continue;
      }
      const targetRoom = roomOf(target);
      if (CORE.includes(room) && WINGS.includes(targetRoom)) problems.push(`${specifier} (a wing)`);
    } else if (CORE.includes(room) && (specifier.startsWith("node:") || specifier.startsWith("@actions/"))) {
      problems.push(`${specifier} (host-specific)`);
    } else if (CORE.includes(room) && !["zod/mini", "zod/locales", "aws4fetch"].includes(specifier)) {
      problems.push(`${specifier} (a package the core does not use)`);
    }
  }
  return problems;
}

describe("src/ layout", () => {
  const files = tsFiles(SRC);

  test("has only the core and the known wings", () => {
    const rooms = new Set(files.map(roomOf));
    for (const room of rooms) expect([...CORE, ...WINGS], room).toContain(room);
  });

  test.each(files.map((file) => [path.relative(repoRoot, file), file]))(
    "%s keeps the core/edge rule",
    (_name, file) => {
      expect(violations(file)).toEqual([]);
    },
  );

  test("the rule catches what it forbids", () => {
    const probe = path.join(SRC, "layout-probe.ts");
    fs.writeFileSync(
      probe,
      'import fs from "node:fs";\nimport * as core from "@actions/core";\nimport { runCli } from "./cli/run.js";\nexport const x = [fs, core, runCli];\n',
    );
    try {
      expect(violations(probe)).toEqual([
        "node:fs (host-specific)",
        "@actions/core (host-specific)",
        "./cli/run.js (a wing)",
      ]);
    } finally {
      fs.rmSync(probe);
    }
  });
});
