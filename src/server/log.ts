// Error and access logs: one line per event, batched into one write per event-loop turn.
import { openSync, writeSync, closeSync } from "node:fs";

export type LogLevel = "error" | "warn" | "info" | "debug";
const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

function hex(c: string): string {
  return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
}

// eslint-disable-next-line no-control-regex
const UNSAFE_TEXT = /[\x00-\x1f\x7f-\x9f"\\]/;
// eslint-disable-next-line no-control-regex
const UNSAFE_TEXT_ALL = /[\x00-\x1f\x7f-\x9f"\\]/g;
const escapeUnsafe = (c: string): string => (c === '"' ? '\\"' : c === "\\" ? "\\\\" : hex(c));

/**
 * Escapes control characters (C0, DEL and C1, where \x9b is a terminal's CSI), quotes and
 * backslashes, so request data can never forge or split a log line, nor leave a quoted field.
 */
export function escapeLogText(text: string): string {
  // Tested first: most fields need nothing, and a test is a quarter of a replace() that finds nothing
  // (0.5 µs of an access line's four fields).
  return UNSAFE_TEXT.test(text) ? text.replace(UNSAFE_TEXT_ALL, escapeUnsafe) : text;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;

/** Escapes control characters but tabs, leaving quotes alone: for text that is not inside a quoted field. */
export function escapeControlChars(text: string): string {
  return CONTROL.test(text) ? text.replace(CONTROLS, hex) : text;
}

/**
 * An error-log message made safe: control characters escaped, and a message of several lines
 * (a stack) kept as lines only with every line after the first indented, so none can pass for
 * an entry of its own, which starts with "[time]".
 */
export function escapeLogMessage(message: string): string {
  if (!message.includes("\n")) return escapeControlChars(message);
  const lines = message.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = escapeControlChars(lines[i]);
    const first = line.charCodeAt(0);
    lines[i] = i === 0 || first === 0x20 || first === 0x09 ? line : "  " + line;
  }
  return lines.join("\n");
}

/** Where a line goes: a LogSink, or anything else taking whole lines (tests, a pipe to the master). */
export interface LineSink {
  line(text: string): void;
  /** Writes out what is held; sinks that write at once need not have it. */
  flush?(): void;
}

// Sinks holding lines not yet written. Flushed on process exit, so a script's process.exit()
// (or a crash) does not lose what was logged in the same event-loop turn.
const unflushed = new Set<LogSink>();
let exitHook = false;
function flushAll(): void {
  for (const sink of unflushed) sink.flush();
}

// A pipe that some other code (process.stdout) made non-blocking answers EAGAIN while its reader
// is behind; waiting a little is better than dropping lines. Bounded, so a stuck reader cannot
// hang the process.
const EAGAIN_WAIT_MS = 5;
const EAGAIN_MAX_WAITS = 200;
let sleeper: Int32Array | null = null;
function pause(ms: number): void {
  sleeper ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Writes all of `text`, looping over short writes; false when the destination refused it. */
export function writeAll(fd: number, text: string | Uint8Array): boolean {
  const data = typeof text === "string" ? Buffer.from(text) : text;
  let offset = 0;
  let waits = 0;
  while (offset < data.length) {
    try {
      offset += writeSync(fd, data, offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN" || ++waits > EAGAIN_MAX_WAITS) return false;
      pause(EAGAIN_WAIT_MS);
    }
  }
  return true;
}

/** A destination: "stdout", "stderr", "off" or a file path (appended to). */
export class LogSink implements LineSink {
  readonly #target: string;
  #fd: number | null;
  #pending = "";
  #scheduled = false;

  constructor(target: string) {
    this.#target = target;
    this.#fd = LogSink.#open(target);
  }

  static #open(target: string): number | null {
    if (target === "off") return null;
    if (target === "stdout") return 1;
    if (target === "stderr") return 2;
    return openSync(target, "a");
  }

  get enabled(): boolean {
    return this.#fd !== null;
  }

  line(text: string): void {
    if (this.#fd === null) return;
    this.#pending += text + "\n";
    if (!this.#scheduled) {
      this.#scheduled = true;
      unflushed.add(this);
      if (!exitHook) {
        exitHook = true;
        process.on("exit", flushAll);
      }
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    unflushed.delete(this);
    if (this.#fd === null || this.#pending === "") return;
    const text = this.#pending;
    this.#pending = "";
    // A closed or full log destination must not take requests down with it.
    writeAll(this.#fd, text);
  }

  /** Reopens a file destination (after log rotation moved it away). */
  reopen(): void {
    this.flush();
    if (this.#fd !== null && this.#fd > 2) {
      closeSync(this.#fd);
      this.#fd = LogSink.#open(this.#target);
    }
  }

  close(): void {
    this.flush();
    if (this.#fd !== null && this.#fd > 2) closeSync(this.#fd);
    this.#fd = null;
  }
}

/** The error log: every message is escaped (escapeLogMessage), whoever wrote it and whatever it quotes. */
export class Logger {
  readonly #sink: LogSink;
  readonly #level: number;

  constructor(sink: LogSink, level: LogLevel = "info") {
    this.#sink = sink;
    this.#level = LEVELS[level];
  }

  /** True when a line at this level would be written: lets callers skip building it. */
  enabled(level: LogLevel): boolean {
    return LEVELS[level] <= this.#level;
  }

  #write(level: LogLevel, message: string): void {
    if (LEVELS[level] > this.#level) return;
    this.#sink.line(`[${new Date().toISOString()}] ${level.toUpperCase()}: ${escapeLogMessage(message)}`);
  }

  error(message: string): void {
    this.#write("error", message);
  }
  warn(message: string): void {
    this.#write("warn", message);
  }
  info(message: string): void {
    this.#write("info", message);
  }
  debug(message: string): void {
    this.#write("debug", message);
  }
  /** The shape lower layers take: (level, message). */
  readonly log = (level: LogLevel, message: string): void => this.#write(level, message);

  flush(): void {
    this.#sink.flush();
  }
}
