/**
 * Runs a workflow from docs/cookbook.md the way GitHub would run it, against the emulator, so that
 * the YAML a reader copies is the YAML under test.
 *
 * Each recipe in the cookbook is a fenced `yaml` block preceded by `<!-- recipe: <id> -->`. This
 * module parses that block and runs its job (every matrix combination at once, like GitHub):
 *
 * - the `uses: …/r2-ephemeral-credentials@…` step runs the bundled action with the runner protocol
 *   (`runMain` from scripts/harness/runner.ts), with its `with:` inputs as written, plus `api-url` and
 *   `s3-endpoint` pointing at the emulator — the only inputs the test adds;
 * - every `run:` step runs with bash (`bash --noprofile --norc -eo pipefail`, GitHub's default on
 *   Linux) in a fresh workspace, with the job's environment: what the action exported through
 *   GITHUB_ENV, the step's `env:`, and `${{ … }}` expressions evaluated from secrets, vars, github,
 *   matrix, steps and env;
 * - the clients a recipe names are the real ones: Debian's `/usr/bin/aws` (AWS CLI 2.9),
 *   `rclone`, `/usr/bin/python3` with python3-boto3, and Node with `@aws-sdk/client-s3`. A missing
 *   Debian client skips the test with the command that installs it (fails it under CI);
 * - steps that only prepare a GitHub runner (`actions/checkout`, `actions/setup-*`) are skipped, and
 *   steps the test must replace (the project's own build, installing a client the machine already
 *   has) are replaced by name through `stubs`; any other unknown step fails the test;
 * - after the steps, the post step runs (`runPost`) with main's state, as `post-if: always()` does.
 *
 * Never spawn synchronously here: the emulator lives in the test process (see scripts/harness/spawn.ts).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestContext } from "vitest";
import { parse as parseYaml } from "yaml";
import type { SeededToken } from "../../emulator/types.js";
import {
  describeStep,
  type Inputs,
  parseFileCommands,
  repoRoot,
  runMain,
  runPost,
  type StepResult,
} from "../../scripts/harness/runner.js";
import { type SpawnResult, spawnWithTimeout } from "../../scripts/harness/spawn.js";
import { type ClientName, needClients, requireClient } from "../helpers/clients.js";
import type { Emulator } from "../helpers/emulator.js";

export const cookbookPath = path.join(repoRoot, "docs/cookbook.md");

const RECIPE_MARKER = /<!--\s*recipe:\s*([a-z0-9-]+)\s*-->\s*\n```ya?ml\n([\s\S]*?)\n```/g;

/** Every recipe of the cookbook: id → the YAML text of its workflow. */
export function recipes(markdown = fs.readFileSync(cookbookPath, "utf8")): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of markdown.matchAll(RECIPE_MARKER)) {
    const [, id, yaml] = match as unknown as [string, string, string];
    if (found.has(id)) throw new Error(`docs/cookbook.md: recipe "${id}" appears twice`);
    found.set(id, yaml);
  }
  return found;
}

export function recipeYaml(id: string): string {
  const yaml = recipes().get(id);
  if (yaml === undefined) {
    throw new Error(
      `docs/cookbook.md has no recipe "${id}" (a \`<!-- recipe: ${id} -->\` line right before a yaml block)`,
    );
  }
  return yaml;
}

// --- clients --------------------------------------------------------------------------------------

/** A real client a recipe's steps call: a Debian one, or the AWS SDK for JavaScript from node_modules. */
export type Client = ClientName | "node-aws-sdk";

/**
 * Skips the test (fails it under CI) when a Debian client the recipe names is missing; returns the
 * binaries to put first on the steps' PATH.
 */
export function requireClients(ctx: Pick<TestContext, "skip">, clients: Client[]): Record<string, string> {
  const debian = clients.filter((client): client is ClientName => client !== "node-aws-sdk");
  needClients(ctx, ...debian);
  const bin: Record<string, string> = { node: process.execPath };
  for (const client of debian) {
    const found = requireClient(client);
    if (client === "boto3") {
      bin.python3 = found;
      bin.python = found;
    } else {
      bin[client] = found;
    }
  }
  if (
    clients.includes("node-aws-sdk") &&
    !fs.existsSync(path.join(repoRoot, "node_modules/@aws-sdk/client-s3/package.json"))
  ) {
    throw new Error("@aws-sdk/client-s3 is missing from node_modules: run `npm ci`");
  }
  return bin;
}

// --- workflow model and expressions ---------------------------------------------------------------

interface WorkflowStep {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  shell?: string;
  "working-directory"?: string;
}

