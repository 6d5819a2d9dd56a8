// Starts a real tscgi process (bin/tscgi.js, built dist/) for a test and stops it by its pid.
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { freePort } from "./ports.ts";
import { onTestExit, scaled } from "./time.ts";

export const repo = fileURLToPath(new URL("../../", import.meta.url));
export const bin = fileURLToPath(new URL("../../bin/tscgi.js", import.meta.url));

// Started and not yet exited. A test file that dies (the runner's timeout, or its SIGTERM when
// the run is interrupted) skips its teardowns; its tscgi processes are stopped on the way out
// instead of living on, by pid.
const running = new Set<ChildProcess>();
onTestExit(() => {
  for (const child of running) child.kill("SIGTERM");
});

export interface TscgiProcess {
  child: ChildProcess;
  fastcgiPort: number;
  httpPort: number;
  /** Everything written to stdout (access log) and stderr (error log) so far. */
  output(): string;
  /**
   * Resolves once the output contains the text (or the predicate holds for it). Rejects when the
   * process exits without it, or past `ms` (30 s by default, scaled by TEST_TIME_FACTOR):
   * a bound, not a wait.
   */
  waitFor(text: string | RegExp | ((output: string) => boolean), ms?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `http: false`: FastCGI only, no HTTP front (httpPort is then 0). */
type StartOptions = { cwd?: string; env?: Record<string, string>; listen?: string; openFiles?: number; http?: false };

/** The free port a test picked was taken by another before tscgi listened on it. */
class PortTakenError extends Error {}

/**
 * Starts `tscgi serve` on free loopback ports. freePort() only says a port was free a moment ago:
 * when another test's server takes it first (EADDRINUSE in the output), tscgi is started again on
 * new ports, up to 3 times.
 */
export async function startTscgi(args: string[] = [], options: StartOptions = {}): Promise<TscgiProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(args, options);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt >= 3) throw error;
    }
  }
}

async function startOnce(args: string[], options: StartOptions): Promise<TscgiProcess> {
  const fastcgiPort = options.listen ? 0 : await freePort();
  const httpPort = options.http === false ? 0 : await freePort();
  const front = options.http === false ? [] : ["--http", `127.0.0.1:${httpPort}`];
  const argv = [bin, "serve", "--listen", options.listen ?? `127.0.0.1:${fastcgiPort}`, ...front, ...args];
  // With openFiles, a shell sets RLIMIT_NOFILE (soft and hard) and execs node: the pid stays node's.
  const [command, commandArgs] =
    options.openFiles === undefined
      ? [process.execPath, argv]
      : ["/bin/sh", ["-c", 'ulimit -n "$0" && exec "$@"', String(options.openFiles), process.execPath, ...argv]];
  const child = spawn(command, commandArgs, {
    cwd: options.cwd ?? repo,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  running.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  // Waits give up on "close", not "exit": the output pipes are drained by then, so no last line is missed.
  let hasExited = false;
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  void closed.then(() => (hasExited = true));
  const waitFor = (text: string | RegExp | ((output: string) => boolean), ms = 30_000) =>
    new Promise<void>((resolve, reject) => {
      const fail = (why: string) => {
        waiters.delete(check);
        clearTimeout(timer);
        reject(new Error(`${why} waiting for ${String(text)} in tscgi output:\n${out}`));
      };
      const check = () => {
        if (typeof text === "string" ? out.includes(text) : typeof text === "function" ? text(out) : text.test(out)) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        } else if (hasExited) fail("tscgi exited");
      };
      const timer = setTimeout(() => fail(`timed out after ${scaled(ms)} ms`), scaled(ms));
      waiters.add(check);
      check();
      void closed.then(() => check());
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
  const listening = options.http === false ? "listening on fastcgi " : `listening on http 127.0.0.1:${httpPort}`;
  try {
    await waitFor((output) => output.includes(listening) || output.includes("EADDRINUSE"));
  } catch (error) {
    await proc.stop("SIGKILL");
    throw error;
  }
  if (!out.includes(listening)) {
    await proc.stop("SIGKILL");
    throw new PortTakenError(`a port was taken before tscgi listened on it:\n${out}`);
  }
  return proc;
}

/** How many times `pattern` (made global here) occurs in `text`: lines of a kind in a log. */
export function occurrences(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern.source, pattern.flags.includes("g") ? pattern.flags : pattern.flags + "g"))?.length ?? 0;
}

/** The pids of a master's worker processes (not its other children, like esbuild's service), from /proc. */
export function childPids(parent: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the parenthesised command: state, ppid, ...
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) !== parent) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("worker.js")) out.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return out.sort((a, b) => a - b);
}

/**
 * Waits until `check` holds, polling a state no event announces (a process count in /proc, a
 * file's content); false when it did not within `ms`, a generous bound scaled by
 * TEST_TIME_FACTOR. Prefer waiting for a log line or a record where there is one.
 */
export async function until(check: () => boolean | Promise<boolean>, ms = 30_000, every = 25): Promise<boolean> {
  const end = Date.now() + scaled(ms);
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, every));
  }
}
