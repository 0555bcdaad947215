import * as z from "zod/mini";
import type { RunContext } from "./naming.js";

// Read straight from the runner's variables: @actions/github's context would add octokit to the bundle for four strings.
const runnerEnv = z.object({
  GITHUB_REPOSITORY: z.string().check(z.minLength(1)),
  GITHUB_RUN_ID: z.string().check(z.minLength(1)),
  GITHUB_RUN_ATTEMPT: z._default(z.string().check(z.minLength(1)), "1"),
  GITHUB_JOB: z._default(z.string(), ""),
});

/** The workflow run that mints, or undefined outside GitHub Actions. */
export function runContextFromEnv(env: Record<string, string | undefined>): RunContext | undefined {
  const parsed = runnerEnv.safeParse(env);
  if (!parsed.success) return undefined;
  const e = parsed.data;
  return {
    repository: e.GITHUB_REPOSITORY,
    runId: e.GITHUB_RUN_ID,
    runAttempt: e.GITHUB_RUN_ATTEMPT,
    job: e.GITHUB_JOB,
  };
}
