// README.md's inputs, outputs and environment tables are generated from action.yml by
// scripts/readme.ts. The first test is the drift check: it fails when someone edits action.yml
// (or the tables by hand) without running `npm run readme`.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type ActionMetadata,
  cell,
  EXPORTED_ENV,
  expectedReadme,
  parseActionYaml,
  ROOT,
  renderInputs,
  SECTIONS,
  updateReadme,
} from "../scripts/readme.js";
import { environmentOf } from "../src/outputs.js";

const action = parseActionYaml(readFileSync(join(ROOT, "action.yml"), "utf8"));

function between(text: string, section: string): string {
  const start = `<!-- ${section}:start -->`;
  const end = `<!-- ${section}:end -->`;
  return text.slice(text.indexOf(start) + start.length, text.indexOf(end));
}

describe("README.md", () => {
  it("matches what `npm run readme` generates from action.yml", () => {
    const { current, expected } = expectedReadme();
    // Compare section by section first, for a readable diff, then the whole file.
    for (const section of SECTIONS) {
      expect(between(current, section), `the ${section} table is stale: run npm run readme`).toBe(
        between(expected, section),
      );
    }
    expect(current, "README.md is stale: run npm run readme").toBe(expected);
  });

  it("has every input, output and exported variable in its tables", () => {
    const { current } = expectedReadme();
    for (const name of Object.keys(action.inputs))
      expect(between(current, "inputs")).toContain(`| \`${name}\` |`);
    for (const name of Object.keys(action.outputs))
      expect(between(current, "outputs")).toContain(`| \`${name}\` |`);
    for (const { name } of EXPORTED_ENV) expect(between(current, "env")).toContain(`| \`${name}\` |`);
  });

  it("shows exactly the two local commands in Try it locally", () => {
    const { current } = expectedReadme();
    expect(current).toContain("npm ci && npm run demo");
    expect(current).toContain("npm test");
  });
});

describe("scripts/readme.ts", () => {
  it("exports exactly the variables that action.yml's export-env input names", () => {
    const description = action.inputs["export-env"]?.description ?? "";
    const named = description.match(/AWS_[A-Z0-9_]+/g) ?? [];
    expect(EXPORTED_ENV.map((v) => v.name).sort()).toEqual([...new Set(named)].sort());
    // In the order the action writes them (src/outputs.ts is what it writes).
    const minted = {
      credentials: { accessKeyId: "a", secretAccessKey: "s", sessionToken: "" },
      endpoint: "https://e",
      region: "auto",
      buckets: ["b"],
      expiresAt: "2026-12-04T00:00:00.000Z",
    } as unknown as Parameters<typeof environmentOf>[0];
    expect(EXPORTED_ENV.map((v) => v.name)).toEqual(Object.keys(environmentOf(minted)));
  });

  it("is idempotent and leaves text outside the markers alone", () => {
    const readme = [
      "# Title",
      "before",
      ...SECTIONS.flatMap((s) => [`<!-- ${s}:start -->`, "OLD-TABLE-XYZ", `<!-- ${s}:end -->`, `after ${s}`]),
    ].join("\n");
    const once = updateReadme(readme, action);
    expect(updateReadme(once, action)).toBe(once);
    expect(once).not.toContain("OLD-TABLE-XYZ");
    expect(once.startsWith("# Title\nbefore\n<!-- inputs:start -->\n| Input |")).toBe(true);
    for (const s of SECTIONS) expect(once).toContain(`<!-- ${s}:end -->\nafter ${s}`);
  });

  it("fails loudly when markers are missing, reversed or repeated", () => {
    const ok = SECTIONS.map((s) => `<!-- ${s}:start -->\n<!-- ${s}:end -->`).join("\n");
    expect(() => updateReadme(ok.replace("<!-- outputs:end -->", ""), action)).toThrow(/outputs:end/);
    expect(() => updateReadme(`<!-- env:end -->\n${ok.replace("<!-- env:end -->", "")}`, action)).toThrow(
      /before/,
    );
    expect(() => updateReadme(`${ok}\n<!-- inputs:start -->`, action)).toThrow(/more than one/);
  });

  it("escapes table-breaking and HTML characters but keeps code spans intact", () => {
    expect(cell("a | b")).toBe("a \\| b");
    expect(cell("https://<account>.r2.cloudflarestorage.com")).toBe(
      "https://&lt;account&gt;.r2.cloudflarestorage.com",
    );
    expect(cell("use `a<b>|c` & more")).toBe("use `a<b>\\|c` &amp; more");
    expect(cell("two\n  lines")).toBe("two lines");
  });

  it("renders required inputs, defaults and empty defaults", () => {
    const meta: ActionMetadata = {
      inputs: {
        bucket: { description: "Bucket.", required: true },
        ttl: { description: "TTL.", required: false, default: "1h" },
        prefixes: { description: "Prefixes.", required: false, default: "" },
      },
      outputs: {},
    };
    expect(renderInputs(meta).split("\n").slice(2)).toEqual([
      "| `bucket` | yes |  | Bucket. |",
      "| `ttl` | no | `1h` | TTL. |",
      "| `prefixes` | no |  | Prefixes. |",
    ]);
  });
});
