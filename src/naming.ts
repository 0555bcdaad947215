import { MAX_CLOUDFLARE_TOKEN_NAME, MAX_TOKEN_NAME_LENGTH } from "./terms.js";

/** Who is minting: the workflow run in Actions, or a free-form origin for the CLI. */
export interface RunContext {
  repository: string;
  runId: string;
  runAttempt: string;
  job: string;
}

export const DEFAULT_NAME_PREFIX = "r2-ephemeral";

function shorten(text: string, by: number): string {
  return by <= 0 ? text : text.slice(0, Math.max(0, text.length - by));
}

/**
 * The child token's name always ends with the unique mint id, so a lookup by name after an ambiguous
 * create can never match another token. Over Cloudflare's 120 characters the job part is shortened
 * first, then the repository; never the mint id.
 */
export function childTokenName(
  mintId: string,
  options: { tokenName?: string | undefined; run?: RunContext | undefined; origin?: string | undefined },
): string {
  if (options.tokenName !== undefined)
    return `${options.tokenName.slice(0, MAX_TOKEN_NAME_LENGTH)} ${mintId}`;
  if (!options.run) {
    const room = MAX_CLOUDFLARE_TOKEN_NAME - DEFAULT_NAME_PREFIX.length - mintId.length - 2;
    const origin = options.origin ? ` ${options.origin.slice(0, room)}` : "";
    return `${DEFAULT_NAME_PREFIX}${origin} ${mintId}`;
  }
  const { repository, runId, runAttempt, job } = options.run;
  const build = (repo: string, jobPart: string) =>
    [DEFAULT_NAME_PREFIX, repo, "run", `${runId}.${runAttempt}`, jobPart, mintId]
      .filter((part) => part !== "")
      .join(" ");
  let over = build(repository, job).length - MAX_CLOUDFLARE_TOKEN_NAME;
  const jobPart = shorten(job, over);
  over = build(repository, jobPart).length - MAX_CLOUDFLARE_TOKEN_NAME;
  return build(shorten(repository, over), jobPart);
}
