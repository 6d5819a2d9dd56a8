// Rate-limited log lines: an event a peer can repeat at will writes one line per interval, plus a count of the rest.
import type { LogLevel } from "./log.ts";

/** At most one line per kind of event in this many milliseconds; the others are counted. */
export const LOG_RATE_INTERVAL = 10_000;

/** Where the lines go: Logger satisfies it. */
export interface LevelLog {
  enabled(level: LogLevel): boolean;
  log(level: LogLevel, message: string): void;
}

interface Window {
  level: LogLevel;
  /** The latest message held back, written with the count when the window closes. */
  last: string;
  suppressed: number;
  timer: NodeJS.Timeout;
}

/**
 * A garbage connection, a slowloris flood or an fd shortage can happen thousands of times a
 * second; one line per event would bury the log and cost the worker more than the event. The
 * first event of a kind is written at once; later ones within the interval are counted, and
 * when the interval ends one line says how many there were.
 */
export class RateLimitedLog {
  readonly #log: LevelLog | undefined;
  readonly #interval: number;
  readonly #windows = new Map<string, Window>();

  constructor(log: LevelLog | undefined, interval = LOG_RATE_INTERVAL) {
    this.#log = log;
    this.#interval = interval;
  }

  /** Writes `message`, unless a line of the same `kind` was written less than the interval ago. */
  write(level: LogLevel, kind: string, message: string): void {
    const log = this.#log;
    if (log === undefined || !log.enabled(level)) return;
    const window = this.#windows.get(kind);
    if (window !== undefined) {
      window.suppressed++;
      window.last = message;
      return;
    }
    log.log(level, message);
    this.#open(kind, level, message);
  }

  /** Writes the counts still held (when the listener stops), and forgets every window. */
  flush(): void {
    for (const [kind, window] of this.#windows) {
      clearTimeout(window.timer);
      this.#windows.delete(kind);
      this.#summarise(window);
    }
  }

  #open(kind: string, level: LogLevel, message: string): void {
    const window: Window = { level, last: message, suppressed: 0, timer: undefined as unknown as NodeJS.Timeout };
    window.timer = setTimeout(() => this.#close(kind, window), this.#interval);
    window.timer.unref();
    this.#windows.set(kind, window);
  }

  #close(kind: string, window: Window): void {
    this.#windows.delete(kind);
    if (window.suppressed === 0) return;
    this.#summarise(window);
    // A steady flood keeps writing one line per interval, never one per event.
    this.#open(kind, window.level, window.last);
  }

  #summarise(window: Window): void {
    if (window.suppressed === 0) return;
    const seconds = Math.round(this.#interval / 100) / 10;
    this.#log!.log(window.level, `${window.last} (${window.suppressed} more like this in the last ${seconds} s)`);
  }
}
