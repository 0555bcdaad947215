import { parseArgs } from "node:util";
import { ActionError, describeError } from "../errors.js";
import { configureProfileCommand } from "./commands/configure-profile.js";
import { corsClearCommand, corsCommand, corsGetCommand, corsSetCommand } from "./commands/cors.js";
import { doctorCommand } from "./commands/doctor.js";
import { execCommand } from "./commands/exec.js";
import { mintCommand } from "./commands/mint.js";
import { presignCommand } from "./commands/presign.js";
import { rescopeCommand } from "./commands/rescope.js";
import { revokeCommand } from "./commands/revoke.js";
import { sweepCommand } from "./commands/sweep.js";
import { type CliDeps, type Command as CommandSpec, EXIT, type Values } from "./common.js";
import { HELP } from "./help.js";

const COMMANDS = {
  mint: mintCommand,
  presign: presignCommand,
  cors: corsCommand,
  "cors get": corsGetCommand,
  "cors set": corsSetCommand,
  "cors clear": corsClearCommand,
  revoke: revokeCommand,
  sweep: sweepCommand,
  rescope: rescopeCommand,
  exec: execCommand,
  "configure-profile": configureProfileCommand,
  doctor: doctorCommand,
} satisfies Record<string, CommandSpec>;
type Command = keyof typeof COMMANDS;

/** A command with sub-commands (`cors get`) is one entry of COMMANDS, named by both words. */
function commandWords(argv: string[]): string[] {
  const [first, second, ...rest] = argv;
  return Object.hasOwn(COMMANDS, `${first} ${second}`) ? [`${first} ${second}`, ...rest] : argv;
}

/** The CLI: parse, dispatch, and turn every failure into one line on stderr and an exit code. */
export async function runCli(argv: string[], deps: CliDeps): Promise<number> {
  const [name, ...rest] = commandWords(argv);
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    (name === undefined ? deps.stderr : deps.stdout)(`${HELP.main}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (!Object.hasOwn(COMMANDS, name)) {
    deps.stderr(`Unknown command ${JSON.stringify(name)}.\n\n${HELP.main}\n`);
    return EXIT.usage;
  }
  const command = name as Command;
  const spec: CommandSpec = COMMANDS[command];
  // Everything after the first -- is the command exec runs, flags included: they are CMD's, not ours.
  const dashes = spec.takesCommand ? rest.indexOf("--") : -1;
  const flags = dashes < 0 ? rest : rest.slice(0, dashes);
  let values: Values;
  try {
    values = parseArgs({
      args: flags,
      options: spec.options,
      strict: true,
      allowPositionals: false,
    }).values as Values;
    if (dashes >= 0) values["--"] = rest.slice(dashes + 1);
  } catch (error) {
    deps.stderr(`${describeError(error)}\nRun 'r2-ephemeral-credentials ${command} --help' for the flags.\n`);
    return EXIT.usage;
  }
  if (values.help) {
    deps.stdout(`${HELP[command]}\n`);
    return EXIT.ok;
  }
  try {
    return await spec.run(values, deps);
  } catch (error) {
    deps.stderr(`error: ${describeError(error, "cli")}\n`);
    return error instanceof ActionError && error.code === "input" ? EXIT.usage : EXIT.failure;
  }
}
