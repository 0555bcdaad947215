// The cookbook itself: every recipe is run by a test, every workflow is well formed, and the recipe
// runner's expression evaluation behaves like GitHub's for the forms the cookbook uses.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { parse as parseYaml } from "yaml";
import { repoRoot } from "../../scripts/harness/runner.js";
import { cookbookPath, evaluate, recipes } from "./recipe.js";

const cookbook = fs.readFileSync(cookbookPath, "utf8");
const testDir = path.join(repoRoot, "__tests__/cookbook");

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}

function stepsOf(yaml: string): Step[] {
  const workflow = parseYaml(yaml) as { jobs: Record<string, { steps: Step[] }> };
  return Object.values(workflow.jobs).flatMap((job) => job.steps);
}

describe("docs/cookbook.md", () => {
  test("has the six recipes, each run by a test in __tests__/cookbook", () => {
    const ids = [...recipes(cookbook).keys()];
    expect(ids).toEqual(["aws-cli-sync", "rclone", "boto3", "js-sdk", "data-sync", "matrix"]);
    const tests = fs
      .readdirSync(testDir)
      .filter((file) => file.endsWith(".test.ts"))
      .map((file) => fs.readFileSync(path.join(testDir, file), "utf8"))
      .join("\n");
    for (const id of ids) expect(tests, `no test runs recipe ${id}`).toContain(`runRecipe("${id}"`);
  });

  test("every recipe mints with the action once, from the repository secret and variable", () => {
    for (const [id, yaml] of recipes(cookbook)) {
      const actions = stepsOf(yaml).filter((step) => step.uses?.includes("/r2-ephemeral-credentials@"));
      expect(actions, id).toHaveLength(1);
      const inputs = actions[0]?.with ?? {};
      expect(inputs["api-token"], id).toBe(`\${{ secrets.CLOUDFLARE_API_TOKEN }}`);
      expect(inputs["account-id"], id).toBe(`\${{ vars.CLOUDFLARE_ACCOUNT_ID }}`);
      // The test adds these two; a recipe that set them would not be what the reader copies.
      expect(inputs, id).not.toHaveProperty("api-url");
      expect(inputs, id).not.toHaveProperty("s3-endpoint");
    }
  });

  test("every aws command passes --endpoint-url, so AWS CLI before 2.13 reaches R2 too", () => {
    for (const [id, yaml] of recipes(cookbook)) {
      for (const step of stepsOf(yaml)) {
        for (const line of (step.run ?? "").split("\n").filter((l) => /^\s*aws /.test(l))) {
          expect(line, id).toContain('--endpoint-url "$AWS_ENDPOINT_URL_S3"');
        }
      }
    }
  });

  test(`no run: script interpolates \${{ }} (values reach scripts through env:)`, () => {
    for (const [id, yaml] of recipes(cookbook)) {
      for (const step of stepsOf(yaml)) expect(step.run ?? "", id).not.toContain(`\${{`);
    }
  });

  test("the example scripts it names exist", () => {
    for (const file of ["upload.py", "upload.mjs"]) {
      expect(cookbook).toContain(`(examples/${file})`);
      expect(fs.existsSync(path.join(repoRoot, "docs/examples", file)), file).toBe(true);
    }
  });
});

describe("recipe runner expressions", () => {
  const contexts = {
    secrets: { CLOUDFLARE_API_TOKEN: "t" },
    matrix: { pipeline: "orders" },
    steps: { r2: { outputs: { endpoint: "https://e", "access-key-id": "k" } } },
  };

  test("replaces context paths, hyphenated names included", () => {
    expect(evaluate(`pipelines/\${{ matrix.pipeline }}/`, contexts)).toBe("pipelines/orders/");
    expect(evaluate(`\${{steps.r2.outputs.access-key-id}} \${{ steps.r2.outputs.endpoint }}`, contexts)).toBe(
      "k https://e",
    );
  });

  test("rejects unknown names and operators instead of guessing", () => {
    expect(() => evaluate(`\${{ secrets.OTHER }}`, contexts)).toThrow(/has no value/);
    expect(() => evaluate(`\${{ matrix.pipeline == 'orders' }}`, contexts)).toThrow(/unsupported/);
  });
});
