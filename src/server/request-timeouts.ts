// Request timeouts: one coarse sweep over the requests in flight answers those past
// request_timeout, and a script still running its grace after that is runaway.
import { RequestTimeoutError } from "./errors.ts";
import type { InFlight } from "./in-flight.ts";
import type { ScriptFaults } from "./script-faults.ts";

export interface RequestTimeoutOptions {
  /** ms; 0 = never. */
  timeout: number;
  /** ms a script may run on after its 504 before it counts as runaway; 0 = never. */
  grace: number;
  faults: ScriptFaults;
  /** Asks for this worker's replacement; absent in a single process, which cannot be replaced. */
  retire?: (reason: string) => void;
  /** Answers and ends a request past its timeout (its endedBy is set, its script's signal fired). */
  expire: (entry: InFlight, error: RequestTimeoutError) => void;
}

export class RequestTimeouts {
  readonly #inflight: ReadonlySet<InFlight>;
  readonly #options: RequestTimeoutOptions;
  /** Requests answered 504 whose script has not finished yet, until their grace ends. */
  readonly #overdue = new Set<InFlight>();
  #timer: NodeJS.Timeout | null = null;
  #retireAsked = false;

  constructor(inflight: ReadonlySet<InFlight>, options: RequestTimeoutOptions) {
    this.#inflight = inflight;
    this.#options = options;
  }

  /** A request began: the sweep runs while any request is in flight or overdue. */
  started(): void {
    const timeout = this.#options.timeout;
    if (timeout > 0 && this.#timer === null) {
      // One coarse sweep instead of a timer per request: the hot path allocates nothing for timeouts.
      this.#timer = setInterval(() => this.#sweep(), Math.min(1000, Math.max(10, timeout / 4)));
      this.#timer.unref();
    }
  }

  /** A request answered by its timeout did finish, after its 504: not runaway. */
  finishedLate(entry: InFlight): void {
    this.#overdue.delete(entry);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #sweep(): void {
    const now = performance.now();
    const { timeout, grace } = this.#options;
    for (const entry of this.#inflight) {
      if (entry.done || now - entry.start < timeout) continue;
      entry.endedBy = "timeout";
      const error = new RequestTimeoutError(timeout);
      entry.ctx?.abort(error);
      // Only a script that was called can run on; one still loading is never called now.
      if (grace > 0 && entry.ctx !== null) {
        entry.graceEnd = now + grace;
        this.#overdue.add(entry);
      }
      this.#options.expire(entry, error);
    }
    for (const entry of this.#overdue) {
      if (now < entry.graceEnd) continue;
      this.#overdue.delete(entry);
      this.#runaway(entry);
    }
    // Stopped here when idle, not when the last request ends: that re-armed an interval per request.
    if (this.#inflight.size === 0 && this.#overdue.size === 0) this.stop();
  }

  /**
   * A script that ignored its signal and goes on after its 504 (an async loop, say) keeps using
   * the worker for nothing, and nothing can stop it but the process ending.
   */
  #runaway(entry: InFlight): void {
    const { retire, timeout, grace } = this.#options;
    let consequence: string;
    if (retire === undefined) {
      consequence = "a single process cannot be replaced: restart it to stop the script";
    } else if (this.#retireAsked) {
      consequence = "this worker is being replaced already";
    } else {
      consequence = "this worker is replaced once its other requests finish";
    }
    this.#options.faults.runaway(entry, timeout, grace, consequence);
    if (retire !== undefined && !this.#retireAsked) {
      this.#retireAsked = true;
      retire(`script ${entry.script} still running ${grace / 1000} s after its request timed out`);
    }
  }
}
