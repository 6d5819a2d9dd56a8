// File descriptors: max_connections checked against the open-file limit at start-up, and the
// worker's periodic memory reading, which opens a file, surviving a process that has none left.
import { connectionRoom, FD_RESERVE, openFilesLimit } from "../server/fd-limit.ts";
import type { LogLevel } from "../server/log.ts";

/** A warning naming both numbers and the fixes when max_connections cannot all be open at once. */
export function fdLimitWarning(maxConnections: number, limit: number): string | null {
  const needed = maxConnections + FD_RESERVE;
  if (limit >= needed) return null;
  return (
    `max_connections is ${maxConnections}, but the open-file limit (RLIMIT_NOFILE) is ${limit}: a process needs about ` +
    `${FD_RESERVE} descriptors of its own besides its connections, so each keeps at most ${connectionRoom(maxConnections, limit)} ` +
    `connections open. Raise the limit to at least ${needed} (ulimit -n ${needed} before starting tscgi, or ` +
    `LimitNOFILE=${needed} in its systemd unit), or lower max_connections to ${Math.max(1, limit - FD_RESERVE)}`
  );
}

/** EMFILE (this process) or ENFILE (the whole system): out of file descriptors. */
function isFdExhaustion(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === "EMFILE" || code === "ENFILE";
}

/**
 * The worker's resident memory for the health check. Reading it opens /proc/self/stat, which
 * fails while every descriptor is taken: that is logged once, answered as null (no reading this
 * time), and logged again when a reading succeeds. Other errors are thrown.
 */
export class RssReader {
  readonly #log: (level: LogLevel, message: string) => void;
  readonly #read: () => number;
  #failing = false;

  constructor(log: (level: LogLevel, message: string) => void, read: () => number = () => process.memoryUsage.rss()) {
    this.#log = log;
    this.#read = read;
  }

  read(): number | null {
    let rss: number;
    try {
      rss = this.#read();
    } catch (error) {
      if (!isFdExhaustion(error)) throw error;
      if (!this.#failing) {
        this.#failing = true;
        this.#log(
          "warn",
          `worker ${process.pid} is out of file descriptors (${(error as NodeJS.ErrnoException).code}): ` +
            `its memory cannot be read, so worker_memory_limit is not checked until some close; ` +
            `raise the open-file limit (ulimit -n, LimitNOFILE) or lower max_connections`,
        );
      }
      return null;
    }
    if (this.#failing) {
      this.#failing = false;
      this.#log("info", `worker ${process.pid} has file descriptors again: worker_memory_limit is checked again`);
    }
    return rss;
  }
}

/** Logs fdLimitWarning for this config, if any. */
export function warnIfFewFiles(maxConnections: number, log: (level: LogLevel, message: string) => void): void {
  const warning = fdLimitWarning(maxConnections, openFilesLimit());
  if (warning !== null) log("warn", warning);
}
