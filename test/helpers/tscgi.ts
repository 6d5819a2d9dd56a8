// Starts a real tscgi process (bin/tscgi.js, built dist/) for a test and stops it by its pid.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "./ports.ts";

export const repo = fileURLToPath(new URL("../../", import.meta.url));
export const bin = fileURLToPath(new URL("../../bin/tscgi.js", import.meta.url));

export interface TscgiProcess {
  child: ChildProcess;
  fastcgiPort: number;
  httpPort: number;
  /** Everything written to stdout (access log) and stderr (error log) so far. */
  output(): string;
  /** Resolves once the output contains the text (or rejects after the timeout). */
  waitFor(text: string | RegExp, ms?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startTscgi(
  args: string[] = [],
  options: { cwd?: string; env?: Record<string, string>; listen?: string } = {},
): Promise<TscgiProcess> {
  const fastcgiPort = options.listen ? 0 : await freePort();
  const httpPort = await freePort();
  const child = spawn(
    process.execPath,
    [bin, "serve", "--listen", options.listen ?? `127.0.0.1:${fastcgiPort}`, "--http", `127.0.0.1:${httpPort}`, ...args],
    { cwd: options.cwd ?? repo, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const waitFor = (text: string | RegExp, ms = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (typeof text === "string" ? out.includes(text) : text.test(out)) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${String(text)} in tscgi output:\n${out}`));
      }, ms);
      waiters.add(check);
      check();
      void exited.then(() => check());
    });
  const proc: TscgiProcess = {
    child,
    fastcgiPort,
    httpPort,
    output: () => out,
    waitFor,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  try {
    await waitFor(`listening on http 127.0.0.1:${httpPort}`);
  } catch (error) {
    await proc.stop("SIGKILL");
    throw error;
  }
  return proc;
}
