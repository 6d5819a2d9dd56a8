// A watchdog's "slow" report as the slow-log entry: the pool's master and the single process write the same one.
import { formatSlowlogEntry } from "../server/slowlog.ts";
import type { WatchdogReport } from "./protocol.ts";

/** The entry for a request of worker `pid` found slow just now. */
export function slowlogEntryFor(pid: number, report: Extract<WatchdogReport, { type: "slow" }>): string {
  return formatSlowlogEntry({
    time: new Date(),
    pid,
    script: report.script,
    uri: report.uri,
    method: report.method,
    elapsedMs: report.elapsed,
    stack: report.stack,
  });
}
