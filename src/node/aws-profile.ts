/**
 * Named AWS profiles in the shared config and credentials files, written by the action (`aws-profile`)
 * and by the CLI (`configure-profile`). The files are the user's: every line outside our section
 * stays byte for byte, so the section is spliced in by hand (INI libraries rewrite whole files), and
 * a section we did not write (no marker line) is never replaced without being told to.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CHECKSUM_SETTINGS } from "../outputs.js";
import { writeAtomically } from "./files.js";

/** The first line of every section this tool writes; its presence is what makes a section ours. */
const MARKER_PREFIX = "# Managed by r2-ephemeral-credentials";
const MARKER = `${MARKER_PREFIX}: it replaces or removes this section; other sections are left alone.`;

export { AWS_PROFILE_NAME as PROFILE_NAME } from "../config.js";

export interface AwsFiles {
  config: string;
  credentials: string;
}

/** Where the SDKs look: AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/config and ~/.aws/credentials. */
export function awsFiles(env: Record<string, string | undefined>): AwsFiles {
  const home = os.homedir();
  return {
    config: path.resolve(env.AWS_CONFIG_FILE?.trim() || path.join(home, ".aws", "config")),
    credentials: path.resolve(
      env.AWS_SHARED_CREDENTIALS_FILE?.trim() || path.join(home, ".aws", "credentials"),
    ),
  };
}

/**
 * The config file's keys of a profile for R2 at `endpoint`, as the action's aws-profile and the CLI's
 * configure-profile both write them: R2's region, and checksums only when required (CHECKSUM_SETTINGS).
 */
export function profileConfigKeys(endpoint: string): [string, string][] {
  return [
    ["endpoint_url", endpoint.replace(/\/+$/, "")],
    ["region", "auto"],
    ["request_checksum_calculation", CHECKSUM_SETTINGS.AWS_REQUEST_CHECKSUM_CALCULATION],
    ["response_checksum_validation", CHECKSUM_SETTINGS.AWS_RESPONSE_CHECKSUM_VALIDATION],
  ];
}

/** `[default]` or `[profile NAME]` in the config file; plain `[NAME]` in the credentials file. */
export function configSection(profile: string): string {
  return profile === "default" ? "default" : `profile ${profile}`;
}

export function credentialsSection(profile: string): string {
  return profile;
}

export class ForeignSectionError extends Error {
  constructor(
    readonly file: string,
    readonly section: string,
  ) {
    super(`${file} already has a [${section}] section that r2-ephemeral-credentials did not write.`);
    this.name = "ForeignSectionError";
  }
}

interface Section {
  name: string;
  /** Index of the header line and of the first line after the section. */
  start: number;
  end: number;
  ours: boolean;
}

/** Lines with their own line ends, so that joining them gives the text back unchanged. */
function linesOf(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

const HEADER = /^\s*\[([^\]]*)\]\s*(?:[#;].*)?$/;

function sectionsOf(lines: string[]): Section[] {
  const sections: Section[] = [];
  lines.forEach((line, index) => {
    const header = HEADER.exec(line.replace(/\r?\n$/, ""));
    if (!header) return;
    const previous = sections.at(-1);
    if (previous) previous.end = index;
    sections.push({
      name: (header[1] ?? "").trim().split(/\s+/).join(" "),
      start: index,
      end: lines.length,
      ours: false,
    });
  });
  for (const section of sections) {
    section.ours = lines
      .slice(section.start + 1, section.end)
      .some((line) => line.trim().startsWith(MARKER_PREFIX));
  }
  return sections;
}

/** The section's last lines that are blank: the separator before the next section, kept in place. */
function trailingBlanks(lines: string[], section: Section): string[] {
  let first = section.end;
  while (first > section.start + 1 && (lines[first - 1] ?? "").trim() === "") first--;
  return lines.slice(first, section.end);
}

/** The section as lines, in the file's own line ends. */
export function renderSection(
  name: string,
  keys: readonly (readonly [string, string])[],
  eol = "\n",
): string {
  return [`[${name}]`, MARKER, ...keys.map(([key, value]) => `${key} = ${value}`)]
    .map((l) => `${l}${eol}`)
    .join("");
}

/** Whether the file has the section, and whose it is. */
export function sectionState(text: string, name: string): "absent" | "ours" | "foreign" {
  const found = sectionsOf(linesOf(text)).filter((s) => s.name === name);
  if (found.length === 0) return "absent";
  return found.every((s) => s.ours) ? "ours" : "foreign";
}

/**
 * The text with the section set to `keys` (replaced where it was, else appended), or removed when
 * `keys` is undefined. Every other line is returned unchanged.
 */
function splice(
  text: string,
  name: string,
  keys: readonly (readonly [string, string])[] | undefined,
  options: { force?: boolean; file?: string } = {},
): string {
  const lines = linesOf(text);
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const matching = sectionsOf(lines).filter((s) => s.name === name);
  const foreign = matching.find((s) => !s.ours);
  if (foreign && !options.force) throw new ForeignSectionError(options.file ?? "the file", name);
  const replacement = keys === undefined ? "" : renderSection(name, keys, eol);
  if (matching.length === 0) {
    if (keys === undefined) return text;
    if (text === "") return replacement;
    const ended = /\n$/.test(text) ? text : `${text}${eol}`;
    const separated = /\n\s*\n$/.test(ended) || ended.trim() === "" ? ended : `${ended}${eol}`;
    return `${separated}${replacement}`;
  }
  // The first such section takes the new content; duplicates (which the SDKs would merge) go.
  const out: string[] = [];
  let index = 0;
  matching.forEach((section, i) => {
    out.push(...lines.slice(index, section.start));
    if (keys !== undefined && i === 0) out.push(replacement, ...trailingBlanks(lines, section));
    else if (section.end === lines.length && out.length > 1 && (out.at(-1) ?? "").trim() === "") {
      // The blank line that set an appended section apart goes with it.
      out.pop();
    }
    index = section.end;
  });
  out.push(...lines.slice(index));
  return out.join("");
}

export function readText(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw error;
  }
}

/** Sets the section in the file (created if missing), leaving every other line as it was. */
export function writeSection(
  file: string,
  name: string,
  keys: readonly (readonly [string, string])[],
  options: { force?: boolean; mode: number | "keep" },
): void {
  writeAtomically(file, splice(readText(file), name, keys, { force: options.force, file }), options.mode);
}

/**
 * Removes the section if it is ours. A file left empty is deleted: it held only what we wrote.
 */
export function removeSection(file: string, name: string): "removed" | "absent" | "foreign" {
  const text = readText(file);
  const state = sectionState(text, name);
  if (state !== "ours") return state;
  const rest = splice(text, name, undefined, { file });
  if (rest.trim() === "") fs.rmSync(file, { force: true });
  else writeAtomically(file, rest, "keep");
  return "removed";
}
