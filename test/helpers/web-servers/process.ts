// Starts a web server in the foreground for a test, waits until its port accepts, stops it by pid.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";

export interface ServerProcess {
  url: string;
  port: number;
  /** The server's own log files (error logs), for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export async function startServerProcess(
  name: string,
  command: string,
  args: string[],
  options: { port: number; dir: string; logFiles: string[]; stopSignal?: NodeJS.Signals; env?: Record<string, string> },
): Promise<ServerProcess> {
  let output = "";
  const child = spawn(command, args, { cwd: options.dir, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const logs = () =>
    [output, ...options.logFiles.map((file) => (existsSync(file) ? readFileSync(file, "utf8") : ""))].filter(Boolean).join("\n");
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(options.stopSignal ?? "SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
    rmSync(options.dir, { recursive: true, force: true });
  };
  // Start-up is bounded generously: a busy machine can take seconds to start a server.
  const end = Date.now() + 30_000;
  while (!(await accepts(options.port))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > end) {
      const why = child.exitCode !== null || child.signalCode !== null ? "exited" : "did not accept within 30 s";
      const text = logs();
      await stop();
      throw new Error(`${name} ${why}:\n${text}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: `http://127.0.0.1:${options.port}`, port: options.port, logs, stop };
}
