// Generates the README's inputs, outputs and environment tables from action.yml.
//
//   npm run readme            rewrite README.md in place
//   npm run readme -- --check exit 1 if README.md is stale (the drift test does the same)
//
// Each table lives between a pair of marker comments, e.g. `<!-- inputs:start -->` and
// `<!-- inputs:end -->`; everything outside the markers is left alone.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parse as parseYaml } from "yaml";

export interface ActionInput {
  description?: string;
  required?: boolean;
  default?: string;
}

export interface ActionMetadata {
  inputs: Record<string, ActionInput>;
  outputs: Record<string, { description?: string }>;
}

/** The variables `export-env: true` exports (docs/design.md §3), in the order the action writes them. */
export const EXPORTED_ENV: ReadonlyArray<{ name: string; value: string }> = [
  { name: "AWS_ACCESS_KEY_ID", value: "The `access-key-id` output." },
  { name: "AWS_SECRET_ACCESS_KEY", value: "The `secret-access-key` output (masked)." },
  {
    name: "AWS_SESSION_TOKEN",
    value:
      "The `session-token` output (masked). Set to the empty string when there is none, so that a stale session token from an earlier step cannot leak into request signing.",
  },
  { name: "AWS_ENDPOINT_URL_S3", value: "The `endpoint` output, without a trailing slash." },
  { name: "AWS_REGION", value: "`auto`" },
  { name: "AWS_DEFAULT_REGION", value: "`auto`" },
  {
    name: "AWS_CREDENTIAL_EXPIRATION",
    value: "The `expires-at` output (RFC 3339), for SDKs that refresh before it.",
  },
  {
    name: "AWS_REQUEST_CHECKSUM_CALCULATION",
    value:
      "`when_required`, unless the step's environment already sets it. boto3 1.36+, AWS CLI 2.23+ and the AWS SDK for JavaScript 3.729+ otherwise send checksums R2 refuses (often as errors that look like bad credentials); Cloudflare's own pages prescribe this setting.",
  },
  {
    name: "AWS_RESPONSE_CHECKSUM_VALIDATION",
    value: "`when_required`, unless the step's environment already sets it (same reason).",
  },
];

export const SECTIONS = ["inputs", "outputs", "env"] as const;
export type Section = (typeof SECTIONS)[number];

export function parseActionYaml(text: string): ActionMetadata {
  const doc = parseYaml(text) as Partial<ActionMetadata> | null;
  if (!doc || typeof doc !== "object" || !doc.inputs || !doc.outputs) {
    throw new Error("action.yml has no inputs or outputs mapping");
  }
  return { inputs: doc.inputs, outputs: doc.outputs };
}

/**
 * Makes free text safe for one Markdown table cell: newlines become spaces, pipes are escaped
 * everywhere (GFM needs `\|` inside code spans too), and `&`, `<`, `>` are escaped outside code
 * spans so that placeholders like `<account>` are not swallowed as HTML tags.
 */
export function cell(text: string): string {
  const flat = text.replace(/\s*\n\s*/g, " ").trim();
  return flat
    .split(/(`[^`]*`)/)
    .map((part, i) =>
      i % 2 === 1
        ? part.replace(/\|/g, "\\|")
        : part.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\|/g, "\\|"),
    )
    .join("");
}

function code(value: string): string {
  // A value with a backtick needs a longer fence; none of ours has one, but stay correct.
  const fence = value.includes("`") ? "`` " : "`";
  const close = value.includes("`") ? " ``" : "`";
  return `${fence}${value.replace(/\|/g, "\\|")}${close}`;
}

export function renderInputs(action: ActionMetadata): string {
  const rows = Object.entries(action.inputs).map(([name, spec]) => {
    const def = spec.default === undefined || spec.default === "" ? "" : code(String(spec.default));
    const required = spec.required === true ? "yes" : "no";
    return `| ${code(name)} | ${required} | ${def} | ${cell(spec.description ?? "")} |`;
  });
  return ["| Input | Required | Default | Description |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

export function renderOutputs(action: ActionMetadata): string {
  const rows = Object.entries(action.outputs).map(
    ([name, spec]) => `| ${code(name)} | ${cell(spec.description ?? "")} |`,
  );
  return ["| Output | Description |", "| --- | --- |", ...rows].join("\n");
}

export function renderEnv(action: ActionMetadata): string {
  const exportEnv = action.inputs["export-env"];
  if (!exportEnv) throw new Error("action.yml has no export-env input");
  const intro =
    exportEnv.default === "true"
      ? "With `export-env: true` (the default) the action exports these variables to the job's later steps:"
      : "With `export-env: true` the action exports these variables to the job's later steps:";
  const rows = EXPORTED_ENV.map(({ name, value }) => `| ${code(name)} | ${cell(value)} |`);
  return [intro, "", "| Variable | Value |", "| --- | --- |", ...rows].join("\n");
}

export function render(section: Section, action: ActionMetadata): string {
  switch (section) {
    case "inputs":
      return renderInputs(action);
    case "outputs":
      return renderOutputs(action);
    case "env":
      return renderEnv(action);
  }
}

/** Replaces the text between every pair of markers with the generated table. Throws on missing or misplaced markers. */
export function updateReadme(readme: string, action: ActionMetadata): string {
  let out = readme;
  for (const section of SECTIONS) {
    const start = `<!-- ${section}:start -->`;
    const end = `<!-- ${section}:end -->`;
    const i = out.indexOf(start);
    const j = out.indexOf(end);
    if (i < 0 || j < 0) throw new Error(`README.md lacks the markers ${start} … ${end}`);
    if (j < i) throw new Error(`README.md has ${end} before ${start}`);
    if (out.indexOf(start, i + 1) >= 0 || out.indexOf(end, j + 1) >= 0) {
      throw new Error(`README.md has more than one ${start} or ${end}`);
    }
    out = `${out.slice(0, i + start.length)}\n${render(section, action)}\n${out.slice(j)}`;
  }
  return out;
}

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** What README.md should be, given the action.yml and README.md in the repository. */
export function expectedReadme(root: string = ROOT): { path: string; current: string; expected: string } {
  const path = join(root, "README.md");
  const current = readFileSync(path, "utf8");
  const action = parseActionYaml(readFileSync(join(root, "action.yml"), "utf8"));
  return { path, current, expected: updateReadme(current, action) };
}

function main(argv: string[]): number {
  const { path, current, expected } = expectedReadme();
  if (argv.includes("--check")) {
    if (current === expected) return 0;
    console.error("README.md is out of date with action.yml: run `npm run readme`.");
    return 1;
  }
  if (current !== expected) {
    writeFileSync(path, expected);
    console.log("README.md updated from action.yml.");
  } else {
    console.log("README.md is up to date.");
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
