// The FastCGI listener: accepts connections, keeps them within max_connections, and closes or hands them over.
import { createServer, type Server } from "node:net";
import type { FcgiRequest } from "../fastcgi/request.ts";
import { takeAcceptedHandles } from "../node-internals.ts";
import type { ConnectionOptions } from "../fastcgi/transport.ts";
import type { Dispatcher } from "./dispatch.ts";
import type { Logger } from "./log.ts";
import { listenOnHandle, type ListenHandle } from "./bind.ts";
import { AcceptError, MaxConnectionsError } from "./errors.ts";
import { FastCgiExchange } from "./fastcgi-exchange.ts";
import { connectionRoom } from "./fd-limit.ts";
import { HandleSocket, uvError } from "./handle-socket.ts";
import type { InflightTable } from "./inflight-table.ts";
import { escapeLogText } from "./log.ts";
import { LOG_RATE_INTERVAL, RateLimitedLog } from "./log-limit.ts";
import { OpenConnection, type HandOff, type OpenConnectionOptions } from "./open-connection.ts";
import { sweepPeriod, TimeoutSweep } from "./timeout-sweep.ts";

/** A connection that has not sent its first request is given this long to do so when stopping. */
export const FIRST_REQUEST_GRACE = 2000;

export interface FastCgiServerOptions {
  /** max_connections; lowered to what the open-files limit leaves room for. */
  maxConnections: number;
  backlog: number;
  connection: ConnectionOptions;
  /** Milliseconds to complete a request's PARAMS, from accept or BEGIN_REQUEST (params_timeout); 0 = none. */
  paramsTimeout?: number;
  /** Milliseconds an idle kept-alive connection stays open (keepalive_timeout); 0 = none. */
  keepaliveTimeout?: number;
  log?: Logger;
  /** One line per kind of repeated event (protocol fault, max_connections, accept error) per this many ms. */
  logInterval?: number;
  /** Peers for which this is false are disconnected at accept (allowed_clients). */
  allowClient?: (address: string | undefined) => boolean;
  /** Requests are published here for a watchdog thread. */
  table?: InflightTable | null;
}

export class FastCgiServer {
  readonly #server: Server;
  readonly #dispatcher: Dispatcher;
  readonly #open = new Map<HandleSocket, OpenConnection>();
  readonly #options: FastCgiServerOptions;
  readonly #openOptions: OpenConnectionOptions;
  readonly #limited: RateLimitedLog;
  readonly #sweep: TimeoutSweep;
  /** max_connections, or fewer when the open-files limit is lower. */
  readonly #maxConnections: number;
  /** Set by close() or handOver(): what happens to every connection, including ones adopted later. */
  #ending: ((open: OpenConnection) => void) | null = null;
  #emptied: Array<() => void> = [];
  /** Connections accepted (after the allow-list), for the status page. */
  accepted = 0;
  refused = 0;
  /** Times a connection arrived with max_connections open ("max connections reached"). */
  maxConnectionsReached = 0;

