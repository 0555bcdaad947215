/**
 * Debian's tinyproxy as a real forward proxy for tests: started on a free loopback port with a config
 * file and log of its own, in the foreground (`tinyproxy -d -c conf`), and stopped by its pid.
 * The log records every proxied request (`Request (file descriptor N): CONNECT host:port` or
 * `GET http://…`), which is what the tests assert on.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { requireClient } from "./clients.js";

/** Fails loudly when tinyproxy is not installed (tests declare it with needClients first). */
export function tinyproxyPath(): string {
  return requireClient("tinyproxy");
}

/** A loopback port nothing listens on (bound, then released). */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export interface Tinyproxy {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly port: number;
  readonly logFile: string;
  /** The log so far. */
  log(): string;
  /** The proxied request lines so far (`CONNECT 127.0.0.1:1234 HTTP/1.1`, `GET http://… HTTP/1.1`). */
  requests(): string[];
  /** undefined while tinyproxy runs; how it ended otherwise (with its output and the log's tail). */
  exited(): string | undefined;
  close(): Promise<void>;
}

export async function startTinyproxy(options: { connectPorts: number[] }): Promise<Tinyproxy> {
  const binary = tinyproxyPath();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "r2e-tinyproxy-"));
  const logFile = path.join(dir, "tinyproxy.log");
  const config = path.join(dir, "tinyproxy.conf");
  fs.writeFileSync(logFile, "");

  for (let attempt = 1; ; attempt++) {
    const port = await closedPort();
    fs.writeFileSync(
      config,
      [
        `Port ${port}`,
        "Listen 127.0.0.1",
        "Timeout 30",
        `LogFile "${logFile}"`,
        "LogLevel Info",
        "MaxClients 200",
        "Allow 127.0.0.1",
        // CONNECT (what undici's proxy agent sends, also for http targets) only to these ports.
        ...options.connectPorts.map((p) => `ConnectPort ${p}`),
        "DisableViaHeader Yes",
        "",
      ].join("\n"),
    );
    const child: ChildProcess = spawn(binary, ["-d", "-c", config], { stdio: ["ignore", "pipe", "pipe"] });
    const output: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => output.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => output.push(chunk));
    let ended: string | undefined;
    const exited = new Promise<void>((resolve) =>
      child.once("exit", (code, signal) => {
        ended = `tinyproxy exited (code ${code}, signal ${signal})`;
        resolve();
      }),
    );
    let listening = false;
    for (let i = 0; i < 100 && child.exitCode === null; i++) {
      if (await canConnect(port)) {
        listening = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (!listening) {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, "SIGKILL");
      await exited;
      if (attempt < 3) continue; // the port was taken in between: try another
      throw new Error(
        `tinyproxy did not listen on ${port}: ${Buffer.concat(output).toString()}\n${fs.readFileSync(logFile, "utf8")}`,
      );
    }
    const readLog = () => fs.readFileSync(logFile, "utf8");
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      logFile,
      log: readLog,
      requests: () =>
        readLog()
          .split("\n")
          .map((line) => /Request \(file descriptor \d+\): (.*)$/.exec(line)?.[1])
          .filter((request): request is string => request !== undefined),
      exited: () =>
        ended === undefined
          ? undefined
          : `${ended}; output: ${Buffer.concat(output).toString()}; log tail:\n${readLog().split("\n").slice(-15).join("\n")}`,
      async close() {
        if (child.exitCode === null && child.pid !== undefined) {
          process.kill(child.pid, "SIGTERM");
          const timer = setTimeout(() => {
            if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, "SIGKILL");
          }, 2000);
          await exited;
          clearTimeout(timer);
        }
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}
