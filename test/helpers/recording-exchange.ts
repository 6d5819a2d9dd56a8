// An Exchange without a socket that records what dispatch sends, as a web server would see it.
import { onSignalAbort, type Exchange, type ResponseOutcome, type StreamOutcome } from "../../src/cgi/exchange.ts";
import type { HeaderList } from "../../src/cgi/head.ts";

export class RecordingExchange implements Exchange {
  params: Record<string, string>;
  status = 0;
  headers: HeaderList = [];
  chunks: Buffer[] = [];
  ended = false;
  failed = false;
  aborted = false;
  #abort = new AbortController();
  #body: Buffer[];
  /** Set by a test to see which body chunks the reader gives back (Exchange.releaseBody). */
  releaseBody?: (chunk: Uint8Array) => void;
  /** Set by a test to see whether the reader said it gives back every chunk (Exchange.lendBody). */
  lendBody?: () => void;
  /** Body chunks asked for so far. */
  reads = 0;

  constructor(params: Record<string, string>, body: Buffer[] = []) {
    this.params = Object.assign(Object.create(null), { REQUEST_METHOD: "GET", REQUEST_URI: "/x", ...params });
    this.#body = body;
  }
  async readBody() {
    this.reads++;
    return this.#body.shift() ?? null;
  }
  get signal() {
    return this.#abort.signal;
  }
  onAbort(listener: (reason: unknown) => void) {
    return onSignalAbort(this.#abort.signal, listener);
  }
  abort() {
    this.aborted = true;
    this.#abort.abort();
  }
  async respond(status: number, headers: HeaderList, body: Uint8Array | null, outcome: ResponseOutcome) {
    await this.head(status, headers, body);
    this.ended = true;
    this.failed = outcome === "failed";
  }
  async head(status: number, headers: HeaderList, firstChunk: Uint8Array | null) {
    this.status = status;
    this.headers = [...headers];
    if (firstChunk) this.chunks.push(Buffer.from(firstChunk));
  }
  async write(chunk: Uint8Array) {
    this.chunks.push(Buffer.from(chunk));
  }
  end(outcome: StreamOutcome) {
    this.ended = true;
    this.failed = outcome === "failed";
  }
  get body() {
    return Buffer.concat(this.chunks).toString();
  }
  /** The first value of a header (lower-case name), or undefined. */
  header(name: string) {
    const i = this.headers.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === name);
    return i === -1 ? undefined : this.headers[i + 1];
  }
  /** Every value of a header (lower-case name). */
  all(name: string) {
    return this.headers.filter((h, i) => i % 2 === 1 && this.headers[i - 1].toLowerCase() === name);
  }
}
