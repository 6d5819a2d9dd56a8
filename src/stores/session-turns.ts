// Requests of one session in this process take turns in arrival order: only the one whose turn it
// is goes on to the lock other processes see, and finishing hands the turn to the next at once,
// where each would otherwise poll that lock on a timer.
import { SessionLockTimeoutError } from "../runtime/errors.ts";

/** Passes the turn to the next waiter of the session; a second call does nothing. */
export type LeaveTurn = () => void;

export class SessionTurns {
  /** The waiters of each session whose turn is taken; an id absent here is free. */
  readonly #waiting = new Map<string, Array<() => void>>();

  /** Resolves when it is this caller's turn at session `id`; rejects with SessionLockTimeoutError after `timeoutMs`. */
  async take(id: string, timeoutMs: number): Promise<LeaveTurn> {
    const waiting = this.#waiting.get(id);
    if (waiting === undefined) {
      this.#waiting.set(id, []);
      return this.#leave(id);
    }
    await new Promise<void>((resolve, reject) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        // Leave the line; those behind move up.
        waiting.splice(waiting.indexOf(wake), 1);
        reject(new SessionLockTimeoutError(timeoutMs));
      }, timeoutMs);
      waiting.push(wake);
    });
    return this.#leave(id);
  }

  /** How many sessions have a turn taken: 0 when every request has finished. */
  get size(): number {
    return this.#waiting.size;
  }

  #leave(id: string): LeaveTurn {
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const waiting = this.#waiting.get(id);
      const next = waiting?.shift();
      if (next !== undefined) next();
      else this.#waiting.delete(id);
    };
  }
}
