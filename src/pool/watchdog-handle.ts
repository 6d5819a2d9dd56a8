// The main thread's side of the watchdog (see watchdog.ts): the shared table, the heartbeat, the thread.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Config } from "../config/types.ts";
import { InflightTable } from "../server/inflight-table.ts";
import { SharedLineSink } from "../server/shared-line-sink.ts";
import type { WatchdogReport } from "./protocol.ts";
import type { WatchdogOptions } from "./watchdog.ts";

export interface Watchdog {
  readonly table: InflightTable;
  /** Scripts' stderr, which the thread writes out when this one blocks; null without a thread. */
  readonly stderr: SharedLineSink | null;
  stop(): void;
}

const HEARTBEAT_EVERY = 100;

/** The built thread script, next to this bundle in dist/. */
function threadFile(): string {
  const file = fileURLToPath(new URL("./watchdog.js", import.meta.url));
  if (!existsSync(file)) throw new Error(`${file} is missing; run npm run build`);
  return file;
}

/**
 * Starts the thread. In a pool worker it reports on the pipe and ends a stuck process; in the
 * single process it only reports slow requests, through `onReport`, once this thread is free, so
 * there it runs only when the slow log is on (a thread costs about 11 MiB of RSS).
 */
export function startWatchdog(config: Config, pool: boolean, onReport?: (report: WatchdogReport) => void): Watchdog {
  // One slot per request a worker may run (max_inflight), plus the refused ones in passing.
  const table = new InflightTable(config.max_inflight + 64);
  if (!pool && config.request_slowlog_timeout === 0) return { table, stderr: null, stop() {} };
  const stderr = new SharedLineSink(2);
  table.beat();
  const beat = setInterval(() => table.beat(), HEARTBEAT_EVERY);
  beat.unref();
  const options: WatchdogOptions = {
    buffer: table.buffer,
    capacity: table.capacity,
    requestTimeout: config.request_timeout,
    slowlogTimeout: config.request_slowlog_timeout,
    pool,
    stderr: stderr.buffer,
  };
  const thread = new Worker(threadFile(), {
    workerData: options,
    stdout: false,
    stderr: false,
    // It holds a few slow-log entries at most; a small heap keeps a worker's RSS down by about 1 MiB.
    resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 32, stackSizeMb: 1 },
  });
  thread.unref();
  if (onReport) thread.on("message", onReport);
  thread.on("error", (error) => process.stderr.write(`tscgi: watchdog thread failed: ${error.message}\n`));
  return {
    table,
    stderr,
    stop() {
      clearInterval(beat);
      void thread.terminate();
    },
  };
}
