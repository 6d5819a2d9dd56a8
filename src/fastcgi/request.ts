// One FastCGI request as the handler sees it: params, the STDIN stream in, STDOUT/STDERR out, the end.

import type { BufferPool } from "./buffer-pool.ts";
import type { ScavengePacer } from "./scavenge-pacer.ts";
import { ABORTED_APP_STATUS, ProtocolStatus, RecordType } from "./constants.ts";
import { ParamsDecoder, type ParamsLimits } from "./params.ts";
import { encodeEndRequest, encodeResponseEnd, encodeStream } from "./writer.ts";

/** What a request needs from its connection; kept narrow so a request never reaches the socket. */
export interface RequestConnection {
  readonly paramsLimits: ParamsLimits;
  readonly stdinHighWaterMark: number;
  /** Set when records are views into reused read buffers: a STDIN chunk kept past its read is retained in it. */
  readonly pool: BufferPool | null;
  /** Told the bytes of each chunk handed to a reader (see ScavengePacer). */
  readonly scavengePacer: ScavengePacer | null;
  /**
   * A request's STDIN is being read (called at each read). Every chunk a request hands out is a
   * copy or given back (see Request.#take), so the transport may start reading into the pool.
   */
  stdinRead(): void;
  /** Writes and returns a promise for "OK to write more" (dropped once the connection is gone). */
  send(chunk: Buffer): Promise<void>;
  sendFramed(type: number, requestId: number, data: Uint8Array): Promise<void>;
  /** Writes without waiting: small records the protocol requires regardless of backpressure. */
  sendNow(chunk: Buffer): void;
  /** `bytes` more PARAMS arrived for a request whose PARAMS are not complete; throws over the connection's cap. */
  paramsArrived(bytes: number): void;
  /** A request's PARAMS are complete, or it ended first: the `bytes` it held no longer count. */
  paramsSettled(bytes: number): void;
  /** The request's END_REQUEST went out: forget its id (and close if the web server asked). */
  finished(request: Request): void;
  /** One more request is over its STDIN high-water mark: stop reading the socket. */
  hold(): void;
  /** One request fewer is over its STDIN high-water mark. */
  release(): void;
}

/** One request as the handler sees it; Request is its implementation. */
export interface FcgiRequest {
  readonly id: number;
  /** Responder and Authorizer reach the handler; Filter is answered FCGI_UNKNOWN_ROLE by the connection. */
  readonly role: number;
  readonly keepConn: boolean;
  /** Null-prototype and complete: the handler runs when the empty PARAMS record arrives, not waiting for STDIN. */
  readonly params: Record<string, string>;
  /** Next STDIN chunk, or null once the empty STDIN record has arrived. Rejects once the request was aborted or the connection closed. Reading lowers the buffered amount (backpressure release). */
  readStdin(): Promise<Uint8Array | null>;
  /** The reader is done with a chunk readStdin gave (and every view of it): its memory may be reused. Optional: a chunk never given back is left to the garbage collector. */
  releaseStdin(chunk: Uint8Array): void;
  /** The reader will give back every chunk it reads (releaseStdin): from the first read on, chunks come one by one as views into the read buffers, none joined into a copy. */
  lendStdin(): void;
  /** Fires on FCGI_ABORT_REQUEST or when the connection closes before END_REQUEST. Created on first access; already aborted if the abort came first. */
  readonly signal: AbortSignal;
  /** Calls `listener` once when `signal` would fire, with its reason (at once if it already has), without building the signal; returns its remover. */
  onAbort(listener: (reason: Error) => void): () => void;
  readonly aborted: boolean;
  /** Writes STDOUT records; resolves when it is OK to write more. Without backpressure the promise is shared and already resolved. After abort or end, output is dropped and the promise resolves. */
  writeStdout(chunk: Uint8Array): Promise<void>;
  writeStderr(chunk: Uint8Array): void;
  /** Ends the request: lastStdout, the stream terminators and END_REQUEST(appStatus, protocolStatus, by default FCGI_REQUEST_COMPLETE) in one write. Idempotent; after an abort it sends nothing. Closes the connection afterwards when !keepConn and no other request is active. */
  end(appStatus?: number, lastStdout?: Uint8Array, protocolStatus?: number): void;
}

interface StdinWaiter {
  resolve(chunk: Uint8Array | null): void;
  reject(error: Error): void;
}

/** Shared results, so the fast paths allocate no promise. */
const RESOLVED: Promise<void> = Promise.resolve();
/** STDOUT chunks from this size on are written by reference instead of copied (see ConnectionState.sendFramed). */
export const FRAME_BY_REFERENCE = 16 * 1024;
const STDIN_END: Promise<Uint8Array | null> = Promise.resolve(null);
const NO_PARAMS: Record<string, string> = Object.freeze(Object.create(null) as Record<string, string>);
const NOTHING = (): void => {};

