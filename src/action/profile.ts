/**
 * The `aws-profile` input: the credentials also as a named AWS profile, so a job that keeps its own
 * AWS credentials in AWS_* (export-env: false) reaches R2 with `--profile NAME`. Written after the
 * secrets were masked, removed by the post step; the splicing is shared with the CLI's
 * configure-profile (src/node/aws-profile.ts).
 */
import { ActionError } from "../errors.js";
import type { Minted } from "../mint.js";
import {
  awsFiles,
  configSection,
  credentialsSection,
  profileConfigKeys,
  readText,
  removeSection,
  sectionState,
  writeSection,
} from "../node/aws-profile.js";
import type { SavedProfile } from "./state.js";

export function profileTarget(profile: string, env: Record<string, string | undefined>): SavedProfile {
  const files = awsFiles(env);
  return { profile, configFile: files.config, credentialsFile: files.credentials };
}

function refuseForeign(file: string, section: string): never {
  throw new ActionError(
    "refused",
    `${file} already has a [${section}] section that r2-ephemeral-credentials did not write; it was left alone and nothing was minted.`,
    "Choose another aws-profile, or remove that section from the file first.",
  );
}

/** Before minting: a section of the same name that is not ours would make the write fail after the mint. */
export function checkProfile(target: SavedProfile): void {
  const config = configSection(target.profile);
  const credentials = credentialsSection(target.profile);
  if (sectionState(readText(target.configFile), config) === "foreign")
    refuseForeign(target.configFile, config);
  if (sectionState(readText(target.credentialsFile), credentials) === "foreign") {
    refuseForeign(target.credentialsFile, credentials);
  }
}

/** The credentials file is the only file a secret goes to: 0600, whoever created it. */
export function writeProfile(target: SavedProfile, minted: Minted): void {
  const { accessKeyId, secretAccessKey, sessionToken } = minted.credentials;
  writeSection(
    target.credentialsFile,
    credentialsSection(target.profile),
    [
      ["aws_access_key_id", accessKeyId],
      ["aws_secret_access_key", secretAccessKey],
      ...(sessionToken ? ([["aws_session_token", sessionToken]] as const) : []),
    ],
    { mode: 0o600 },
  );
  writeSection(target.configFile, configSection(target.profile), profileConfigKeys(minted.endpoint), {
    mode: "keep",
  });
}

/** What the post step says about each file; a section that is no longer ours is left alone. */
export function removeProfile(target: SavedProfile): string[] {
  return [
    [target.credentialsFile, credentialsSection(target.profile)],
    [target.configFile, configSection(target.profile)],
  ].map(([file, section]) => {
    const outcome = removeSection(file as string, section as string);
    return outcome === "removed"
      ? `Removed [${section}] from ${file}.`
      : outcome === "absent"
        ? `[${section}] was already gone from ${file}.`
        : `Left [${section}] in ${file}: it is no longer the section this action wrote.`;
  });
}
