// A script's faults kept to its own request: process.exit(), uncaught exceptions and unhandled
// rejections are traced to the script (and request) that caused them, logged, counted, and cost
// that request only; process.chdir() is refused.
import { AsyncLocalStorage } from "node:async_hooks";
import { relative, resolve } from "node:path";
import { isTscgiError } from "../errors.ts";
import { ScriptChdirError, ScriptExitError } from "./errors.ts";
import { FaultTally, type FaultKind } from "./fault-tally.ts";
import { escapeControlChars, type Logger } from "./log.ts";
import { describeError, scriptFrame } from "./script-error.ts";

/** A request running a script, as the dispatcher tracks it; the async context every piece of the script's work carries. */
export interface ScriptRun {
  /** Its script, relative to the script root. */
  readonly script: string;
  /** "GET /uri", escaped, for log lines. */
  readonly request: string;
  /** False once its response was finished (answered, timed out, or ended for a fault). */
  readonly open: boolean;
  readonly faults: ScriptFaults;
  /**
   * Ends the response as it stands, for process.exit(): what the script wrote, or the status and
   * headers it set, go out; with nothing at all, a 500. `sent` tells whether the script's own answer went out.
   */
  exit(code: number): { status: number; sent: boolean };
  /** Ends the response for a fault: a 500 when nothing was sent yet, else cut off. Fires the script's signal. */
  fail(error: unknown): number;
  /** A line the script wrote to stderr, for its request's error stream too (dropped once the response ended). */
  stderr(line: string): void;
}

const storage = new AsyncLocalStorage<ScriptRun>();

/** The request whose script is running now (in any callback or promise it started), if any. */
export function currentRun(): ScriptRun | undefined {
  return storage.getStore();
}

/** True for the error process.exit() throws to unwind a script, also when wrapped as a cause. */
function isScriptExit(error: unknown): boolean {
  for (let e = error, depth = 0; e !== null && typeof e === "object" && depth < 4; e = (e as Error).cause, depth++) {
    if (isTscgiError(e) && e.code === "TSCGI_E_SERVER_SCRIPT_EXIT") return true;
  }
  return false;
}

let guarded = false;

/**
 * process.exit and process.chdir, as scripts see them: the process is shared by every request of
 * the worker. tscgi's own calls (outside any script's context) behave as always.
 */
function guardProcess(): void {
  if (guarded) return;
  guarded = true;
  const exit = process.exit.bind(process);
  process.exit = function exitScript(code?: number | string | null): never {
    const run = storage.getStore();
    if (run === undefined) return exit(code);
    const n = Number(code ?? process.exitCode ?? 0) || 0;
    run.faults.exited(run, n, new Error("process.exit"));
    throw new ScriptExitError(n);
  };
  const chdir = process.chdir.bind(process);
  process.chdir = function chdirScript(directory: string): void {
    if (storage.getStore() !== undefined) throw new ScriptChdirError(directory);
    chdir(directory);
  };
}

export interface ScriptFaultsOptions {
  /** The script root: a fault is traced to the first stack frame under it when no request claims it. */
  root: string;
  log: Logger;
  /**
   * Told of each fault (a pool worker tells its master, which counts the pool's faults and names
   * a script faulting repeatedly); without it, this process does both itself.
   */
  onFault?: (script: string, kind: FaultKind) => void;
}

export class ScriptFaults {
  readonly #root: string;
  readonly #log: Logger;
  readonly #onFault: ScriptFaultsOptions["onFault"];
  readonly tally = new FaultTally();

  constructor(options: ScriptFaultsOptions) {
    this.#root = options.root;
    this.#log = options.log;
    this.#onFault = options.onFault;
    guardProcess();
  }

  /** Runs `fn` (and all it starts: promises, timers, callbacks) as `run`'s script. */
  run<T>(run: ScriptRun, fn: () => T): T {
    return storage.run(run, fn);
  }

  /**
   * An uncaught exception or unhandled rejection: true when it was a script's, which this logged,
   * counted and answered; false when no script caused it (tscgi's own fault: the caller decides).
   */
  caught(kind: "uncaught" | "rejection", error: unknown): boolean {
    // The unwinding of a script that called process.exit(), already answered.
    if (isScriptExit(error)) return true;
    const run = storage.getStore();
    const script = run?.script ?? this.#scriptOf(error);
    if (script === null) return false;
    const name = escapeControlChars(script);
    const what = kind === "uncaught" ? "uncaught exception" : "unhandled promise rejection";
    const described = describeError(error, this.#root);
    if (run?.open) {
      const status = run.fail(error);
      this.#log.error(`${run.request}: ${what} in script ${name}, its request answered ${status}: ${described}`);
    } else if (run) {
      this.#log.error(`script ${name}: ${what} after its request (${run.request}) ended: ${described}`);
    } else {
      this.#log.error(`script ${name}: ${what}: ${described}`);
    }
    this.#count(script, kind);
    return true;
  }

  /** process.exit(code) in `run`'s script; `call` was created at the call, for the script's line. */
  exited(run: ScriptRun, code: number, call: Error): void {
    const frame = scriptFrame(call, this.#root);
    const at = frame ? ` at ${frame}` : "";
    if (!run.open) {
      this.#log.warn(
        `script ${escapeControlChars(run.script)} called process.exit(${code})${at} after its request (${run.request}) ended; ignored`,
      );
      return this.#count(run.script, "exit");
    }
    const { status, sent } = run.exit(code);
    // PHP's exit: a script that answered and then exits with 0 did nothing wrong.
    if (sent && code === 0) return;
    const name = escapeControlChars(run.script);
    if (sent) this.#log.warn(`${run.request}: script ${name} called process.exit(${code})${at}: its response ended there (${status})`);
    else this.#log.error(`${run.request}: script ${name} called process.exit(${code})${at} before answering: answered ${status}`);
    this.#count(run.script, "exit");
  }

  /** A script still running `grace` ms after its request timed out. */
  runaway(run: ScriptRun, timeout: number, grace: number, consequence: string): void {
    this.#log.error(
      `script ${escapeControlChars(run.script)} (${run.request}) is still running ${grace / 1000} s after request_timeout ` +
        `(${timeout / 1000} s) answered 504 and fired its cgi.signal (request_timeout_grace); ${consequence}`,
    );
    this.#count(run.script, "runaway");
  }

  #count(script: string, kind: FaultKind): void {
    const repeated = this.tally.add(script, kind);
    if (this.#onFault) this.#onFault(script, kind);
    else if (repeated) this.#log.error(repeated);
  }

  /** The script a stack names (relative to the root), for faults no request's context claims. */
  #scriptOf(error: unknown): string | null {
    const frame = scriptFrame(error, this.#root);
    if (frame === null) return null;
    const file = resolve(frame.replace(/:\d+:\d+$/, ""));
    return relative(this.#root, file) || file;
  }
}