interface WorkflowJob {
  "runs-on": string;
  env?: Record<string, unknown>;
  strategy?: { matrix?: Record<string, unknown[]>; "fail-fast"?: boolean };
  steps: WorkflowStep[];
}

interface Workflow {
  name?: string;
  env?: Record<string, unknown>;
  jobs: Record<string, WorkflowJob>;
}

const SUPPORTED_STEP_KEYS = new Set([
  "name",
  "id",
  "uses",
  "run",
  "with",
  "env",
  "shell",
  "working-directory",
]);
const ACTION = /(^|\/)r2-ephemeral-credentials@/;
/** Runner preparation: on the test machine the workspace and the tools are already there. */
const RUNNER_SETUP = /^actions\/(checkout|setup-node|setup-python)@/;

type Contexts = Record<string, unknown>;

/** Replaces each `${{ a.b.c }}` by its value; an unknown name is a bug in the cookbook, so it throws. */
export function evaluate(text: string, contexts: Contexts): string {
  return text.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, expression: string) => {
    if (!/^[A-Za-z_][\w-]*(\.[\w-]+)*$/.test(expression)) {
      throw new Error(`recipe runner: unsupported expression \${{ ${expression} }}`);
    }
    let value: unknown = contexts;
    for (const part of expression.split(".")) {
      value =
        value !== null && typeof value === "object" ? (value as Record<string, unknown>)[part] : undefined;
    }
    if (value === undefined || value === null || typeof value === "object") {
      throw new Error(`recipe runner: \${{ ${expression} }} has no value in this job`);
    }
    return String(value);
  });
}

function evaluateMap(map: Record<string, unknown> | undefined, contexts: Contexts): Record<string, string> {
  return Object.fromEntries(
    Object.entries(map ?? {}).map(([key, value]) => [key, evaluate(String(value), contexts)]),
  );
}

/** Every combination of a `strategy.matrix` of plain lists (no include/exclude in the cookbook). */
function matrixCombinations(matrix: Record<string, unknown[]> | undefined): Record<string, string>[] {
  let combos: Record<string, string>[] = [{}];
  for (const [key, values] of Object.entries(matrix ?? {})) {
    if (!Array.isArray(values)) throw new Error(`recipe runner: matrix.${key} must be a list`);
    combos = combos.flatMap((combo) => values.map((value) => ({ ...combo, [key]: String(value) })));
  }
  return combos;
}

// --- running a recipe -----------------------------------------------------------------------------

export interface StepRun {
  name: string;
  kind: "action" | "run" | "stub" | "skipped";
  result?: SpawnResult;
  main?: StepResult;
}

export interface JobRun {
  matrix: Record<string, string>;
  workspace: string;
  steps: StepRun[];
  main: StepResult;
  post: StepResult | undefined;
  /** The job's environment at the end (what a later step, or the post step, sees). */
  env: Record<string, string>;
  /** Runs a bash script in this job's workspace with this job's environment (e.g. after the post step). */
  shell: (script: string) => Promise<SpawnResult>;
}

export interface JobHooks {
  workspace: string;
  matrix: Record<string, string>;
  env: Record<string, string>;
  shell: (script: string) => Promise<SpawnResult>;
}

export interface RecipeOptions {
  emulator: Emulator;
  /** The token in `secrets.CLOUDFLARE_API_TOKEN`. */
  minter: SeededToken;
  /** The test's context: a recipe whose clients are missing is skipped (fails under CI). */
  ctx: Pick<TestContext, "skip">;
  /** The real clients the recipe's steps call. */
  clients: Client[];
  /** Directory for the jobs' workspaces (removed by the caller). */
  workRoot: string;
  /** Files a checkout would bring: workspace path → path in this repository. */
  files?: Record<string, string>;
  /** Writes the rest of what a checkout would bring (e.g. a site to publish) into the workspace. */
  checkout?: (workspace: string, matrix: Record<string, string>) => void;
  /** Steps (by name) the test replaces: the project's own build, a client install the machine has. */
  stubs?: Record<string, (job: JobHooks) => void | Promise<void>>;
  /** Runs after the workflow's steps and before the post step, with the job's environment. */
  beforePost?: (job: JobHooks) => Promise<void>;
  /** `github.sha` / GITHUB_SHA. */
  sha?: string;
  /** `github.ref_name` / GITHUB_REF_NAME. */
  refName?: string;
}

