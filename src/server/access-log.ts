// The access log: one line per finished request, in the format access_format names (see access-format.ts).
import { compileAccessFormat, type AccessEntry, type AccessFormatOptions, type AccessFormatter } from "./access-format.ts";
import type { LogSink } from "./log.ts";
import type { Exchange } from "../cgi/exchange.ts";

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

  /** A finished request's line, from its CGI params; an aborted one is logged 499 (nginx's "client closed"). */
  recordExchange(exchange: Exchange, status: number, duration: number, script: string): void {
    const p = exchange.params;
    this.record({
      remoteAddr: p.REMOTE_ADDR ?? "-",
      method: p.REQUEST_METHOD ?? "-",
      uri: p.REQUEST_URI ?? p.DOCUMENT_URI ?? "-",
      status: exchange.aborted ? 499 : status,
      duration,
      script,
      query: p.QUERY_STRING ?? "",
      contentLength: Number(p.CONTENT_LENGTH) || 0,
      remoteUser: p.REMOTE_USER,
      params: p,
    });
  }
}
