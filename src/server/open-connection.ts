// One open FastCGI socket: its protocol Connection, its timeouts, and how it is closed or handed over.
import { Connection, type RequestHandler } from "../fastcgi/connection.ts";
import type { ConnectionOptions } from "../fastcgi/transport.ts";
import { ParamsTimeoutError } from "../fastcgi/errors.ts";
import type { HandleSocket } from "./handle-socket.ts";

export interface OpenConnectionOptions {
  connection: ConnectionOptions;
  /** Milliseconds from accept, or from a BEGIN_REQUEST, to complete the PARAMS; 0 = no limit. */
  paramsTimeout: number;
  /** Milliseconds a kept-alive connection may carry no request; 0 = no limit. */
  keepaliveTimeout: number;
  /** The connection left this process's hands: closed, destroyed or handed over. Called once. */
  gone(open: OpenConnection): void;
  /** The connection is being closed for params_timeout (for the caller's rate-limited log). */
  timedOut(open: OpenConnection, error: ParamsTimeoutError): void;
  /** The hand-over callback threw; the connection was closed. */
  handOffFailed(error: unknown): void;
}

export type HandOff = (socket: HandleSocket, unread: Buffer) => void;

const EMPTY = Buffer.alloc(0);

/** Who reads a socket that reads into the pool: its reads keep going to the callback set first, also after an in-process hand-over. */
const poolReader = new WeakMap<HandleSocket, OpenConnection>();

type Mode = "serving" | "closing" | "handing";

/** A timer that does not keep the process alive: the socket it watches does that. */
function unrefTimer(callback: () => void, ms: number): NodeJS.Timeout {
  const timer = setTimeout(callback, ms);
  timer.unref();
  return timer;
}

export class OpenConnection {
  readonly socket: HandleSocket;
  readonly connection: Connection;
  /** performance.now() at accept (or adoption). */
  readonly acceptedAt = performance.now();
  /** performance.now() when the last request ended; for keepalive_timeout and for choosing which connection makes room. */
  idleSince = this.acceptedAt;
  /** performance.now() when the connection began waiting for a request's PARAMS (first, its accept). */
  #paramsSince = this.acceptedAt;
  readonly #options: OpenConnectionOptions;
  #mode: Mode = "serving";
  #gone = false;
  #grace: NodeJS.Timeout | null = null;
  #handOff: HandOff | null = null;
  #flushing = false;
  /** Reading into the connection options' readPool (see #readIntoPool). */
  #pooled = false;
  readonly #onData = (chunk: Buffer): void => this.connection.receive(chunk);
  readonly #onError = (): void => void this.socket.destroy();