export class Request implements FcgiRequest {
  readonly id: number;
  readonly role: number;
  readonly keepConn: boolean;
  #connection: RequestConnection;
  #params = NO_PARAMS;
  #paramsDone = false;
  #paramsBytes = 0;
  #decoder: ParamsDecoder | null = null;
  /** Received, unread STDIN chunks; null until the first chunk nobody was waiting for. */
  #stdin: Uint8Array[] | null = null;
  #stdinBuffered = 0;
  #stdinEnded = false;
  #holding = false;
  /** The reader gives chunks back (releaseStdin): later ones stay in the read buffers. */
  #releasing = false;
  #waiters: StdinWaiter[] | null = null;
  /** A waiter is served once the socket read being parsed is over, with all of it (see #deliver). */
  #delivering = false;
  /** END_REQUEST sent, or the connection is gone: all further output is dropped. */
  #ended = false;
  #stderrSent = false;
  #abortReason: Error | null = null;
  #controller: AbortController | null = null;
  #signal: AbortSignal | null = null;
  #abortListeners: ((reason: Error) => void)[] | null = null;

  constructor(connection: RequestConnection, id: number, role: number, keepConn: boolean) {
    this.#connection = connection;
    this.id = id;
    this.role = role;
    this.keepConn = keepConn;
  }

  get params(): Record<string, string> {
    return this.#params;
  }

  /** The peer sent the empty STDIN record: it has nothing more to send for this request. */
  get inputComplete(): boolean {
    return this.#stdinEnded;
  }

  get aborted(): boolean {
    return this.#abortReason !== null;
  }

  /** Lazy: most requests are never aborted and most handlers never look (DESIGN.md, performance notes). */
  get signal(): AbortSignal {
    if (this.#signal === null) {
      if (this.#abortReason !== null) {
        this.#signal = AbortSignal.abort(this.#abortReason);
      } else {
        this.#controller = new AbortController();
        this.#signal = this.#controller.signal;
      }
    }
    return this.#signal;
  }

