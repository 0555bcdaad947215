/**
 * Everything the action's core needs from the runner. The entry points implement it with
 * @actions/core; tests and the CLI can implement it without globals.
 */
export interface ActionIO {
  getInput(name: string): string;
  getState(name: string): string;
  setSecret(value: string): void;
  setOutput(name: string, value: string): void;
  exportVariable(name: string, value: string): void;
  saveState(name: string, value: string): void;
  info(message: string): void;
  warning(message: string): void;
  debug(message: string): void;
  setFailed(message: string): void;
  /** A GitHub OIDC token for the audience (keyless mode); needs `permissions: id-token: write`. */
  getIDToken(audience: string): Promise<string>;
  /** Appends Markdown to the job summary; may throw (e.g. no summary file), callers degrade to a warning. */
  appendSummary(markdown: string): Promise<void>;
}

/**
 * Registers a secret with the runner's masker: as given, trimmed, and each of its lines, since a
 * pasted secret may span several and the runner matches line by line.
 */
export function maskSecret(io: Pick<ActionIO, "setSecret">, value: string): void {
  const pieces = new Set([value.trim(), ...value.split(/\r?\n/).map((line) => line.trim())]);
  for (const piece of pieces) if (piece !== "") io.setSecret(piece);
}

/** Masks the input token (and its environment fallback) before anything else runs, so nothing can print it. */
export function maskInputToken(
  io: Pick<ActionIO, "setSecret">,
  input: string | undefined,
  env: { CLOUDFLARE_API_TOKEN?: string | undefined },
): void {
  for (const value of [input, env.CLOUDFLARE_API_TOKEN]) if (value) maskSecret(io, value);
}
