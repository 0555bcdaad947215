/**
 * configure-profile: an AWS profile whose credential_process is `mint --format credential-process`,
 * so the AWS CLI and every SDK fetch (and refresh) R2 credentials by themselves. The profile holds
 * no secret: the command reads CLOUDFLARE_API_TOKEN from the environment of the program that runs it.
 */
import fs from "node:fs";
import path from "node:path";
import { ActionError } from "../../errors.js";
import {
  awsFiles,
  configSection,
  ForeignSectionError,
  PROFILE_NAME,
  profileConfigKeys,
  renderSection,
  writeSection,
} from "../../node/aws-profile.js";
import { ENV_FALLBACKS } from "../../terms.js";
import { type CliDeps, type Command, EXIT, required, str, usage, type Values } from "../common.js";
import { refreshWindowSeconds } from "../credential-process.js";
import { givenInputs, mintConfig, mintOptions } from "../mint-flags.js";

/** POSIX single quotes: read the same by sh (the JavaScript SDK runs the line through it) and by Python's shlex (botocore). */
function quote(word: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The JavaScript SDK cuts a value at " #" or " ;" (an inline comment), and no INI value spans lines. */
function checkIniSafe(flag: string, value: string): void {
  if (/\s[#;]|[\r\n]/.test(value)) {
    throw usage(
      `Flag --${flag} is ${JSON.stringify(value)}: a profile cannot carry a line break, or a space followed by # or ; (the AWS SDKs read the rest as a comment).`,
    );
  }
}

/** The command line the SDKs run: absolute node and CLI, so it works from any directory and PATH. */
function credentialProcessLine(values: Values, accountId: string): string {
  const script = fs.realpathSync(process.argv[1] ?? "");
  const words = [process.execPath, script, "mint", "--format", "credential-process"];
  const given = givenInputs(values);
  given["account-id"] = accountId;
  for (const [flag, value] of Object.entries(given)) {
    if (flag === "create-bucket") words.push("--create-bucket");
    else if (value !== undefined) {
      checkIniSafe(flag, value);
      words.push(`--${flag}`, value);
    }
  }
  const tokenFile = str(values, "token-file");
  if (tokenFile !== undefined) words.push("--token-file", path.resolve(tokenFile));
  const window = str(values, "refresh-window");
  if (window !== undefined) words.push("--refresh-window", window);
  if (values["no-cache"]) words.push("--no-cache");
  const [node, cli, ...rest] = words.map(quote);
  // Always quoted, so that a reader sees at once where each path ends.
  const always = (word: string) => (word.startsWith("'") ? word : `'${word}'`);
  return [always(node as string), always(cli as string), ...rest].join(" ");
}

async function run(values: Values, deps: CliDeps): Promise<number> {
  const profile = required(values, "profile", "the name of the AWS profile to write");
  if (!PROFILE_NAME.test(profile)) {
    throw usage(
      `Flag --profile is ${JSON.stringify(profile)}, which is not a profile name this tool writes: use up to 64 letters, digits and . _ + @ -, starting with a letter or digit.`,
    );
  }
  refreshWindowSeconds(values, "15m");
  // The flags are checked as mint will check them, but writing the profile needs no token: a
  // stand-in lets the check run on a machine where CLOUDFLARE_API_TOKEN is not set yet.
  const token = ENV_FALLBACKS["api-token"];
  const env = { ...deps.env, [token]: deps.env[token] || "not-needed-to-configure" };
  const config = mintConfig(values, env);
  const keys = [
    ["credential_process", credentialProcessLine(values, config.accountId)] as const,
    ...profileConfigKeys(config.s3Endpoint),
  ];
  const section = configSection(profile);
  if (values.print) {
    deps.stdout(renderSection(section, keys));
    return EXIT.ok;
  }
  const file = awsFiles(deps.env).config;
  try {
    writeSection(file, section, keys, { force: values.force === true, mode: "keep" });
  } catch (error) {
    if (!(error instanceof ForeignSectionError)) throw error;
    throw new ActionError(
      "refused",
      `${error.message} Its keys would be lost, so it was left alone.`,
      "Pick another --profile, or pass --force to replace that section.",
    );
  }
  deps.stdout(
    `Wrote [${section}] to ${file}.\n` +
      `Use it with: aws --profile ${profile} s3 ls s3://${config.buckets[0]}/   or   AWS_PROFILE=${profile} python3 script.py\n` +
      (str(values, "token-file") === undefined
        ? `The profile holds no secret: its credential_process reads ${token} from the environment of the program that runs it (or use --token-file).\n`
        : "The profile holds no secret: its credential_process reads the token from the --token-file, which must stay yours alone (0600).\n"),
  );
  return EXIT.ok;
}

export const configureProfileCommand: Command = {
  options: {
    ...mintOptions,
    profile: { type: "string" },
    print: { type: "boolean" },
    force: { type: "boolean" },
    "refresh-window": { type: "string" },
    "no-cache": { type: "boolean" },
  },
  run,
};
