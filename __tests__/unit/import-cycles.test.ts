// No import cycles in src/ or emulator/: a cycle makes module initialisation order matter (a value
// read before its module ran is undefined) and usually means two modules share something that wants
// a module of its own. Type-only imports count too: they are cycles for the reader all the same.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import ts from "typescript";
import { describe, expect, test } from "vitest";
import { repoRoot } from "../../scripts/harness/paths.js";

function tsFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts"))
    .map((name) => path.join(dir, name));
}

/** `./x.js` → the x.ts next to the importer (NodeNext spelling), or undefined for a non-.ts target. */
function resolveImport(from: string, specifier: string): string | undefined {
  const target = path.resolve(path.dirname(from), specifier);
  for (const candidate of [target.replace(/\.js$/, ".ts"), `${target}.ts`, path.join(target, "index.ts")]) {
    if (candidate.endsWith(".ts") && fs.existsSync(candidate) && fs.statSync(candidate).isFile()) {
      return candidate;
    }
  }
  return undefined;
}

/** Every file's relative imports (static, re-exports, type-only and dynamic; never those in comments). */
function importGraph(files: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true);
    const targets = importedFiles
      .map((imported) => imported.fileName)
      .filter((specifier) => specifier.startsWith("."))
      .map((specifier) => resolveImport(file, specifier))
      .filter((target): target is string => target !== undefined);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Each cycle once, as the chain of files that closes it. */
function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const visit = (file: string): void => {
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (onStack.has(next)) cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!done.has(next)) visit(next);
    }
    stack.pop();
    onStack.delete(file);
    done.add(file);
  };
  for (const file of [...graph.keys()].sort()) if (!done.has(file)) visit(file);
  return cycles;
}

const readable = (cycle: string[]) => cycle.map((file) => path.relative(repoRoot, file)).join(" → ");

describe("import cycles", () => {
  test("the check finds a cycle, through a type-only import and a re-export", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "r2e-cycles-"));
    try {
      fs.writeFileSync(path.join(dir, "a.ts"), 'import type { B } from "./b.js";\nexport type A = B;\n');
      fs.writeFileSync(path.join(dir, "b.ts"), 'export * from "./c.js";\nexport type B = string;\n');
      fs.writeFileSync(path.join(dir, "c.ts"), '// import "./b.js";\nexport { type A } from "./a.js";\n');
      fs.writeFileSync(path.join(dir, "d.ts"), 'import "./a.js";\n');
      const cycles = findCycles(importGraph(tsFiles(dir)));
      expect(cycles.map((cycle) => cycle.map((file) => path.basename(file)))).toEqual([
        ["a.ts", "b.ts", "c.ts", "a.ts"],
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test.for(["src", "emulator"])("%s/ has none", (dir) => {
    const files = tsFiles(path.join(repoRoot, dir));
    expect(files.length).toBeGreaterThan(5);
    expect(findCycles(importGraph(files)).map(readable)).toEqual([]);
  });
});
