// The slow-request log entry, in PHP-FPM's slowlog shape: a header line, the request, then the stack.
import { timeFormat } from "./access-format.ts";
import { escapeControlChars } from "./log.ts";

export interface SlowlogEntry {
  /** When the request was found slow: a Date or epoch milliseconds. */
  time: Date | number;
  /** The worker running the request. */
  pid: number;
  /** The script, relative to the script root. */
  script: string;
  uri: string;
  method: string;
  /** How long the request had been running, in milliseconds. */
  elapsedMs: number;
  /** The JavaScript stack at that moment, one frame a line; null when no JavaScript was running. */
  stack: string | null;
  /** The pool name; "tscgi" by default. */
  pool?: string;
}

// PHP-FPM's zlog time: "25-Nov-2026 10:00:00", local time.
const stamp = timeFormat("%d-%b-%Y %H:%M:%S");

/**
 * The entry as PHP-FPM writes it, starting with a newline so entries are set apart by a blank
 * line; write it with one `LogSink.line()` call:
 *
 *     [25-Nov-2026 10:00:00]  [pool tscgi] pid 1234
 *     script_filename = hello.ts
 *     uri = /hello?name=x
 *     method = GET
 *     elapsed = 5.012s
 *         at handler (/srv/cgi-bin/hello.ts:3:9)
 *
 * Every field and stack line has its control characters escaped, so none can forge a line.
 */
export function formatSlowlogEntry(e: SlowlogEntry): string {
  const time = typeof e.time === "number" ? e.time : e.time.getTime();
  const lines = [
    "",
    `[${stamp(time)}]  [pool ${escapeControlChars(e.pool ?? "tscgi")}] pid ${e.pid}`,
    `script_filename = ${escapeControlChars(e.script)}`,
    `uri = ${escapeControlChars(e.uri)}`,
    `method = ${escapeControlChars(e.method)}`,
    `elapsed = ${(e.elapsedMs / 1000).toFixed(3)}s`,
  ];
  if (e.stack === null) {
    lines.push("(no JavaScript was running: the script was waiting for I/O, a timer or a promise)");
  } else {
    for (const line of e.stack.split(/\r?\n/)) if (line.trim() !== "") lines.push(escapeControlChars(line));
  }
  return lines.join("\n");
}
