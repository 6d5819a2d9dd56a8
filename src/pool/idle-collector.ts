// IdleCollector: after a load, V8 keeps the pages its heap grew to and frees dead Buffers (request
// bodies) only in a collection. Its memory reducer, which would give them back, had not run 14 s
// after a load in a worker here. So a worker idle for `delay` runs a full collection when its heap
// grew since the last: 8 s after a hello load a worker held 65.7 MiB instead of 74-76, and after
// 1 MiB POSTs 85-90 instead of 95-121, for 10-23 ms of CPU while no request waits. A second one
// follows on the next tick: after hello loads the first left 9.2-13.7 MiB of old space and the
// second 6.0-7.0, which took workers from 66.4-72.7 MiB to 64.1-66.9 (time alone freed nothing).

/** Growth of the heap (V8's pages in use plus the memory of its Buffers) that is worth a collection. */
export const COLLECT_AFTER_GROWTH = 4 * 1024 * 1024;

export interface IdleCollectorOptions {
  /** Milliseconds without a script request before collecting. */
  delay: number;
  /** Bytes the heap holds now. */
  heapBytes: () => number;
  /** Runs a full collection (`pass` 1, or 2 for the one that follows it); false where none can be had. */
  collect: (pass: 1 | 2) => boolean;
}

/** Told the worker's counters on a timer (tick), it runs its two collections once per idle spell that follows growth. */
export class IdleCollector {
  readonly #options: IdleCollectorOptions;
  #requests = -1;
  #changedAt = 0;
  /** The request count when an idle spell was last looked at: each spell is looked at once. */
  #looked = -1;
  /** What the heap held after the last collection (or at start); null until measured again. */
  #baseline: number | null;
  /** A first collection ran on the last tick: the second is due, unless the idle spell ended. */
  #secondDue = false;

  constructor(options: IdleCollectorOptions) {
    this.#options = options;
    this.#baseline = options.heapBytes();
  }

  /** `requests`: script requests the worker took so far; `inflight`: requests running. True when it collected. */
  tick(now: number, requests: number, inflight: number): boolean {
    if (requests !== this.#requests) {
      this.#requests = requests;
      this.#changedAt = now;
      this.#secondDue = false;
      return false;
    }
    if (inflight > 0) return false;
    if (this.#secondDue) {
      this.#secondDue = false;
      return this.#options.collect(2);
    }
    // V8 frees a collection's dead Buffers on a thread of its own: read the heap a tick later.
    if (this.#baseline === null) {
      this.#baseline = this.#options.heapBytes();
      return false;
    }
    if (requests === this.#looked || now - this.#changedAt < this.#options.delay) return false;
    this.#looked = requests;
    if (this.#options.heapBytes() - this.#baseline < COLLECT_AFTER_GROWTH) return false;
    if (!this.#options.collect(1)) return false;
    this.#baseline = null;
    this.#secondDue = true;
    return true;
  }
}
