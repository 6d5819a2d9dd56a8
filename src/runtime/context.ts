// The Cgi context a classic-style script receives: env, lazy Request, query, signal, streaming output.
import { bodyStream, declaredLength } from "../cgi/body.ts";
import type { Exchange } from "../cgi/exchange.ts";
import { checkHeader, checkStatus, hasHeader, type HeaderList } from "../cgi/head.ts";
import { buildRequest } from "../cgi/request.ts";
import { ClientGoneError } from "../cgi/errors.ts";
import { HeadersSentError } from "./errors.ts";
import type { Cgi, CgiEnv } from "./types.ts";

const DONE: Promise<void> = Promise.resolve();
const DEFAULT_TYPE = "text/html; charset=utf-8";
const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

export class CgiContext implements Cgi {
  readonly env: CgiEnv;
  /** Set by dispatch from the resolved path's `[param]` segments. */
  params: Readonly<Record<string, string>> = NO_PARAMS;
  readonly #exchange: Exchange;
  readonly #maxBodySize: number;
  readonly #isHead: boolean;
  #request: Request | undefined;
  #query: URLSearchParams | undefined;
  #abort: AbortController | undefined;
  #forward: (() => void) | undefined;
  #status = 0;
  #headers: HeaderList = [];
  #started = false;
  #closed = false;

  constructor(exchange: Exchange, env: CgiEnv, maxBodySize: number) {
    this.#exchange = exchange;
    this.env = env;
    this.#maxBodySize = maxBodySize;
    this.#isHead = env.REQUEST_METHOD === "HEAD";
  }

  get request(): Request {
    return (this.#request ??= buildRequest(
      this.env,
      () => bodyStream(() => this.#exchange.readBody(), this.#maxBodySize, declaredLength(this.env)),
      this.signal,
    ));
  }

  get query(): URLSearchParams {
    return (this.#query ??= new URLSearchParams(this.env.QUERY_STRING ?? ""));
  }

  /**
   * A plain AbortController that the exchange's abort is forwarded to. Not AbortSignal.any: in
   * Node 20 a composite signal with a listener that never fires is kept alive for good, with all
   * its listener reaches (about 3 KB a request for a listener that captures `cgi`).
   */
  get signal(): AbortSignal {
    if (this.#abort === undefined) {
      const abort = (this.#abort = new AbortController());
      const exchange = this.#exchange.signal;
      if (exchange.aborted) abort.abort(exchange.reason);
      else if (!this.#closed) {
        this.#forward = () => abort.abort(exchange.reason);
        exchange.addEventListener("abort", this.#forward, { once: true });
      }
    }
    return this.#abort.signal;
  }

  /** True once status and headers went out; after that only body bytes can follow. */
  get started(): boolean {
    return this.#started;
  }

  /** True once the response was finished (or given up) and further output is dropped. */
  get closed(): boolean {
    return this.#closed;
  }

  get statusCode(): number {
    return this.#status;
  }

  get headerList(): HeaderList {
    return this.#headers;
  }

  status(code: number): this {
    if (this.#started) throw new HeadersSentError("the status");
    this.#status = checkStatus(code);
    return this;
  }

  header(name: string, value: string): this {
    if (this.#started) throw new HeadersSentError(`header ${name}`);
    value = String(value);
    checkHeader(name, value);
    this.#headers.push(name, value);
    return this;
  }

  write(chunk: string | Uint8Array): Promise<void> {
    // A loop that streams without watching cgi.signal must still end when nobody listens.
    if (this.#exchange.aborted) return Promise.reject(new ClientGoneError());
    if (this.#closed) return DONE;
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (!this.#started) {
      this.#started = true;
      if (!hasHeader(this.#headers, "content-type")) {
        this.#headers.push("Content-Type", DEFAULT_TYPE);
      }
      return this.#exchange.head(this.#status || 200, this.#headers, this.#isHead ? null : bytes, false);
    }
    if (this.#isHead || bytes.byteLength === 0) return DONE;
    return this.#exchange.write(bytes);
  }

  /** Marks the response finished: later writes from a script still running are dropped. */
  close(): void {
    this.#closed = true;
    this.#unforward();
  }

  /** Fires the script's signal, for a request that ran past its time (or whose script must stop). */
  abort(reason: unknown): void {
    this.#abort ??= new AbortController();
    this.#unforward();
    this.#abort.abort(reason);
  }

  #unforward(): void {
    if (this.#forward === undefined) return;
    this.#exchange.signal.removeEventListener("abort", this.#forward);
    this.#forward = undefined;
  }
}
