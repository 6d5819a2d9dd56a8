// Error and access logs: one line per event, batched into one write per event-loop turn.
import { openSync, writeSync, closeSync } from "node:fs";

export type LogLevel = "error" | "warn" | "info" | "debug";
const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** Escapes control characters so request data can never forge or split a log line. */
export function escapeLogText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f"\\]/g, (c) =>
    c === '"' ? '\\"' : c === "\\" ? "\\\\" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/** A destination: "stdout", "stderr", "off" or a file path (appended to). */
export class LogSink {
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
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#fd === null || this.#pending === "") return;
    const text = this.#pending;
    this.#pending = "";
    try {
      writeSync(this.#fd, text);
    } catch {
      // A closed or full log destination must not take requests down with it.
    }
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
    this.#sink.line(`[${new Date().toISOString()}] ${level.toUpperCase()}: ${message}`);
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
