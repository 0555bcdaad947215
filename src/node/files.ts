/**
 * Private files: what counts as the user's alone, and writing one so that a reader (an SDK starting
 * up, another credential_process) sees the old content or the new, never half a file.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/** Owned by the user running us (always true where there are no uids, as on Windows). */
export function isMine(stat: fs.Stats): boolean {
  return typeof process.getuid !== "function" || stat.uid === process.getuid();
}

/** A regular file of the user's that nobody else can read or write, the way ssh treats a private key. */
export function isPrivate(stat: fs.Stats): boolean {
  return stat.isFile() && isMine(stat) && (stat.mode & 0o077) === 0;
}

/**
 * Writes `text` to a temporary file beside `file` (created exclusively, 0600), sets it to `mode` and
 * renames it over `file`; the temporary file is removed if any step fails. Whatever is at `file`,
 * a symbolic link included, is replaced.
 */
export function replaceFile(file: string, text: string, mode: number): void {
  const temporary = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`,
  );
  try {
    fs.writeFileSync(temporary, text, { mode: 0o600, flag: "wx" });
    fs.chmodSync(temporary, mode);
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}

/**
 * Like replaceFile, but a symbolic link (dotfiles managers use them) is followed, not replaced, and a
 * missing folder is created (0700). `mode`: a number forces it (the credentials file: 0600); "keep"
 * keeps an existing file's mode and creates a new one 0600.
 */
export function writeAtomically(file: string, text: string, mode: number | "keep"): void {
  let target = file;
  try {
    target = fs.realpathSync(file);
  } catch {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  }
  let finalMode = mode === "keep" ? 0o600 : mode;
  if (mode === "keep") {
    try {
      finalMode = fs.statSync(target).mode & 0o777;
    } catch {}
  }
  replaceFile(target, text, finalMode);
}
