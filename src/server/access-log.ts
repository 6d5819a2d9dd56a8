// The access log: one line per finished request, in the format access_format names (see access-format.ts).
import { compileAccessFormat, type AccessEntry, type AccessFormatOptions, type AccessFormatter } from "./access-format.ts";
import type { LogSink } from "./log.ts";

export class AccessLog {
  readonly #sink: LogSink;
  readonly #format: AccessFormatter;

  /** `format` is access_format: "default", "json" or PHP-FPM tokens; a bad one throws AccessFormatError. */
  constructor(sink: LogSink, format = "default", options: AccessFormatOptions = {}) {
    this.#sink = sink;
    this.#format = compileAccessFormat(format, options);
  }

  get enabled(): boolean {
    return this.#sink.enabled;
  }

  record(e: AccessEntry): void {
    this.#sink.line(this.#format(e));
  }
}