  /**
   * From the first read of a request body on, reads go into the pool's reused buffers: a long
   * upload then costs a few of them instead of one per read (a script keeping its chunks gets
   * copies, one per socket read, see Request.#take). Not before, as a socket reading
   * into the pool holds a buffer even while idle.
   */
  #readIntoPool(): boolean {
    const pool = this.#options.connection.readPool;
    const socket = this.socket;
    if (this.#pooled || this.#gone || pool === undefined) return true;
    socket.readInto(
      () => pool.take(),
      (bytes, buf) => {
        const owner = poolReader.get(socket)!;
        if (!owner.#gone) owner.connection.receive(buf.subarray(0, bytes));
        // The read's hold on its buffer; records kept past this point retained it (see Request.pushStdin).
        pool.release(buf);
      },
    );
    this.#pooled = true;
    poolReader.set(socket, this);
    return true;
  }

  readonly #onClose = (): void => {
    if (this.#gone) return;
    this.#forget();
    this.connection.closed();
  };

  /** `unread`: bytes a previous owner read from the socket and did not parse; they come first. */
  constructor(socket: HandleSocket, handler: RequestHandler, options: OpenConnectionOptions, unread?: Buffer) {
    this.socket = socket;
    this.#options = options;
    this.connection = new Connection(socket, handler, options.connection, {
      paramsPending: () => (this.#paramsSince = performance.now()),
      idle: () => this.#idle(),
      stdinRead: () => this.#readIntoPool(),
    });
    // Each clock only notes when its phase began; the owner's one sweep (see checkTimeouts) reads
    // them, so neither a connection nor a request costs timer work.
    socket.on("data", this.#onData);
    if (poolReader.has(socket)) {
      poolReader.set(socket, this);
      this.#pooled = true;
    }
    socket.on("error", this.#onError);
    socket.on("close", this.#onClose);
    if (unread !== undefined && unread.length > 0) this.connection.receive(unread);
    // A handle adopted from another owner here was paused by it (see #detach).
    socket.resume();
  }

  get gone(): boolean {
    return this.#gone;
  }

  /** Carries no request and is not closing or handed over: may be closed to make room for a new connection. */
  get evictable(): boolean {
    const c = this.connection;
    return !this.#gone && this.#mode === "serving" && c.activeRequests === 0 && !c.paramsPending;
  }

  /**
   * Stopping for good: closed once it carries no request and its output reached the kernel. A
   * connection that has not begun its first request yet gets until `grace` after its accept: it
   * was opened for a request on its way.
   */
  close(grace: number): void {
    if (this.#gone || this.#mode !== "serving") return;
    this.#mode = "closing";
    const left = grace - (performance.now() - this.acceptedAt);
    if (this.connection.requestsBegun === 0 && left > 0) {
      this.#grace = unrefTimer(() => {
        this.#grace = null;
        this.#quiesce();
      }, left);
      return;
    }
    this.#quiesce();
  }

  /** Retiring: handed to `handOff` at the first record boundary where it carries no request. */
  handOver(handOff: HandOff): void {
    if (this.#gone || this.#mode === "handing") return;
    this.#mode = "handing";
    this.#handOff = handOff;
    if (this.#grace !== null) clearTimeout(this.#grace);
    this.#grace = null;
    this.#quiesce();
  }

  /** Closes at once; requests on it are aborted. */
  destroy(): void {
    if (this.#gone) return;
    this.#forget();
    this.socket.destroy();
    this.connection.closed();
  }

  #quiesce(): void {
    this.connection.quiesce(() => this.#settle());
  }

  #idle(): void {
    this.idleSince = performance.now();
    // Closing: a connection waiting out its grace is closed once its first request ended.
    if (this.#grace !== null) {
      clearTimeout(this.#grace);
      this.#grace = null;
      this.#quiesce();
    }
  }

  /**
   * Closes the connection when a clock ran out: params_timeout while some request (or the first,
   * from accept) waits for its PARAMS; keepalive_timeout while a used connection carries no
   * request. Called by the owner's sweep, so a deadline is met within one sweep period.
   */
  checkTimeouts(now: number): void {
    if (this.#gone) return;
    const c = this.connection;
    const params = this.#options.paramsTimeout;
    const waiting = c.paramsPending || c.requestsBegun === 0;
    if (params > 0 && waiting && now - this.#paramsSince >= params) {
      this.#options.timedOut(this, new ParamsTimeoutError(params));
      this.destroy();
      return;
    }
    const keepalive = this.#options.keepaliveTimeout;
    // The default is longer than a web server's own keep-alive timeout, so this is a peer gone quiet.
    if (keepalive > 0 && !waiting && c.activeRequests === 0 && now - this.idleSince >= keepalive) this.destroy();
  }

  /** Quiet: no request active, no partial record held. Closed or handed over once written out. */
  #settle(): void {
    const socket = this.socket;
    // A destroyed socket is past saving; its 'close' event finishes the bookkeeping.
    if (this.#gone || socket.destroyed || !this.connection.quiet) return;
    if (socket.writableLength > 0) {
      // An END_REQUEST still queued here would be lost with the socket; the callback of an empty
      // write runs once everything before it reached the kernel.
      if (!this.#flushing) {
        this.#flushing = true;
        socket.write(EMPTY, () => {
          this.#flushing = false;
          this.#settle();
        });
      }
      return;
    }
    if (this.#mode === "closing") this.destroy();
    else if (this.#mode === "handing") this.#detach();
  }

  #detach(): void {
    const socket = this.socket;
    // No byte is taken from the kernel that the next owner would not get.
    socket.pause();
    const unread = this.connection.detach() ?? EMPTY;
    const handOff = this.#handOff!;
    this.#forget();
    try {
      handOff(socket, unread);
    } catch (error) {
      // This runs inside the request's end(): a failed hand-over costs the connection, not the script.
      this.#options.handOffFailed(error);
      socket.destroy();
    }
  }

  #forget(): void {
    this.#gone = true;
    this.socket.off("data", this.#onData);
    this.socket.off("error", this.#onError);
    this.socket.off("close", this.#onClose);
    if (this.#grace !== null) clearTimeout(this.#grace);
    this.#grace = null;
    this.#options.gone(this);
  }
}
