// Waits for workers to finish starting, as a reload does before it stops the generation they replace.
import type { WorkerProcess } from "./worker-process.ts";

/** How long a new generation may take to become ready before the old one is stopped anyway. */
const READY_TIMEOUT = 10_000;

export class ReadyWaiters {
  /** Each checks its workers whenever one becomes ready or exits (see wake). */
  readonly #waiters = new Set<() => void>();

  /** A worker became ready or exited. */
  wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  /** Resolves once none of `workers` is still starting (ready or gone), or after READY_TIMEOUT. */
  whenReady(workers: WorkerProcess[]): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (workers.some((w) => w.state === "starting" && !w.exited)) return;
        done();
      };
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(done, READY_TIMEOUT);
      this.#waiters.add(check);
      check();
    });
  }
}
