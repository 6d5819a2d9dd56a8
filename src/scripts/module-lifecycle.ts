// Module lifecycle: a dropped module's `dispose()` (or Symbol.asyncDispose) runs, bounded by a timeout.

import type { ScriptExports } from "./loader.ts";
import { stackOf } from "../errors.ts";

/** Milliseconds one module's dispose may take before tscgi stops waiting for it (the `dispose_timeout` key). */
const DISPOSE_TIMEOUT = 5000;

export interface ModuleLifecycleOptions {
  /** Milliseconds; 0 waits without limit. */
  timeout?: number;
  log: (level: "info" | "warn" | "error", message: string) => void;
}

/**
 * Calls the disposer of each module the loader drops (a hot reload, or the worker stopping), so
 * pools, sockets and timers opened at module scope close instead of piling up with every edit.
 * A disposer that throws, rejects or hangs costs a log line, never the process.
 */
export class ModuleLifecycle {
  readonly #timeout: number;
  readonly #log: ModuleLifecycleOptions["log"];
  readonly #running = new Set<Promise<void>>();

  constructor(options: ModuleLifecycleOptions) {
    this.#timeout = options.timeout ?? DISPOSE_TIMEOUT;
    this.#log = options.log;
  }

  /** Modules whose dispose is still running. */
  get running(): number {
    return this.#running.size;
  }

  /** Runs the disposer `exports` has, if any; `file` names it in the log. */
  dropped(file: string, exports: ScriptExports): void {
    const dispose = disposerOf(exports);
    if (dispose === undefined) return;
    const run = this.#run(file, dispose);
    this.#running.add(run);
    void run.finally(() => this.#running.delete(run));
  }

  /** Resolves once every dispose started so far has finished or timed out (for a worker's stop). */
  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }

  async #run(file: string, dispose: () => unknown): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const call = Promise.resolve().then(dispose);
      if (this.#timeout <= 0) {
        await call;
        return;
      }
      const timedOut = new Promise<"timeout">((resolve) => {
        // Kept referenced: a stopping worker waits for its disposes up to this bound, no longer.
        timer = setTimeout(() => resolve("timeout"), this.#timeout);
      });
      if ((await Promise.race([call, timedOut])) === "timeout") {
        this.#log("warn", `dispose of ${file} did not finish within ${this.#timeout} ms (dispose_timeout); going on without it`);
      }
    } catch (error) {
      this.#log("error", `dispose of ${file} failed: ${stackOf(error)}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * `export function dispose()`, else Symbol.asyncDispose or Symbol.dispose on the module's exports
 * or its default export (a module namespace cannot export a symbol, an object can carry one).
 */
function disposerOf(exports: ScriptExports): (() => unknown) | undefined {
  if (typeof exports.dispose === "function") return () => (exports.dispose as () => unknown)();
  for (const holder of [exports, exports.default]) {
    if ((typeof holder !== "object" && typeof holder !== "function") || holder === null) continue;
    for (const symbol of [Symbol.asyncDispose, Symbol.dispose]) {
      const method = (holder as Record<symbol, unknown>)[symbol];
      if (typeof method === "function") return () => (method as () => unknown).call(holder);
    }
  }
  return undefined;
}