  constructor(dispatcher: Dispatcher, options: FastCgiServerOptions) {
    this.#dispatcher = dispatcher;
    this.#options = options;
    const limited = (this.#limited = new RateLimitedLog(options.log, options.logInterval ?? LOG_RATE_INTERVAL));
    this.#openOptions = {
      // Protocol faults are the peer's: a warning per kind of fault, rate-limited, never an error per connection.
      connection: { ...options.connection, log: (level, message, code) => limited.write(level, code ?? "fastcgi", message) },
      paramsTimeout: options.paramsTimeout ?? 0,
      keepaliveTimeout: options.keepaliveTimeout ?? 0,
      gone: (open) => this.#gone(open),
      timedOut: (_open, error) => limited.write("warn", error.code, `fastcgi: ${error.message} [${error.code}]`),
      handOffFailed: (error) =>
        limited.write("error", "handoff", `fastcgi: handing a connection over failed, so it was closed: ${String(error)}`),
    };
    this.#sweep = new TimeoutSweep(sweepPeriod(this.#openOptions.paramsTimeout, this.#openOptions.keepaliveTimeout), () =>
      this.#open.values(),
    );
    this.#server = createServer();
    // The master (or the single process) warns about a low limit once, at start-up (see pool/fd-limit.ts).
    this.#maxConnections = connectionRoom(options.maxConnections);
  }

  get connections(): number {
    return this.#open.size;
  }

  /** Starts accepting on a bound socket (see bind.ts); several processes may share one. */
  async listen(handle: ListenHandle): Promise<void> {
    await listenOnHandle(this.#server, handle, this.#options.backlog);
    takeAcceptedHandles(
      this.#server,
      (status, accepted) => {
        if (accepted !== undefined && status === 0) {
          this.#accept(new HandleSocket(accepted));
          return;
        }
        // libuv has already closed the connection it could not take, and the listener carries on.
        const failure = new AcceptError(uvError(status, "accept"));
        this.#limited.write("warn", failure.code, `fastcgi: ${failure.message} [${failure.code}]`);
      },
      true,
    );
  }

  /**
   * Serves a connection accepted or handed over elsewhere; `unread` are bytes its previous owner
   * read from it but did not parse, fed to the protocol before anything read from the socket.
   * The process that accepted it set TCP_NODELAY, which stays with the socket.
   */
  adopt(socket: HandleSocket, unread?: Buffer): void {
    this.#accept(socket, unread);
  }

  /** Stops accepting; open connections stay until close(), handOver() or destroyAll(). */
  stopAccepting(): void {
    this.#server.close();
  }

  /**
   * Stopping for good: stops accepting; closes each connection as soon as it carries no request
   * and its output reached the kernel (an idle one at once, with destroy: Apache's pooled
   * connections never answer an end()). One that has not sent its first request yet is given
   * FIRST_REQUEST_GRACE. Resolves when no connection is left.
   */
  close(): Promise<void> {
    return this.#end((open) => open.close(FIRST_REQUEST_GRACE));
  }

  /**
   * Retiring: stops accepting, and passes every connection to `handOff` at the first record
   * boundary where it carries no request and everything written to it reached the kernel, with
   * the bytes read from it but not parsed. Reading is stopped at the libuv level first, and
   * nothing here touches the socket afterwards: the callee owns it (and must not end() it, which
   * would half-close it for the next owner too). Resolves when no connection is left.
   */
  handOver(handOff: HandOff): Promise<void> {
    return this.#end((open) => open.handOver(handOff));
  }

  /**
   * Passes up to `count` idle connections to `handOff`, as handOver() does, and goes on serving
   * the rest: the pool evens out the connections a web server keeps open. A connection still
   * waiting for its first request is kept: the web server opened it for a request on its way.
   * Returns how many it passed.
   */
  shed(count: number, handOff: HandOff): number {
    if (this.#ending !== null) return 0;
    let shed = 0;
    for (const open of this.#open.values()) {
      if (shed >= count) break;
      if (!open.evictable || open.connection.requestsBegun === 0) continue;
      open.handOver(handOff);
      shed++;
    }
    return shed;
  }

  /** Kept for callers of the earlier interface: close() without waiting. */
  drain(): void {
    void this.close();
  }

  destroyAll(): void {
    for (const open of [...this.#open.values()]) open.destroy();
    this.#sweep.stop();
    this.#limited.flush();
  }

  #end(each: (open: OpenConnection) => void): Promise<void> {
    this.stopAccepting();
    this.#ending = each;
    for (const open of [...this.#open.values()]) each(open);
    if (this.#open.size === 0) {
      this.#sweep.stop();
      this.#limited.flush();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#emptied.push(resolve));
  }

  #accept(socket: HandleSocket, unread?: Buffer): void {
    const options = this.#options;
    const log = options.log;
    if (options.allowClient && !options.allowClient(socket.remoteAddress)) {
      this.refused++;
      const peer = escapeLogText(String(socket.remoteAddress));
      this.#limited.write("warn", "allowed_clients", `fastcgi: connection from ${peer} refused: not in allowed_clients`);
      socket.destroy();
      return;
    }
    this.accepted++;
    if (this.#open.size >= this.#maxConnections && !this.#makeRoom()) {
      socket.destroy();
      return;
    }
    if (log?.enabled("debug")) log.debug(`fastcgi connection from ${socket.remoteAddress}:${socket.remotePort}`);
    const table = options.table ?? null;
    // The descriptor lets a watchdog thread write the last answer.
    const fd = table === null ? -1 : socket.fd;
    const dispatcher = this.#dispatcher;
    const handler = (request: FcgiRequest) => void dispatcher.dispatch(new FastCgiExchange(request, table, fd, socket));
    const open = new OpenConnection(socket, handler, this.#openOptions, unread);
    if (open.gone) return;
    this.#open.set(socket, open);
    this.#sweep.start();
    this.#ending?.(open);
  }

  /**
   * At max_connections: closes the connection that has carried no request the longest (one
   * never used first, the oldest of those) so the new one is served; false when every
   * connection carries a request. Node's own maxConnections would drop the new one silently,
   * and an idle flood would then shut out the web server for good.
   */
  #makeRoom(): boolean {
    this.maxConnectionsReached++;
    let victim: OpenConnection | null = null;
    for (const open of this.#open.values()) {
      if (!open.evictable) continue;
      if (open.connection.requestsBegun === 0) {
        victim = open;
        break;
      }
      if (victim === null || open.idleSince < victim.idleSince) victim = open;
    }
    const error = new MaxConnectionsError(this.#maxConnections, victim !== null, this.#maxConnections < this.#options.maxConnections);
    this.#limited.write("warn", victim === null ? `${error.code}:refused` : error.code, `fastcgi: ${error.message} [${error.code}]`);
    victim?.destroy();
    return victim !== null;
  }

  #gone(open: OpenConnection): void {
    if (this.#open.get(open.socket) === open) this.#open.delete(open.socket);
    if (this.#open.size > 0 || this.#emptied.length === 0) return;
    this.#sweep.stop();
    this.#limited.flush();
    for (const resolve of this.#emptied.splice(0)) resolve();
  }
}
