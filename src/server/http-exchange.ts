// Adapts a node:http request to the Exchange dispatch works with, with CGI params built as nginx would.
import type { IncomingMessage, ServerResponse } from "node:http";
import { onSignalAbort, type Exchange, type StreamOutcome } from "../cgi/exchange.ts";
import type { HeaderList } from "../cgi/head.ts";
import { Wire, type InflightTable } from "./inflight-table.ts";

const DONE: Promise<void> = Promise.resolve();
const SERVER_SOFTWARE = "tscgi";

/**
 * The meta-variables nginx's fastcgi_params would send for this request (RFC 3875 4.1).
 * `path` is the percent-decoded path (DOCUMENT_URI); HTTP_PROXY is left out (httpoxy).
 */
export function paramsFromHttp(req: IncomingMessage, path: string): Record<string, string> {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const socket = req.socket;
  const p: Record<string, string> = Object.create(null) as Record<string, string>;
  p.GATEWAY_INTERFACE = "CGI/1.1";
  p.SERVER_SOFTWARE = SERVER_SOFTWARE;
  p.SERVER_PROTOCOL = `HTTP/${req.httpVersion}`;
  p.REQUEST_METHOD = req.method ?? "GET";
  p.REQUEST_URI = url;
  p.DOCUMENT_URI = path;
  p.SCRIPT_NAME = path;
  p.QUERY_STRING = q === -1 ? "" : url.slice(q + 1);
  p.REMOTE_ADDR = socket.remoteAddress ?? "";
  p.REMOTE_PORT = String(socket.remotePort ?? "");
  p.SERVER_ADDR = socket.localAddress ?? "";
  p.SERVER_PORT = String(socket.localPort ?? "");
  const host = req.headers.host;
  p.SERVER_NAME = host ? host.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1") : p.SERVER_ADDR;
  p.CONTENT_TYPE = req.headers["content-type"] ?? "";
  p.CONTENT_LENGTH = req.headers["content-length"] ?? "";
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const key = "HTTP_" + raw[i].toUpperCase().replaceAll("-", "_");
    if (key === "HTTP_PROXY" || key === "HTTP_CONTENT_TYPE" || key === "HTTP_CONTENT_LENGTH") continue;
    const prior = p[key];
    p[key] = prior === undefined ? raw[i + 1] : `${prior}${key === "HTTP_COOKIE" ? "; " : ", "}${raw[i + 1]}`;
  }
  return p;
}

export class HttpExchange implements Exchange {
  readonly params: Record<string, string>;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  #body: AsyncIterator<Buffer> | undefined;
  #abort: AbortController | undefined;
  #aborted = false;
  readonly #table: InflightTable | null;
  readonly slot: number;

  constructor(req: IncomingMessage, res: ServerResponse, params: Record<string, string>, table: InflightTable | null = null, fd = -1) {
    this.#req = req;
    this.#res = res;
    this.params = params;
    this.#table = table;
    this.slot = table === null || fd < 0 ? -1 : table.begin(fd, 0, Wire.Http, params.REQUEST_METHOD, params.REQUEST_URI);
    res.once("close", () => {
      if (!res.writableFinished) {
        this.#aborted = true;
        this.#abort?.abort(new Error("the client closed the connection"));
      }
    });
  }

  async readBody(): Promise<Uint8Array | null> {
    this.#body ??= this.#req[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const next = await this.#body.next();
    return next.done ? null : next.value;
  }

  onAbort(listener: (reason: unknown) => void): () => void {
    if (this.#abort === undefined) {
      this.#abort = new AbortController();
      if (this.#aborted) this.#abort.abort(new Error("the client closed the connection"));
    }
    return onSignalAbort(this.#abort.signal, listener);
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  respond(status: number, headers: HeaderList, body: Uint8Array | null): Promise<void> {
    // HTTP has no refusal or failure flag for a whole response: its status says it.
    if (!this.#startHead(status, headers)) return DONE;
    if (body) this.#res.end(body);
    else this.#res.end();
    return DONE;
  }

  head(status: number, headers: HeaderList, firstChunk: Uint8Array | null): Promise<void> {
    if (!this.#startHead(status, headers)) return DONE;
    return firstChunk && firstChunk.byteLength > 0 ? this.write(firstChunk) : DONE;
  }

  /** Writes status and headers, or returns false when the client has gone. */
  #startHead(status: number, headers: HeaderList): boolean {
    if (this.#aborted) return false;
    if (this.slot >= 0) this.#table!.responded(this.slot);
    this.#res.writeHead(status, headers);
    return true;
  }

  write(chunk: Uint8Array): Promise<void> {
    if (this.#aborted) return DONE;
    if (this.#res.write(chunk)) return DONE;
    return new Promise((resolve) => {
      const done = () => {
        this.#res.off("drain", done);
        this.#res.off("close", done);
        resolve();
      };
      this.#res.on("drain", done);
      this.#res.on("close", done);
    });
  }

  end(outcome: StreamOutcome): void {
    // A response cut off mid-stream must look cut off to the client, not complete.
    if (outcome === "failed") this.#res.destroy();
    else this.#res.end();
  }
}