/** A readable dump of a job for assertion messages. */
export function describeJob(job: JobRun): string {
  const parts = [`job ${JSON.stringify(job.matrix)} in ${job.workspace}`];
  for (const step of job.steps) {
    if (step.main) parts.push(`## step "${step.name}" (action main)\n${describeStep(step.main)}`);
    else if (step.result) {
      parts.push(
        `## step "${step.name}": exit ${step.result.exitCode} in ${step.result.durationMs} ms\n--- stdout\n${step.result.stdout}\n--- stderr\n${step.result.stderr}`,
      );
    } else parts.push(`## step "${step.name}": ${step.kind}`);
  }
  if (job.post) parts.push(`## post\n${describeStep(job.post)}`);
  return parts.join("\n");
}

/** True when main and every run step exited 0 and the post step ran and exited 0. */
export function jobSucceeded(job: JobRun): boolean {
  return (
    job.main.exitCode === 0 &&
    job.steps.every((step) => step.result === undefined || step.result.exitCode === 0) &&
    job.post?.exitCode === 0
  );
}

function stepName(step: WorkflowStep, index: number): string {
  return step.name ?? step.uses ?? step.run?.split("\n")[0] ?? `step ${index + 1}`;
}

async function runJob(
  workflow: Workflow,
  job: WorkflowJob,
  matrix: Record<string, string>,
  options: RecipeOptions,
  bin: Record<string, string>,
): Promise<JobRun> {
  const workspace = fs.mkdtempSync(path.join(options.workRoot, "job-"));
  const home = path.join(workspace, ".home");
  const runnerTemp = path.join(workspace, ".runner-temp");
  const tools = path.join(workspace, ".tools");
  for (const dir of [home, runnerTemp, tools]) fs.mkdirSync(dir);
  for (const [name, target] of Object.entries(bin)) fs.symlinkSync(target, path.join(tools, name));
  for (const [to, from] of Object.entries(options.files ?? {})) {
    fs.mkdirSync(path.dirname(path.join(workspace, to)), { recursive: true });
    fs.copyFileSync(path.join(repoRoot, from), path.join(workspace, to));
  }
  options.checkout?.(workspace, matrix);

  const sha = options.sha ?? "4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b";
  const github = {
    sha,
    ref_name: options.refName ?? "main",
    workspace,
    repository: "octo-org/octo-repo",
    run_id: "4242424242",
  };
  // What a GitHub-hosted runner puts in every step's environment (those the recipes use), with the
  // real clients first on PATH. HOME is empty: no ~/.aws or rclone.conf can help a recipe along.
  const runnerEnv: Record<string, string> = {
    PATH: `${tools}:/usr/bin:/bin`,
    HOME: home,
    CI: "true",
    GITHUB_ACTIONS: "true",
    GITHUB_SHA: sha,
    GITHUB_REF_NAME: github.ref_name,
    GITHUB_REPOSITORY: github.repository,
    GITHUB_RUN_ID: github.run_id,
    GITHUB_WORKSPACE: workspace,
    RUNNER_TEMP: runnerTemp,
    RUNNER_OS: "Linux",
    // Test isolation only: no S3 client may wander off to an instance-metadata endpoint.
    AWS_EC2_METADATA_DISABLED: "true",
  };
  const secrets = { CLOUDFLARE_API_TOKEN: options.minter.value };
  const vars = { CLOUDFLARE_ACCOUNT_ID: options.emulator.accountId };
  const steps: Record<string, { outputs: Record<string, string> }> = {};
  // Workflow env, then job env, then what steps export through GITHUB_ENV.
  let jobEnv: Record<string, string> = {};
  const contexts = (): Contexts => ({
    secrets,
    vars,
    github,
    matrix,
    steps,
    env: { ...runnerEnv, ...jobEnv },
  });
  jobEnv = { ...evaluateMap(workflow.env, contexts()) };
  jobEnv = { ...jobEnv, ...evaluateMap(job.env, contexts()) };

  const shellWith = async (script: string, extraEnv: Record<string, string> = {}, cwd = workspace) => {
    const file = path.join(runnerTemp, `step-${Math.random().toString(16).slice(2)}.sh`);
    fs.writeFileSync(file, script);
    return spawnWithTimeout("bash", ["--noprofile", "--norc", "-eo", "pipefail", file], {
      env: { ...runnerEnv, ...jobEnv, ...extraEnv },
      cwd,
      timeoutMs: 30_000,
    });
  };
  const hooks = (): JobHooks => ({
    workspace,
    matrix,
    env: { ...runnerEnv, ...jobEnv },
    shell: (script) => shellWith(script),
  });

  const runs: StepRun[] = [];
  const mains: { inputs: Inputs; main: StepResult }[] = [];
  let failed = false;
  for (const [index, step] of job.steps.entries()) {
    const name = stepName(step, index);
    const unknownKeys = Object.keys(step).filter((key) => !SUPPORTED_STEP_KEYS.has(key));
    if (unknownKeys.length > 0)
      throw new Error(`recipe runner: step "${name}" uses ${unknownKeys.join(", ")}`);
    if (failed) break;
    const stub = step.name !== undefined ? options.stubs?.[step.name] : undefined;
    if (stub) {
      await stub(hooks());
      runs.push({ name, kind: "stub" });
    } else if (step.uses && ACTION.test(step.uses)) {
      const inputs: Inputs = {
        ...evaluateMap(step.with, contexts()),
        // The only inputs the test adds: where the emulator listens.
        "api-url": options.emulator.apiUrl,
        "s3-endpoint": options.emulator.s3Endpoint(),
      };
      const main = await runMain({ inputs, env: { ...jobEnv, ...evaluateMap(step.env, contexts()) } });
      mains.push({ inputs, main });
      runs.push({ name, kind: "action", main });
      if (step.id) steps[step.id] = { outputs: main.outputs };
      jobEnv = { ...jobEnv, ...main.env };
      failed = main.exitCode !== 0;
    } else if (step.uses && RUNNER_SETUP.test(step.uses)) {
      runs.push({ name, kind: "skipped" });
    } else if (step.run !== undefined) {
      if (step.shell !== undefined && step.shell !== "bash") {
        throw new Error(`recipe runner: step "${name}" uses shell ${step.shell}`);
      }
      const githubEnv = path.join(runnerTemp, `env-${index}`);
      const githubOutput = path.join(runnerTemp, `output-${index}`);
      fs.writeFileSync(githubEnv, "");
      fs.writeFileSync(githubOutput, "");
      const cwd = step["working-directory"] ? path.join(workspace, step["working-directory"]) : workspace;
      const result = await shellWith(
        evaluate(step.run, contexts()),
        { ...evaluateMap(step.env, contexts()), GITHUB_ENV: githubEnv, GITHUB_OUTPUT: githubOutput },
        cwd,
      );
      runs.push({ name, kind: "run", result });
      jobEnv = { ...jobEnv, ...parseFileCommands(fs.readFileSync(githubEnv, "utf8")) };
      if (step.id) steps[step.id] = { outputs: parseFileCommands(fs.readFileSync(githubOutput, "utf8")) };
      failed = result.exitCode !== 0 || result.timedOut;
    } else {
      throw new Error(`recipe runner: step "${name}" is neither run:, the action, nor runner setup`);
    }
  }
  if (mains.length !== 1) throw new Error(`recipe runner: expected one action step, found ${mains.length}`);
  const [{ inputs, main }] = mains as [{ inputs: Inputs; main: StepResult }];
  let hookError: unknown;
  if (!failed && options.beforePost) {
    try {
      await options.beforePost(hooks());
    } catch (error) {
      hookError = error;
    }
  }
  // post-if: always(): the post step runs whatever happened, with main's state and the job's env.
  const post = await runPost({ inputs, state: main.state, env: jobEnv });
  if (hookError !== undefined) throw hookError;
  return {
    matrix,
    workspace,
    steps: runs,
    main,
    post,
    env: { ...runnerEnv, ...jobEnv },
    shell: (script) => shellWith(script),
  };
}

