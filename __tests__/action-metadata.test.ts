// action.yml is the contract users' workflows depend on (docs/design.md §3). This test validates it with
// GitHub's own parser (@actions/workflow-parser, the one behind the Actions language service) and
// pins the exact inputs, defaults and outputs, so that no rename or new default slips through.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { NoOperationTraceWriter } from "@actions/workflow-parser";
import {
  type ActionTemplate,
  convertActionTemplate,
  parseAction,
} from "@actions/workflow-parser/actions/index";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { INPUT_DEFAULTS } from "../src/terms.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const actionYml = readFileSync(join(root, "action.yml"), "utf8");

/**
 * The inputs and their defaults have one source, src/terms.ts, which the action, the CLI and the
 * Worker read; action.yml must say the same, in the same order (required inputs have no default).
 */
const EXPECTED_INPUTS = Object.entries(INPUT_DEFAULTS).map(
  ([name, def]) => [name, name === "bucket" ? undefined : def] as const,
);

const EXPECTED_OUTPUTS = [
  "access-key-id",
  "secret-access-key",
  "session-token",
  "endpoint",
  "region",
  "bucket",
  "expires-at",
  "token-id",
  "aws-profile",
] as const;

/** Validates an action.yml text with GitHub's parser; returns the error messages and the converted template. */
function validate(content: string): { errors: string[]; template: ActionTemplate | undefined } {
  const result = parseAction({ name: "action.yml", content }, new NoOperationTraceWriter());
  const parseErrors = result.context.errors.getErrors().map((e) => e.message);
  if (parseErrors.length > 0 || result.value === undefined)
    return { errors: parseErrors, template: undefined };
  const template = convertActionTemplate(result.context, result.value);
  return { errors: result.context.errors.getErrors().map((e) => e.message), template };
}

type RawInput = { description?: unknown; required?: unknown; default?: unknown };
const raw = parseYaml(actionYml) as {
  inputs: Record<string, RawInput>;
  outputs: Record<string, { description?: unknown }>;
  runs: Record<string, unknown>;
};

describe("action.yml", () => {
  it("is valid according to GitHub's action schema (@actions/workflow-parser)", () => {
    const { errors, template } = validate(actionYml);
    expect(errors).toEqual([]);
    expect(template?.runs).toEqual({
      using: "node24",
      main: "dist/main/index.js",
      post: "dist/post/index.js",
      postIf: "always()",
    });
  });

  it.each([
    ["an unknown runtime", (s: string) => s.replace("using: node24", "using: node99"), /node99/],
    ["a misspelt runs key", (s: string) => s.replace("  main: dist/", "  mian: dist/"), /mian|main/],
    ["a non-boolean required", (s: string) => s.replace("required: true", "required: maybe"), /maybe/],
    ["an unknown branding icon", (s: string) => s.replace(/icon: .*/, "icon: no-such-icon"), /no-such-icon/],
    [
      "a broken post-if expression",
      (s: string) => s.replace("post-if: always()", "post-if: always() &&"),
      /./,
    ],
    ["invalid YAML", () => "name: [", /./],
  ])("the validator rejects %s (so the test above can fail)", (_label, mutate, pattern) => {
    const broken = mutate(actionYml);
    expect(broken).not.toBe(actionYml);
    const { errors } = validate(broken);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.join("\n")).toMatch(pattern);
  });

  it("runs on node24 with main, post and post-if: always()", () => {
    expect(raw.runs).toEqual({
      using: "node24",
      main: "dist/main/index.js",
      post: "dist/post/index.js",
      "post-if": "always()",
    });
  });

  it("points main and post at files that exist (run `npm run build` first)", () => {
    for (const key of ["main", "post"] as const) {
      const path = raw.runs[key];
      expect(typeof path).toBe("string");
      expect(
        existsSync(join(root, path as string)),
        `${key}: ${String(path)} is missing; run npm run build`,
      ).toBe(true);
    }
  });

  it("declares exactly the inputs of src/terms.ts, in order, with their defaults", () => {
    const actual = Object.entries(raw.inputs).map(([name, spec]) => [name, spec.default] as const);
    expect(actual).toEqual(EXPECTED_INPUTS);
  });

  it("requires only bucket", () => {
    const required = Object.entries(raw.inputs)
      .filter(([, spec]) => spec.required === true)
      .map(([name]) => name);
    expect(required).toEqual(["bucket"]);
    for (const [name, spec] of Object.entries(raw.inputs)) {
      expect(typeof spec.required, `${name}.required`).toBe("boolean");
    }
  });

  it("gives every default as a string, so the runner passes it verbatim", () => {
    for (const [name, spec] of Object.entries(raw.inputs)) {
      if (spec.default !== undefined) expect(typeof spec.default, `${name}.default`).toBe("string");
    }
  });

  it("declares exactly the contract's outputs, in order", () => {
    expect(Object.keys(raw.outputs)).toEqual(EXPECTED_OUTPUTS);
  });

  it("describes every input and output", () => {
    for (const [name, spec] of [...Object.entries(raw.inputs), ...Object.entries(raw.outputs)]) {
      expect(typeof spec.description, `${name}.description`).toBe("string");
      expect((spec.description as string).trim().length, `${name}.description`).toBeGreaterThan(0);
    }
  });
});
