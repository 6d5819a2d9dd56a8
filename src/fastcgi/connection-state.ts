// The output side of one connection and its table of active requests, shared by the Connection and its Requests.

import type { BufferPool } from "./buffer-pool.ts";
import type { ScavengePacer } from "./scavenge-pacer.ts";
import { FCGI_HEADER_LEN, FCGI_MAX_CONTENT_LENGTH } from "./constants.ts";
import { PendingParamsTooLargeError } from "./errors.ts";
import type { ParamsLimits } from "./params.ts";
import { writeHeader } from "./record.ts";
import type { Request, RequestConnection } from "./request.ts";
import type { ConnectionOptions, Transport } from "./transport.ts";
import { encodeEndRequest } from "./writer.ts";

const RESOLVED: Promise<void> = Promise.resolve();
const NO_BYTES = new Uint8Array(0);

/** The output side and the request table, shared by the connection and its requests. */
export class ConnectionState implements RequestConnection {
  readonly transport: Transport;
  readonly options: ConnectionOptions;
  readonly paramsLimits: ParamsLimits;
  readonly stdinHighWaterMark: number;
  readonly pool: BufferPool | null;
  readonly scavengePacer: ScavengePacer | null;
  /** Returns true once the transport reads into the pool (or never will): it is not asked again. */
  onStdinRead: (() => boolean) | undefined;
  #stdinReadSettled = false;
  readonly requests = new Map<number, Request>();
  /** No more reading or writing: closed gracefully, destroyed after a fault, detached, or reported closed. */
  dead = false;
  /** Requests begun whose PARAMS are not complete yet. */
  paramsPending = 0;
  /** PARAMS bytes those requests hold, bounded by maxPendingParamsBytes. */
  #paramsBytes = 0;
  #onParamsPending: (() => void) | undefined;
  #onIdle: () => void;
  /** A request without FCGI_KEEP_CONN has ended: close as soon as no request is active. */
  #closeWhenIdle = false;
  /** A request ended before the peer's input did (or was refused): the peer may still be sending. */
  #peerMaySend = false;
  /** Inside Connection.receive(): the rest of the chunk may still end the input of a request that finished. */
  receiving = false;
  /** Ids that finished mid-chunk before their empty STDIN record; settled once the chunk is parsed. */
  #inputOpen: number[] | null = null;
  /** The close waits for the end of the chunk being parsed. */
  closeDue = false;
  #holds = 0;
  /** Reading is held until 'drain': the peer sends faster than it reads what it is answered. */
  #outputHold = false;
  /** One promise for every writer waiting on 'drain', so a blocked write allocates once per stall. */
  #drain: Promise<void> | null = null;
  #drainResolve: (() => void) | null = null;
  #drainListening = false;
  #onDrain = (): void => this.#drained();

  constructor(transport: Transport, options: ConnectionOptions, onParamsPending: (() => void) | undefined, onIdle: () => void) {
    this.transport = transport;
    this.options = options;
    this.paramsLimits = { maxBytes: options.maxParamsBytes, maxPairs: options.maxParamsPairs };
    this.stdinHighWaterMark = options.stdinHighWaterMark;
    this.pool = options.readPool ?? null;
    this.scavengePacer = options.scavengePacer ?? null;
    this.#onParamsPending = onParamsPending;
    this.#onIdle = onIdle;
  }

