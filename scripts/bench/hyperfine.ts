// hyperfine (Debian package), when installed: one command against bare `node -e 0`, so that a
// figure reads as a ratio to what Node itself costs on this machine.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { actionNode, run, which } from "./proc.js";
import { ratio } from "./stats.js";
import type { Row } from "./table.js";

export type VersusBareNode =
  | { skipped: string }
  | { runs: number; medianMs: number; stddevMs: number; bareMedianMs: number; bareStddevMs: number };

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** `args` run by the action's Node, `runs` times each after 3 warm-ups; hyperfine's medians and sds. */
export async function versusBareNode(
  args: readonly string[],
  runs: number,
  options: { env: NodeJS.ProcessEnv; ignoreFailure?: boolean },
): Promise<VersusBareNode> {
  const hyperfine = which("hyperfine");
  if (!hyperfine) return { skipped: "hyperfine is not installed (Debian package hyperfine)" };
  const node = actionNode();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "r2e-hyperfine-"));
  const out = path.join(dir, "hyperfine.json");
  try {
    const result = await run(
      hyperfine,
      [
        ...["-N", "--style", "none", "--warmup", "3", "--runs", String(runs)],
        ...(options.ignoreFailure ? ["--ignore-failure"] : []),
        ...["--export-json", out],
        `${quote(node)} -e 0`,
        [node, ...args].map(quote).join(" "),
      ],
      { env: options.env, timeoutMs: 120_000 },
    );
    if (result.exitCode !== 0)
      return { skipped: `hyperfine exited ${result.exitCode}: ${result.stderr.trim()}` };
    const json = JSON.parse(fs.readFileSync(out, "utf8")) as {
      results: { median: number; stddev: number | null }[];
    };
    const [bare, measured] = json.results;
    if (!bare || !measured) return { skipped: "hyperfine wrote no results" };
    return {
      runs,
      medianMs: measured.median * 1000,
      stddevMs: (measured.stddev ?? 0) * 1000,
      bareMedianMs: bare.median * 1000,
      bareStddevMs: (bare.stddev ?? 0) * 1000,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The table row of one comparison: the ratio, with both medians and sds in the detail. */
export function hyperfineRow(skippedFigure: string, figure: string, result: VersusBareNode): Row {
  if ("skipped" in result) return { figure: skippedFigure, value: "skipped", detail: result.skipped };
  const f = (n: number) => n.toFixed(1);
  return {
    figure,
    value: ratio(result.medianMs, result.bareMedianMs),
    detail: `${f(result.medianMs)} ms ± ${f(result.stddevMs)} / ${f(result.bareMedianMs)} ms ± ${f(result.bareStddevMs)} (median ± sd of ${result.runs} runs)`,
  };
}
