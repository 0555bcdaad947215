// The bench's one table: rows of (figure, value, detail), with section rows between groups.
// Rendered as aligned plain text for the terminal and as Markdown for BENCHMARKS.md.

export type Row = { section: string } | { figure: string; value: string; detail?: string };

const HEADER = ["figure", "value", "detail"] as const;

function cells(row: Row): [string, string, string] | undefined {
  return "section" in row ? undefined : [row.figure, row.value, row.detail ?? ""];
}

export function renderText(rows: readonly Row[]): string {
  const data = rows.map(cells).filter((c): c is [string, string, string] => c !== undefined);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...data.map((c) => c[i]?.length ?? 0)));
  const line = (c: readonly string[]) =>
    c
      .map((cell, i) => (i === 1 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  const out = [line(HEADER), rule];
  for (const row of rows) {
    const c = cells(row);
    out.push(c ? line(c) : `[${(row as { section: string }).section}]`);
  }
  return out.join("\n");
}

const md = (s: string) => s.replace(/\|/g, "\\|");

export function renderMarkdown(rows: readonly Row[]): string {
  const out = [`| ${HEADER.join(" | ")} |`, "| --- | ---: | --- |"];
  for (const row of rows) {
    const c = cells(row);
    out.push(c ? `| ${c.map(md).join(" | ")} |` : `| **${md((row as { section: string }).section)}** | | |`);
  }
  return out.join("\n");
}
