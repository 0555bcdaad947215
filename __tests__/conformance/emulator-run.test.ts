// `npm run conformance` against its own emulator: every check confirmed or skipped with a reason, and
// the ids in emulator/ (each `// Assumption (conformance: <id>)`), emulator/README.md and the script
// are the same set.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ASSUMPTION_SWITCHES } from "../../emulator/assumptions.js";
import { CHECK_IDS, CHECKS } from "../../scripts/conformance/registry.js";
import { spawnWithTimeout } from "../../scripts/harness/spawn.js";
import { cleanEnv, ROOT, verdictLines } from "./support.js";

describe("npm run conformance (against the emulator)", () => {
  it("confirms every assumption it can check and gives a reason for the rest; exit 0", async () => {
    const run = await spawnWithTimeout("npm", ["run", "--silent", "conformance"], {
      env: cleanEnv(),
      cwd: ROOT,
      timeoutMs: 90_000,
    });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const lines = verdictLines(run.stdout);
    expect(lines.map((l) => l.id)).toEqual(CHECK_IDS);
    for (const l of lines) {
      expect(l.verdict, `${l.id}: ${l.rest}`).not.toBe("refuted");
      if (l.verdict === "skipped") expect(l.rest).toMatch(/^\(.{10,}\)$/);
    }
    expect(run.stdout).toMatch(/^propagation {2}\d+ ms {2}\(/m);
    expect(run.stdout).toMatch(/^\d+ confirmed, 0 refuted, \d+ skipped$/m);
    // What it created was named for the run and is gone (the emulator went with the run).
    expect(run.stderr).toMatch(/resources are named r2e-conformance-[0-9a-z]+-/);
  });
});

describe("the assumptions and their checks", () => {
  const emulatorDir = path.join(ROOT, "emulator");
  const sources = fs
    .readdirSync(emulatorDir)
    .filter((f) => f.endsWith(".ts"))
    .map((f) => ({ file: `emulator/${f}`, text: fs.readFileSync(path.join(emulatorDir, f), "utf8") }));
  const readme = fs.readFileSync(path.join(emulatorDir, "README.md"), "utf8");
  const named = new Set(
    sources.flatMap(({ text }) =>
      [...text.matchAll(/\(conformance: ([a-z0-9-]+)[;)]/g)].map((m) => m[1] as string),
    ),
  );

  it("every `// Assumption` in emulator/ names its check", () => {
    const unnamed = sources.flatMap(({ file, text }) =>
      text
        .split("\n")
        .map((line, i) => ({ line, at: `${file}:${i + 1}` }))
        .filter(({ line }) => /\/\/.*\bAssumption\b|^\s*\*.*\bAssumption\b/.test(line))
        .filter(({ line }) => !/Assumption \(conformance: [a-z0-9-]+[;)]/.test(line))
        .map(({ at, line }) => `${at}: ${line.trim()}`),
    );
    expect(unnamed).toEqual([]);
  });

  it("every id the emulator names is a check of the script, and every check is named by the emulator", () => {
    expect([...named].filter((id) => !CHECK_IDS.includes(id))).toEqual([]);
    expect(CHECK_IDS.filter((id) => !named.has(id))).toEqual([]);
  });

  it("emulator/README.md lists every check with its switch", () => {
    const rows = new Map(
      readme
        .split("\n")
        .map((line) => line.split("|").map((cell) => cell.trim()))
        .filter((cells) => cells.length === 5 && /^`[a-z0-9-]+`$/.test(cells[1] ?? ""))
        .map((cells) => [(cells[1] ?? "").slice(1, -1), cells[3] ?? ""]),
    );
    expect(CHECK_IDS.filter((id) => !rows.has(id))).toEqual([]);
    for (const sw of ASSUMPTION_SWITCHES) {
      expect(rows.get(sw.check), sw.check).toContain(`\`${sw.option}\``);
    }
  });

  it("each check states its assumption in one line", () => {
    for (const c of CHECKS) expect(c.assumption, c.id).toMatch(/^[^\n]{20,200}$/);
  });
});
