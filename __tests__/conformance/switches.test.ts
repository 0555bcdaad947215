// A check that passes by construction proves nothing: for every switchable assumption, an emulator
// that takes the other side makes the matching check print `refuted`, and the run exit 1.
import { describe, expect, it } from "vitest";
import { ASSUMPTION_SWITCHES } from "../../emulator/assumptions.js";
import { runConformance } from "../../scripts/conformance/run.js";
import { cleanEnv, runScript, verdictLines } from "./support.js";

const cases = ASSUMPTION_SWITCHES.flatMap((sw) =>
  sw.values
    .slice(1)
    .map((value) => ({ sw, value, label: `${sw.option} = ${JSON.stringify(value)} → ${sw.check}` })),
);

describe("each switch set the other way is refuted by its check", () => {
  it.each(cases)("$label", async ({ sw, value }) => {
    const out: string[] = [];
    const result = await runConformance({
      emulatorOptions: sw.options(value),
      only: [sw.check],
      out: (line) => out.push(line),
      err: () => {},
    });
    const lines = verdictLines(out.join("\n"));
    expect(lines, out.join("\n")).toEqual([
      { verdict: "refuted", id: sw.check, rest: expect.stringContaining("(observed: ") },
    ]);
    expect(result.exitCode).toBe(1);
    expect(result.leftovers).toEqual([]);
  });

  it("and with the default, the same check is confirmed", async () => {
    const out: string[] = [];
    const result = await runConformance({
      only: ASSUMPTION_SWITCHES.map((sw) => sw.check),
      out: (line) => out.push(line),
      err: () => {},
    });
    expect(verdictLines(out.join("\n")).map((l) => l.verdict)).toEqual(
      ASSUMPTION_SWITCHES.map(() => "confirmed"),
    );
    expect(result.exitCode).toBe(0);
  });

  it("--assume does the same from the command line: refuted, exit 1", async () => {
    const run = await runScript(["--assume", "queryPlus=space", "--only", "query-plus"], cleanEnv());
    expect(run.exitCode, run.stderr).toBe(1);
    expect(verdictLines(run.stdout)).toEqual([
      { verdict: "refuted", id: "query-plus", rest: expect.stringContaining("a + was read as a space") },
    ]);
  });
});
