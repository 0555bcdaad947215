// Test-only preload (`node --import`): announces every write to the runner files on stdout as
//   ##trace-file-write <kind> <name,name,…>
// (kind = output | env | state | summary | path | aws-credentials | aws-config; names = the keys
// written, never the values, or "-"), so
// a test can check that a secret's ::add-mask:: line comes before the first write that carries it.
// process.stdout is synchronous for pipes on Linux, so the markers and the action's own lines stay
// in order.
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import path from "node:path";

const kinds = {
  GITHUB_OUTPUT: "output",
  GITHUB_ENV: "env",
  GITHUB_STATE: "state",
  GITHUB_STEP_SUMMARY: "summary",
  GITHUB_PATH: "path",
};

// The AWS files of the aws-profile input, written through a temporary file beside them
// (`.<name>.<random>.tmp`, renamed over the file): announced as aws-credentials and aws-config.
const awsKinds = { AWS_SHARED_CREDENTIALS_FILE: "aws-credentials", AWS_CONFIG_FILE: "aws-config" };

function kindOf(file) {
  const target = typeof file === "string" ? file : file instanceof URL ? file.pathname : undefined;
  if (!target) return undefined;
  for (const [variable, kind] of Object.entries(kinds)) {
    if (process.env[variable] && process.env[variable] === target) return kind;
  }
  for (const [variable, kind] of Object.entries(awsKinds)) {
    const aws = process.env[variable];
    if (!aws) continue;
    const beside =
      path.dirname(target) === path.dirname(aws) &&
      path.basename(target).startsWith(`.${path.basename(aws)}.`);
    if (target === aws || beside) return kind;
  }
  return undefined;
}

function names(kind, data) {
  if (kind === "summary" || kind === "path" || kind.startsWith("aws-")) return "-";
  const text = typeof data === "string" ? data : Buffer.from(data).toString("utf8");
  const found = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=]+?)<<(.+)$/.exec(lines[i]);
    if (heredoc) {
      found.push(heredoc[1]);
      while (i + 1 < lines.length && lines[i + 1] !== heredoc[2]) i++;
      i++;
    } else if (lines[i].includes("=")) {
      found.push(lines[i].slice(0, lines[i].indexOf("=")));
    }
  }
  return found.join(",") || "-";
}

function announce(file, data) {
  const kind = kindOf(file);
  if (kind) fs.writeSync(1, `##trace-file-write ${kind} ${names(kind, data)}\n`);
}

// appendFileSync calls writeFileSync internally: announce the outermost call only.
let inside = 0;
for (const method of ["appendFileSync", "writeFileSync"]) {
  const original = fs[method];
  fs[method] = function traced(file, data, ...rest) {
    if (inside === 0) announce(file, data);
    inside++;
    try {
      return original.call(this, file, data, ...rest);
    } finally {
      inside--;
    }
  };
}
for (const method of ["appendFile", "writeFile"]) {
  const original = fs.promises[method];
  fs.promises[method] = function traced(file, data, ...rest) {
    announce(file, data);
    return original.call(this, file, data, ...rest);
  };
  const originalCallback = fs[method];
  fs[method] = function traced(file, data, ...rest) {
    announce(file, data);
    return originalCallback.call(this, file, data, ...rest);
  };
}
syncBuiltinESMExports();