  onAbort(listener: (reason: Error) => void): () => void {
    if (this.#abortReason !== null) {
      listener(this.#abortReason);
      return NOTHING;
    }
    // Ended without an abort: it never comes.
    if (this.#ended) return NOTHING;
    (this.#abortListeners ??= []).push(listener);
    return () => {
      const listeners = this.#abortListeners;
      const at = listeners?.indexOf(listener) ?? -1;
      if (at >= 0) listeners?.splice(at, 1);
    };
  }

  readStdin(): Promise<Uint8Array | null> {
    if (this.#abortReason !== null) return Promise.reject(this.#abortReason);
    this.#connection.stdinRead();
    const queue = this.#stdin;
    const waiting = this.#waiters !== null && this.#waiters.length > 0;
    // Earlier readers are served first: they wait for the delivery already scheduled.
    if (queue !== null && queue.length > 0 && !waiting) return Promise.resolve(this.#take(queue));
    if ((this.#stdinEnded || this.#ended) && !waiting) return STDIN_END;
    return new Promise((resolve, reject) => {
      (this.#waiters ??= []).push({ resolve, reject });
    });
  }

  releaseStdin(chunk: Uint8Array): void {
    this.#releasing = true;
    this.#connection.pool?.release(chunk);
  }

  lendStdin(): void {
    this.#releasing = true;
  }

  writeStdout(chunk: Uint8Array): Promise<void> {
    // An empty STDOUT record would end the stream (section 3.3), so empty writes send nothing.
    if (this.#ended || chunk.length === 0) return RESOLVED;
    // Large chunks are framed around the script's own bytes; small ones are cheaper copied into one buffer.
    if (chunk.length >= FRAME_BY_REFERENCE) return this.#connection.sendFramed(RecordType.Stdout, this.id, chunk);
    return this.#connection.send(encodeStream(RecordType.Stdout, this.id, chunk));
  }

  writeStderr(chunk: Uint8Array): void {
    if (this.#ended || chunk.length === 0) return;
    this.#stderrSent = true;
    this.#connection.sendNow(encodeStream(RecordType.Stderr, this.id, chunk));
  }

  end(appStatus = 0, lastStdout?: Uint8Array, protocolStatus: number = ProtocolStatus.RequestComplete): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#settleParams();
    const last = lastStdout !== undefined && lastStdout.length > 0 ? lastStdout : undefined;
    this.#connection.sendNow(encodeResponseEnd(this.id, appStatus, protocolStatus, last, this.#stderrSent));
    this.#dropStdin();
    this.#settleWaiters(null);
    this.#abortListeners = null;
    this.#connection.finished(this);
  }

  // The methods below are the connection's side of the request; handlers see only FcgiRequest.

  /**
   * Feeds one PARAMS record. Returns true when this record was the empty one that ends the
   * stream, i.e. the params are complete and the handler may run. Records after that are ignored.
   */
  pushParams(content: Buffer): boolean {
    if (this.#paramsDone) return false;
    if (content.length > 0) {
      this.#paramsBytes += content.length;
      this.#connection.paramsArrived(content.length);
      (this.#decoder ??= new ParamsDecoder(this.#connection.paramsLimits)).push(content);
      return false;
    }
    const decoder = this.#decoder;
    this.#settleParams();
    this.#params = decoder === null ? (Object.create(null) as Record<string, string>) : decoder.end();
    return true;
  }

  /** The PARAMS stream is over (complete, or the request ended first): its bytes stop counting. */
  #settleParams(): void {
    if (this.#paramsDone) return;
    this.#paramsDone = true;
    this.#decoder = null;
    this.#connection.paramsSettled(this.#paramsBytes);
  }

  /** Feeds one STDIN record; the empty one ends the stream (section 5.3). */
  pushStdin(content: Buffer): void {
    if (this.#stdinEnded || this.#ended) return;
    if (content.length === 0) {
      this.#stdinEnded = true;
      // With data still queued, the scheduled delivery gives it first and then the end.
      if (this.#stdin === null || this.#stdin.length === 0) this.#settleWaiters(null);
      return;
    }
    // A view into a reused read buffer stays in it until it is handed out (see #take).
    const pool = this.#connection.pool;
    if (pool !== null && pool.owns(content)) pool.retain(content);
    (this.#stdin ??= []).push(content);
    this.#stdinBuffered += content.length;
    if (!this.#delivering && this.#waiters !== null && this.#waiters.length > 0) {
      // Not now: the rest of this socket read's records are parsed before any reader runs, so a
      // waiter gets them all at once rather than one record (8 KiB from nginx) per turn.
      this.#delivering = true;
      queueMicrotask(() => this.#deliver());
    }
    if (!this.#holding && this.#stdinBuffered > this.#connection.stdinHighWaterMark) {
      this.#holding = true;
      this.#connection.hold();
    }
  }

  /**
   * Ends the request from outside: FCGI_ABORT_REQUEST (`answer` true: END_REQUEST goes out now)
   * or the connection closing (`answer` false: there is nobody to answer). Section 5.4: "the
   * application responds as soon as possible with {FCGI_END_REQUEST, R, {FCGI_REQUEST_COMPLETE,
   * appStatus}}"; it is sent here rather than when the script notices, so a script that ignores
   * its signal cannot hold the request id. The script's later output and end() are dropped.
   */
  abort(reason: Error, answer: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#abortReason = reason;
    this.#settleParams();
    if (answer) this.#connection.sendNow(encodeEndRequest(this.id, ABORTED_APP_STATUS, ProtocolStatus.RequestComplete));
    this.#dropStdin();
    this.#settleWaiters(reason);
    if (answer) this.#connection.finished(this);
    // Last, once the request's state is final: listeners run synchronously and may call end().
    const listeners = this.#abortListeners;
    this.#abortListeners = null;
    if (listeners !== null) for (const listener of listeners) listener(reason);
    this.#controller?.abort(reason);
  }

  #deliver(): void {
    this.#delivering = false;
    const queue = this.#stdin;
    const waiters = this.#waiters;
    if (queue === null || waiters === null) return;
    while (queue.length > 0) {
      const waiter = waiters.shift();
      if (waiter === undefined) break;
      waiter.resolve(this.#take(queue));
    }
    if (this.#stdinEnded && queue.length === 0) this.#settleWaiters(null);
  }

  /**
   * The next chunk for a reader, from a non-empty queue. A reader that gives chunks back gets
   * them one by one, as views into the read buffers. One that keeps them gets everything queued
   * as one chunk: a copy when it joins several records or is a view into a reused read buffer
   * (which a kept view would pin whole), the chunk itself otherwise.
   */
  #take(queue: Uint8Array[]): Uint8Array {
    const pool = this.#connection.pool;
    let chunk = queue[0];
    if (this.#releasing) {
      queue.shift();
    } else if (queue.length === 1 && (pool === null || !pool.owns(chunk))) {
      queue.length = 0;
    } else {
      chunk = joinChunks(queue);
      if (pool !== null) for (const view of queue) pool.release(view);
      queue.length = 0;
    }
    // What the script makes of the body (its chunks, the buffer it copies them into) is garbage
    // outside V8's heap once the request is over: collected at the pace of its bytes.
    this.#connection.scavengePacer?.allocated(chunk.length);
    this.#drained(chunk.length);
    return chunk;
  }

  #drained(length: number): void {
    this.#stdinBuffered -= length;
    if (this.#holding && this.#stdinBuffered <= this.#connection.stdinHighWaterMark) {
      this.#holding = false;
      this.#connection.release();
    }
  }

  #dropStdin(): void {
    const pool = this.#connection.pool;
    // Never handed out, so no reader holds them (copies are not the pool's, and are ignored).
    if (pool !== null && this.#stdin !== null) for (const chunk of this.#stdin) pool.release(chunk);
    this.#stdin = null;
    this.#stdinBuffered = 0;
    if (this.#holding) {
      this.#holding = false;
      this.#connection.release();
    }
  }

  #settleWaiters(outcome: Error | null): void {
    const waiters = this.#waiters;
    if (waiters === null) return;
    this.#waiters = null;
    for (const waiter of waiters) {
      if (outcome === null) waiter.resolve(null);
      else waiter.reject(outcome);
    }
  }
}

/** `chunks` copied into one buffer. */
function joinChunks(chunks: readonly Uint8Array[]): Buffer {
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
