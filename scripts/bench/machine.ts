// The machine the figures were taken on.
import fs from "node:fs";
import os from "node:os";
import { actionNode, run } from "./proc.js";

export interface Machine {
  nproc: string;
  cpu: string;
  memory: string;
  node: string;
  os: string;
  date: string;
  commit: string;
  /** 1, 5 and 15 min load averages when the bench started (other work on the machine skews timings). */
  load: string;
}

async function output(command: string, args: string[]): Promise<string | undefined> {
  try {
    const result = await run(command, args, { timeoutMs: 10_000 });
    return result.exitCode === 0 ? result.stdout.trim() : undefined;
  } catch {
    return undefined;
  }
}

export async function describeMachine(): Promise<Machine> {
  let cpu = "unknown";
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? cpu;
  } catch {}
  const head = await output("git", ["rev-parse", "--short", "HEAD"]);
  const distChanges = await output("git", ["status", "--porcelain", "--", "dist"]);
  return {
    nproc: (await output("nproc", [])) ?? `${os.availableParallelism()} (os.availableParallelism)`,
    cpu,
    memory: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    node: (await output(actionNode(), ["--version"])) ?? "unknown",
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    load: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(", "),
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    commit: head ? `${head}${distChanges ? " (dist/ differs from the commit)" : ""}` : "unknown (no git)",
  };
}
