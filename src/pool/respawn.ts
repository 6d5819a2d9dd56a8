// Restarts after crashes, per worker slot: a slot whose worker keeps dying waits longer each time
// (see backoff.ts) while the other slots keep serving, and the pool never waits below its floor of
// live workers for a worker that had been serving.
import { Backoff } from "./backoff.ts";

/** Below its floor, a pool waits at most this long to restart a worker that had been serving. */
export const FLOOR_MAX_DELAY = 1000;

/** The fewest workers a static pool keeps alive whatever the back-off says: half of them, at least one. */
export function liveFloor(workers: number): number {
  return Math.max(1, Math.ceil(workers / 2));
}

export class Respawns {
  readonly #max: number;
  readonly #due: (slot: number) => void;
  readonly #backoffs = new Map<number, Backoff>();
  readonly #timers = new Map<number, NodeJS.Timeout>();

  /** `due(slot)` is called when a slot's wait is over. */
  constructor(maxDelay: number, due: (slot: number) => void) {
    this.#max = maxDelay;
    this.#due = due;
  }

  /** Slots waiting to be restarted. */
  get waiting(): number {
    return this.#timers.size;
  }

  isWaiting(slot: number): boolean {
    return this.#timers.has(slot);
  }

  /** Quick crashes in a row of the slot's workers. */
  crashes(slot: number): number {
    return this.#backoffs.get(slot)?.crashes ?? 0;
  }

  /**
   * The worker in `slot` died after `lifetime` ms. `urgent`: the pool is below its floor and the
   * worker had been serving (one that cannot even start would not help), so its wait is cut to
   * FLOOR_MAX_DELAY at most: short enough that requests wait in the backlog rather than fail, long
   * enough that a worker killing itself cannot spin the CPU. Returns the wait in ms; `due(slot)`
   * follows it.
   */
  crashed(slot: number, lifetime: number, urgent: boolean): number {
    let backoff = this.#backoffs.get(slot);
    if (backoff === undefined) this.#backoffs.set(slot, (backoff = new Backoff(this.#max)));
    const wait = backoff.crash(lifetime);
    const delay = urgent ? Math.min(wait, FLOOR_MAX_DELAY) : wait;
    const previous = this.#timers.get(slot);
    if (previous) clearTimeout(previous);
    this.#timers.set(
      slot,
      setTimeout(() => {
        this.#timers.delete(slot);
        this.#due(slot);
      }, delay),
    );
    return delay;
  }

  /** The slot's worker has served long enough: its next crash starts the count over. */
  healthy(slot: number): void {
    this.#backoffs.get(slot)?.healthy();
  }

  clear(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