  stdinRead(): void {
    if (!this.#stdinReadSettled && this.onStdinRead !== undefined) this.#stdinReadSettled = this.onStdinRead();
  }

  send(chunk: Buffer): Promise<void> {
    if (this.dead || this.transport.write(chunk)) return RESOLVED;
    if (this.#drain === null) {
      this.#drain = new Promise((resolve) => (this.#drainResolve = resolve));
      this.#awaitDrain();
    }
    return this.#drain;
  }

  /**
   * Frames `data` as stream records around the caller's own bytes (no copy) in one corked write.
   * Resolves once the bytes were handed to the kernel, so the caller may reuse its buffer then:
   * a streamed response holds at most one chunk per request in memory.
   */
  sendFramed(type: number, requestId: number, data: Uint8Array): Promise<void> {
    if (this.dead) return RESOLVED;
    const t = this.transport;
    t.cork();
    const done = new Promise<void>((resolve) => {
      for (let start = 0; start < data.length;) {
        const n = Math.min(data.length - start, FCGI_MAX_CONTENT_LENGTH);
        const padding = -n & 7;
        const header = Buffer.allocUnsafe(FCGI_HEADER_LEN + padding);
        writeHeader(header, 0, type, requestId, n, padding);
        const last = start + n >= data.length;
        t.write(header.subarray(0, FCGI_HEADER_LEN));
        if (padding === 0) t.write(data.subarray(start, start + n), last ? () => resolve() : undefined);
        else {
          t.write(data.subarray(start, start + n));
          header.fill(0, FCGI_HEADER_LEN);
          t.write(header.subarray(FCGI_HEADER_LEN), last ? () => resolve() : undefined);
        }
        start += n;
      }
    });
    t.uncork();
    return done;
  }

  sendNow(chunk: Buffer): void {
    if (!this.dead) this.transport.write(chunk);
  }

  paramsBegun(): void {
    if (++this.paramsPending === 1) this.#onParamsPending?.();
  }

  paramsArrived(bytes: number): void {
    this.#paramsBytes += bytes;
    // Unfinished PARAMS of many ids would otherwise pin maxParamsBytes per id (up to 65,535 ids).
    if (this.#paramsBytes > this.options.maxPendingParamsBytes) throw new PendingParamsTooLargeError(this.options.maxPendingParamsBytes);
  }

  paramsSettled(bytes: number): void {
    this.#paramsBytes -= bytes;
    this.paramsPending--;
  }

  finished(request: Request): void {
    if (this.requests.get(request.id) === request) this.requests.delete(request.id);
    if (!request.inputComplete) {
      // A GET answered as its PARAMS end usually has its empty STDIN record later in the same chunk.
      if (this.receiving) (this.#inputOpen ??= []).push(request.id);
      else this.#peerMaySend = true;
    }
    // Section 5.1: without FCGI_KEEP_CONN "the application closes the connection after
    // responding to this request"; other requests multiplexed on it finish first.
    if (!request.keepConn) this.#closeWhenIdle = true;
    this.#afterRequest();
  }

  /** Answers a BEGIN_REQUEST with a refusal (section 5.5); the id never becomes active. */
  refuse(requestId: number, protocolStatus: number, keepConn: boolean): void {
    this.sendNow(encodeEndRequest(requestId, 0, protocolStatus));
    this.#peerMaySend = true;
    if (!keepConn) this.#closeWhenIdle = true;
    this.#afterRequest();
  }

  /** An empty STDIN record for an id no longer active: that request's input has ended after all. */
  inputEnded(requestId: number): void {
    const open = this.#inputOpen;
    if (open === null) return;
    const at = open.indexOf(requestId);
    if (at >= 0) open.splice(at, 1);
  }

  /** The chunk Connection.receive() was given is parsed, and its replies were handed to the transport. */
  chunkParsed(): void {
    if (this.#inputOpen !== null) {
      if (this.#inputOpen.length > 0) this.#peerMaySend = true;
      this.#inputOpen = null;
    }
    if (this.closeDue) {
      this.closeDue = false;
      this.#closeGracefully();
    }
  }

  #afterRequest(): void {
    if (this.requests.size > 0) return;
    if (this.#closeWhenIdle) {
      // Mid-chunk, the rest of the chunk says whether the peer's input has ended (chunkParsed).
      if (this.receiving) this.closeDue = true;
      else this.#closeGracefully();
      return;
    }
    if (!this.dead) this.#onIdle();
  }

  hold(): void {
    if (this.#holds++ === 0 && !this.dead) this.transport.pause();
  }

  release(): void {
    if (--this.#holds === 0 && !this.dead) this.transport.resume();
  }

  /**
   * After a chunk was parsed: when the answers to it are still queued beyond the transport's
   * high-water mark, reading stops until 'drain', so a peer that sends without reading (a flood
   * of management records) is bounded by the socket buffers instead of by memory.
   */
  holdForOutput(): void {
    const t = this.transport;
    if (this.dead || this.#outputHold || !t.writableNeedDrain || t.writableLength === 0) return;
    this.#outputHold = true;
    this.hold();
    this.#awaitDrain();
  }

  log(level: "warn" | "error", message: string, code?: string): void {
    this.options.log?.(level, message, code);
  }

  /** Stops all I/O: waiting writers are released (their output is dropped from now on). */
  shutdown(): void {
    this.dead = true;
    if (this.#drainListening) {
      this.#drainListening = false;
      this.transport.off("drain", this.#onDrain);
    }
    this.#settleDrain();
  }

  #closeGracefully(): void {
    if (this.dead) return;
    this.shutdown();
    const transport = this.transport;
    // A peer that may still be sending gets a half-close and is read to its end, so its last
    // bytes do not meet a reset. One that sent all its input is closed once the answer reached
    // the kernel: no shutdown, no wait for its FIN, 3 system calls and a loop turn fewer.
    if (this.#peerMaySend) transport.end();
    else if (transport.writableLength === 0) transport.destroy();
    else transport.write(NO_BYTES, () => transport.destroy());
  }

  #awaitDrain(): void {
    if (this.#drainListening) return;
    this.#drainListening = true;
    this.transport.once("drain", this.#onDrain);
  }

  #drained(): void {
    this.#drainListening = false;
    this.#settleDrain();
    if (this.#outputHold) {
      this.#outputHold = false;
      this.release();
    }
  }

  #settleDrain(): void {
    const resolve = this.#drainResolve;
    this.#drain = null;
    this.#drainResolve = null;
    resolve?.();
  }
}
