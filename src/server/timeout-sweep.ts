// One timer per listener that checks every open connection's timeouts, instead of timers per connection.

/** A sweep runs this often relative to the shortest timeout, so a deadline is met at most 1/8 late. */
const SWEEP_FRACTION = 8;
/** ...and at least once a second, so a long timeout is still met within a second. */
export const SWEEP_MAX_PERIOD = 1000;
/** Never more often than this: a tiny timeout must not turn the sweep into a busy loop. */
export const SWEEP_MIN_PERIOD = 10;

/** How often to sweep for these timeouts (milliseconds; 0 = no limit); 0 when no sweep is needed. */
export function sweepPeriod(...timeouts: number[]): number {
  const set = timeouts.filter((ms) => ms > 0);
  if (set.length === 0) return 0;
  const period = Math.floor(Math.min(...set) / SWEEP_FRACTION);
  return Math.min(SWEEP_MAX_PERIOD, Math.max(SWEEP_MIN_PERIOD, period));
}

export interface Sweepable {
  checkTimeouts(now: number): void;
}

/**
 * Accepting a connection used to arm two timers (params_timeout, keepalive_timeout): with a web
 * server that opens a connection per request, their set-up and unref() were a measurable part of
 * each request. Now a connection only notes when each phase began, and this one unref'd interval
 * reads the notes while connections are open.
 */
export class TimeoutSweep {
  readonly period: number;
  readonly #each: () => Iterable<Sweepable>;
  #timer: NodeJS.Timeout | null = null;

  constructor(period: number, each: () => Iterable<Sweepable>) {
    this.period = period;
    this.#each = each;
  }

  /** Starts sweeping (when a period is set and it is not running yet). */
  start(): void {
    if (this.period <= 0 || this.#timer !== null) return;
    this.#timer = setInterval(() => this.#sweep(), this.period);
    // The connections keep the process alive, not their clocks.
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #sweep(): void {
    const now = performance.now();
    // Copied first: a check may close a connection, which leaves the owner's collection.
    for (const open of [...this.#each()]) open.checkTimeouts(now);
  }
}
