// The embedded HTTP front (--http): for development and trying tscgi without a web server.
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import { closeListener, socketFd } from "../node-internals.ts";
import type { Dispatcher } from "./dispatch.ts";
import { listenOnHandle, type ListenHandle } from "./bind.ts";
import { HttpExchange, paramsFromHttp } from "./http-exchange.ts";
import type { InflightTable } from "./inflight-table.ts";

/** Percent-decodes the path once, as nginx does for DOCUMENT_URI; null when it is malformed. */
export function decodePath(url: string): string | null {
  const q = url.indexOf("?");
  const raw = q === -1 ? url : url.slice(0, q);
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

export class HttpFront {
  readonly #server: Server;
  #draining = false;

  /** Open connections, for a stop that waits until they are gone. */
  connections = 0;
  #whenClosed: Array<() => void> = [];

  constructor(dispatcher: Dispatcher, table: InflightTable | null = null) {
    this.#server = createServer((req, res) => {
      const path = decodePath(req.url ?? "/");
      if (path === null || !path.startsWith("/")) {
        res.writeHead(400, { "content-type": "text/plain; charset=utf-8" }).end("400 Bad Request\n");
        return;
      }
      // Draining: answer what comes, but tell the client not to send more on this connection.
      if (this.#draining) res.shouldKeepAlive = false;
      const fd = table === null ? -1 : socketFd(req.socket);
      void dispatcher.dispatch(new HttpExchange(req, res, paramsFromHttp(req, path), table, fd));
    });
    this.#server.on("connection", (socket: Socket) => {
      this.connections++;
      socket.once("close", () => {
        if (--this.connections === 0) for (const wake of this.#whenClosed.splice(0)) wake();
      });
    });
  }

  /** Starts accepting on a bound socket (see bind.ts); several processes may share one. */
  listen(handle: ListenHandle, backlog: number): Promise<void> {
    return listenOnHandle(this.#server, handle, backlog);
  }

  /** Serves a connection accepted elsewhere (handed over by the master). */
  adopt(socket: Socket): void {
    this.#server.emit("connection", socket);
  }

  stopAccepting(): void {
    this.#server.close();
    this.#server.closeIdleConnections();
  }

  /**
   * For a graceful stop: no new connections, no more keep-alive. http.Server.close() would also
   * drop connections accepted a moment ago whose request has not arrived, so only the listener is
   * closed now and idle connections a little later.
   */
  drain(grace: number): void {
    if (this.#draining) return;
    this.#draining = true;
    closeListener(this.#server);
    setTimeout(() => this.#server.closeIdleConnections(), grace).unref();
  }

  /** Resolves once no connection is open. */
  closed(): Promise<void> {
    if (this.connections === 0) return Promise.resolve();
    return new Promise((resolve) => this.#whenClosed.push(resolve));
  }

  destroyAll(): void {
    this.#server.closeAllConnections();
  }
}
