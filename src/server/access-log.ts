// The access log: one line per finished request, PHP-FPM's fields in a combined-log shape.
import { escapeLogText, type LogSink } from "./log.ts";

export interface AccessEntry {
  remoteAddr: string;
  method: string;
  uri: string;
  status: number;
  /** Milliseconds from dispatch to the end of the response. */
  duration: number;
  /** The script that ran, relative to the script root, or "-" when none was resolved. */
  script: string;
}

export class AccessLog {
  readonly #sink: LogSink;
  #second = -1;
  #stamp = "";

  constructor(sink: LogSink) {
    this.#sink = sink;
  }

  get enabled(): boolean {
    return this.#sink.enabled;
  }

  // The timestamp changes once a second; formatting it per request would be waste.
  #time(): string {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#stamp = new Date(second * 1000).toISOString().replace(".000Z", "Z");
    }
    return this.#stamp;
  }

  record(e: AccessEntry): void {
    this.#sink.line(
      `${escapeLogText(e.remoteAddr || "-")} - [${this.#time()}] "${escapeLogText(e.method)} ${escapeLogText(e.uri)}" ` +
        `${e.status} ${e.duration.toFixed(3)}ms "${escapeLogText(e.script)}"`,
    );
  }
}
