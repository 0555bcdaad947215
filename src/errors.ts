import { BOOLEAN_INPUTS, ENV_FALLBACKS } from "./terms.js";

/**
 * Errors are values: a code for programs, a message for humans and a hint for the fix.
 * They are rendered once, at the edge (the entry points), and never carry a secret.
 */
export type ErrorCode =
  | "input" // a bad input or flag: fixed by the user before any network call
  | "cloudflare" // Cloudflare answered with an error
  | "network" // Cloudflare could not be reached or did not answer usably
  | "readiness" // the S3 endpoint never accepted the new credentials
  | "refused"; // a valid request this tool will not carry out, because it would do harm (it says why)

/** Where a message is read: a workflow names inputs (`jurisdiction: eu`), the CLI names flags (`--jurisdiction eu`). */
export type Surface = "action" | "cli";

/** The CLI reads the token from its environment only: there it is the variable, not a flag. */
const CLI_NAMES: Record<string, string> = { "api-token": ENV_FALLBACKS["api-token"] };
const fallback = (name: string): string | undefined => (ENV_FALLBACKS as Record<string, string>)[name];

function list(words: string[]): string {
  return words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} and ${words.at(-1)}`;
}

/** Each placeholder kind, as the action and the CLI say it. */
const PLACEHOLDERS: Record<string, (arg: string, surface: Surface) => string> = {
  /** A setting's bare name: `ttl` / `--ttl`. */
  name: (name, surface) => (surface === "cli" ? (CLI_NAMES[name] ?? `--${name}`) : name),
  /** A setting with a value: `mode: token` / `--mode token`. */
  set: (arg, surface) => {
    const [name = "", value = ""] = arg.split("=");
    if (surface !== "cli") return `${name}: ${value}`;
    // A boolean is a switch on the command line: --create-bucket, not --create-bucket true.
    return value === "true" && BOOLEAN_INPUTS.has(name) ? `--${name}` : `--${name} ${value}`;
  },
  /** The subject of a sentence about one setting: `Input ttl` / `Flag --ttl`. */
  input: (name, surface) => (surface === "cli" ? (CLI_NAMES[name] ?? `Flag --${name}`) : `Input ${name}`),
  /** The subject of a sentence about several: `Inputs bucket and mode` / `Flags --bucket and --mode`. */
  inputs: (names, surface) => {
    const each = names.split(",").filter(Boolean);
    return surface === "cli"
      ? `Flags ${list(each.map((n) => CLI_NAMES[n] ?? `--${n}`))}`
      : `Inputs ${list(each)}`;
  },
  /** A required setting that is empty everywhere it may come from. */
  missing: (name, surface) => {
    const variable = fallback(name);
    if (surface === "cli") {
      if (CLI_NAMES[name]) return `${CLI_NAMES[name]} is not set`;
      return `Flag --${name} is missing${variable ? ` and ${variable} is not set` : ""}`;
    }
    return `Input ${name} is empty${variable ? ` and ${variable} is not set` : ""}`;
  },
  /** The subject when an empty setting's value came from its environment variable. */
  fromenv: (name, surface) => {
    const variable = fallback(name) ?? name;
    return surface === "cli" ? variable : `Input ${name} is empty, so ${variable} was used; that value`;
  },
  /** How a user passes the setting, to copy. */
  example: (name, surface) => {
    const variable = fallback(name) ?? name.toUpperCase().replace(/-/g, "_");
    return surface === "cli" ? `export ${variable}=<value>` : `${name}: \${{ secrets.${variable} }}`;
  },
  /** A sentence that only applies inside GitHub Actions. */
  "action-only": (text, surface) => (surface === "cli" ? "" : text),
};

/**
 * Fills the placeholders of a message (`{kind:argument}`, kinds above). Messages are written once
 * and read in either surface's words.
 */
export function inSurfaceWords(text: string, surface: Surface): string {
  return text.replace(/\{([a-z-]+):([^{}]*)\}/g, (whole, kind: string, arg: string) => {
    const render = PLACEHOLDERS[kind];
    return render ? render(arg, surface) : whole;
  });
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

  /** The action fails with one ::error:: line; on a terminal each problem gets a line of its own. */
  override render(surface: Surface = "action"): string {
    return this.problems.map((p) => inSurfaceWords(p.message, surface)).join(surface === "cli" ? "\n" : " ");
  }
}

/** Renders anything thrown into one human sentence: never a stack trace. */
export function describeError(error: unknown, surface: Surface = "action"): string {
  if (error instanceof ActionError) return error.render(surface);
  if (error instanceof Error) return error.message;
  return String(error);
}
