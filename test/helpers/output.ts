// A child process's stdout and stderr gathered as text, with a wait for what it should say:
// tests wait for a line, not for a timer.
import type { ChildProcess } from "node:child_process";
import { scaled } from "./time.ts";

export interface Output {
  text(): string;
  /** Resolves once the output contains `what`; rejects when the process ends without it, or past `ms` (scaled). */
  waitFor(what: string | RegExp, ms?: number): Promise<void>;
  /** Resolves with the exit code (or signal) once the process has ended and its pipes are drained. */
  readonly closed: Promise<number | NodeJS.Signals | null>;
}

export function watchOutput(child: ChildProcess): Output {
  let out = "";
  let ended = false;
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) w();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const closed = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once("close", (code, signal) => {
      ended = true;
      for (const w of [...waiters]) w();
      resolve(code ?? signal);
    }),
  );
  const waitFor = (what: string | RegExp, ms = 30_000) =>
    new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        waiters.delete(check);
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      const check = () => {
        if (typeof what === "string" ? out.includes(what) : what.test(out)) done();
        else if (ended) done(new Error(`the process ended without ${String(what)} in its output:\n${out}`));
      };
      const timer = setTimeout(() => done(new Error(`no ${String(what)} within ${scaled(ms)} ms in:\n${out}`)), scaled(ms));
      waiters.add(check);
      check();
    });
  return { text: () => out, waitFor, closed };
}
