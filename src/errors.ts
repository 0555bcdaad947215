/**
 * Errors are values: a code for programs, a message for humans and a hint for the fix.
 * They are rendered once, at the edge (the entry points), and never carry a secret.
 */
export type ErrorCode =
  | "input" // a bad input or flag: fixed by the user before any network call
  | "cloudflare" // Cloudflare answered with an error
  | "network" // Cloudflare could not be reached or did not answer usably
  | "readiness" // the S3 endpoint never accepted the new credentials
  | "internal";

/** Where a message is read: a workflow names inputs (`jurisdiction: eu`), the CLI names flags (`--jurisdiction eu`). */
export type Surface = "action" | "cli";

/** The variable the CLI reads instead of an input, where there is one. */
const CLI_NAMES: Record<string, string> = { "api-token": "CLOUDFLARE_API_TOKEN" };

/**
 * Fills the placeholders of a message: `{name:x}` names a setting, `{set:x=v}` sets it.
 * Messages are written once and read in either surface's words.
 */
export function inSurfaceWords(text: string, surface: Surface): string {
  return text
    .replace(/\{set:([a-z0-9-]+)=([^}]*)\}/g, (_, name: string, value: string) =>
      surface === "cli" ? `--${name} ${value}` : `${name}: ${value}`,
    )
    .replace(/\{name:([a-z0-9-]+)\}/g, (_, name: string) =>
      surface === "cli" ? (CLI_NAMES[name] ?? `--${name}`) : name,
    );
}

export class ActionError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ActionError";
    this.code = code;
    this.hint = hint;
  }

  /** The one line shown to users: message, then the hint when there is one, in the surface's words. */
  render(surface: Surface = "action"): string {
    return inSurfaceWords(this.hint ? `${this.message} Hint: ${this.hint}` : this.message, surface);
  }
}

/** One bad input (or a contradiction between several) found while parsing the configuration. */
export interface InputProblem {
  inputs: string[];
  message: string;
}

export class InputError extends ActionError {
  readonly problems: InputProblem[];

  constructor(problems: InputProblem[]) {
    super("input", problems.map((p) => p.message).join(" "));
    this.name = "InputError";
    this.problems = problems;
  }
}

/** Renders anything thrown into one human sentence: never a stack trace. */
export function describeError(error: unknown, surface: Surface = "action"): string {
  if (error instanceof ActionError) return error.render(surface);
  if (error instanceof Error) return error.message;
  return String(error);
}