/**
 * Runs the recipe's only job, every matrix combination concurrently, and returns one JobRun per
 * combination (in matrix order).
 */
export async function runRecipe(id: string, options: RecipeOptions): Promise<JobRun[]> {
  const bin = requireClients(options.ctx, options.clients);
  const workflow = parseYaml(recipeYaml(id)) as Workflow;
  const jobs = Object.values(workflow.jobs ?? {});
  if (jobs.length !== 1) throw new Error(`recipe ${id}: expected one job, found ${jobs.length}`);
  const job = jobs[0] as WorkflowJob;
  if (job["runs-on"] !== "ubuntu-latest") throw new Error(`recipe ${id}: runs-on must be ubuntu-latest`);
  return Promise.all(
    matrixCombinations(job.strategy?.matrix).map((matrix) => runJob(workflow, job, matrix, options, bin)),
  );
}

/** A fresh directory for a test file's workspaces. */
export function makeWorkRoot(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `r2e-cookbook-${label}-`));
}

/** The emulator every cookbook test uses: Cloudflare's propagation delay, shortened, and instant revocation. */
export const COOKBOOK_EMULATOR = { propagationDelayMs: 500, revocationDelayMs: 0, latencyMs: 0 } as const;

/** An object's body as text, read from the emulator's store (undefined when there is no such key). */
export function objectText(emulator: Emulator, bucket: string, key: string): string | undefined {
  const body = emulator.getObject(bucket, key);
  return body === undefined ? undefined : new TextDecoder().decode(body);
}
