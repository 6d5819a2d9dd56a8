// The FastCGI listener: accepts connections and feeds each socket to a protocol Connection.
import { createServer, type Server, type Socket } from "node:net";
import { Connection, type ConnectionOptions, type FcgiRequest } from "../fastcgi/connection.ts";
import type { Dispatcher } from "./dispatch.ts";
import type { Logger } from "./log.ts";
import { listenOnHandle, type ListenHandle } from "./bind.ts";
import { FastCgiExchange } from "./fastcgi-exchange.ts";
import type { InflightTable } from "./inflight-table.ts";
import { escapeLogText } from "./log.ts";

/** A connection that has not sent its first request is given this long to do so when draining. */
export const FIRST_REQUEST_GRACE = 2000;

interface Open {
  connection: Connection;
  acceptedAt: number;
  requests: number;
}

export interface FastCgiServerOptions {
  maxConnections: number;
  backlog: number;
  connection: ConnectionOptions;
  log?: Logger;
  /** Peers for which this is false are disconnected at accept (allowed_clients). */
  allowClient?: (address: string | undefined) => boolean;
  /** Requests are published here for a watchdog thread. */
  table?: InflightTable | null;
}

/** The libuv handle under a socket: its fd lets a watchdog thread write the last answer. */
function socketFd(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === "number" ? fd : -1;
}

export class FastCgiServer {
  readonly #server: Server;
  readonly #connections = new Map<Socket, Open>();
  readonly #options: FastCgiServerOptions;
  #drainTimer: NodeJS.Timeout | null = null;
  /** Connections accepted (after the allow-list), for the status page. */
  accepted = 0;
  refused = 0;

  constructor(dispatcher: Dispatcher, options: FastCgiServerOptions) {
    this.#options = options;
    const table = options.table ?? null;
    this.#server = createServer({ noDelay: true }, (socket) => {
      const log = options.log;
      if (options.allowClient && !options.allowClient(socket.remoteAddress)) {
        this.refused++;
        log?.warn(`fastcgi: connection from ${escapeLogText(String(socket.remoteAddress))} refused: not in allowed_clients`);
        socket.destroy();
        return;
      }
      this.accepted++;
      if (log?.enabled("debug")) log.debug(`fastcgi connection from ${socket.remoteAddress}:${socket.remotePort}`);
      const fd = table === null ? -1 : socketFd(socket);
      const open = { connection: null as unknown as Connection, acceptedAt: Date.now(), requests: 0 };
      const handler = (request: FcgiRequest) => {
        open.requests++;
        void dispatcher.dispatch(new FastCgiExchange(request, table, fd, socket.remoteAddress));
      };
      const connection = new Connection(socket, handler, options.connection);
      open.connection = connection;
      this.#connections.set(socket, open);
      socket.on("data", (chunk: Buffer) => connection.receive(chunk));
      socket.on("error", () => socket.destroy());
      socket.on("close", () => {
        this.#connections.delete(socket);
        connection.closed();
      });
    });
    this.#server.maxConnections = options.maxConnections;
  }

  get connections(): number {
    return this.#connections.size;
  }

  /** Starts accepting on a bound socket (see bind.ts); several processes may share one. */
  listen(handle: ListenHandle): Promise<void> {
    return listenOnHandle(this.#server, handle, this.#options.backlog);
  }

  /** Serves a connection accepted elsewhere (handed over by the master). */
  adopt(socket: Socket): void {
    this.#server.emit("connection", socket);
  }

  /** Stops accepting; open connections stay until closeIdle or destroyAll. */
  stopAccepting(): void {
    this.#server.close();
  }

  /**
   * Closes keep-alive connections that carry no request. A connection that has not sent its first
   * request yet is left FIRST_REQUEST_GRACE to send it: it was accepted for a request on its way,
   * and a web server retries a request only on a connection it had used before.
   */
  closeIdle(): void {
    const now = Date.now();
    for (const [socket, open] of this.#connections) {
      if (open.connection.activeRequests > 0) continue;
      if (open.requests === 0 && now - open.acceptedAt < FIRST_REQUEST_GRACE) continue;
      socket.end();
    }
  }

  /**
   * For a graceful stop: closes each connection as soon as it carries no request, so a web server
   * holding keep-alive connections opens new ones (to another worker) instead of waiting on this one.
   */
  drain(): void {
    this.closeIdle();
    if (this.#drainTimer) return;
    this.#drainTimer = setInterval(() => {
      this.closeIdle();
      if (this.#connections.size === 0 && this.#drainTimer) {
        clearInterval(this.#drainTimer);
        this.#drainTimer = null;
      }
    }, 20);
    this.#drainTimer.unref();
  }

  destroyAll(): void {
    if (this.#drainTimer) clearInterval(this.#drainTimer);
    this.#drainTimer = null;
    for (const socket of this.#connections.keys()) socket.destroy();
  }
}
