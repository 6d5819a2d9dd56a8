// An accepted connection read and written through its libuv handle, without net.Socket's streams.
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { constants } from "node:os";
import { getSystemErrorName } from "node:util";
import { streamWrap, UV_EOF, type StreamHandle, type StreamRequest } from "../node-internals.ts";

/** A connection a worker serves: FastCGI on a HandleSocket, the HTTP front on node:http's net.Socket. */
export type ConnectionSocket = Socket | HandleSocket;

type WriteCallback = (error?: Error | null) => void;

/** net.Socket's default: write() returns false once this much waits to reach the kernel. */
const HIGH_WATER_MARK = 16 * 1024;

/** A failed socket call, worded and coded as Node's own (`read ECONNRESET`, code ECONNRESET). */
export function uvError(status: number, syscall: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(status);
  return Object.assign(new Error(`${syscall} ${code}`), { errno: status, code, syscall });
}

const EPIPE = -constants.errno.EPIPE;
const ECANCELED = -constants.errno.ECANCELED;

/**
 * A WriteWrap no write holds. Node binds one to a write only when the kernel did not take all of
 * it at once; the others leave it untouched, so it serves the next write (of any connection)
 * instead of a new one per write.
 */
let spareWrite: StreamRequest | null = null;

function callAll(callbacks: WriteCallback[] | null, error: Error | null): void {
  if (callbacks !== null) for (const callback of callbacks) callback(error);
}

/**
 * A connection's handle with the part of net.Socket's interface tscgi uses: 'data', 'error',
 * 'close' and 'drain' events, write() with callbacks, cork(), end(), destroy(), pause() and
 * resume(). A connection per request costs a third less CPU than with a net.Socket, whose
 * Duplex stream is most of what Node spends on one (docs/pool.md, "Sockets").
 * It differs from a net.Socket in one way: it reads only once resumed, and pause() stops reading
 * at once, so it never buffers input.
 */
export class HandleSocket extends EventEmitter {
  readonly handle: StreamHandle;
  destroyed = false;
  /** Bytes read from the peer so far. */
  bytesRead = 0;
  #reading = false;
  #corked = 0;
  /** Written while corked, sent as one write at the last uncork(). */
  #queued: Uint8Array[] = [];
  #queuedBytes = 0;
  #queuedCallbacks: WriteCallback[] | null = null;
  /** Bytes handed to libuv that the kernel has not taken yet. */
  #inFlight = 0;
  #needDrain = false;
  /** end() was called: no more writes; the write side is shut down once the queue is out. */
  #ending = false;
  #writeShut = false;
  /** The peer shut its write side (EOF). */
  #readEnded = false;
  /** Set by readInto(): reads land in these buffers instead of new ones. */
  #userBuffer: Buffer | null = null;
  #take: (() => Buffer) | null = null;
  #onUserRead: ((bytes: number, buf: Buffer) => void) | null = null;
  #peer: { address?: string; port?: number } | null = null;

  constructor(handle: StreamHandle) {
    super();
    this.handle = handle;
    handle.onread = (arrayBuffer) => this.#read(arrayBuffer);
  }

  get fd(): number {
    return typeof this.handle.fd === "number" ? this.handle.fd : -1;
  }

  get remoteAddress(): string | undefined {
    return this.#peerName().address;
  }

  get remotePort(): number | undefined {
    return this.#peerName().port;
  }

  /** Bytes written and not yet taken by the kernel, corked ones included. */
  get writableLength(): number {
    return this.#queuedBytes + this.#inFlight;
  }

  get writableNeedDrain(): boolean {
    return this.#needDrain;
  }

  /** Stops reading at the libuv level: what is not read yet stays in the kernel. */
  pause(): this {
    if (this.#reading && !this.destroyed) {
      this.#reading = false;
      this.handle.readStop();
      this.emit("pause");
    }
    return this;
  }

  isPaused(): boolean {
    return !this.#reading;
  }

  resume(): this {
    if (!this.#reading && !this.destroyed && !this.#readEnded) {
      this.#reading = true;
      const status = this.handle.readStart();
      if (status !== 0) this.destroy(uvError(status, "read"));
    }
    return this;
  }

  /**
   * From now on reads go into buffers from `take()`, each handed to `onRead` with its length
   * (the `onread` option net.connect has); the buffer is the callee's until then.
   */
  readInto(take: () => Buffer, onRead: (bytes: number, buf: Buffer) => void): void {
    this.#take = take;
    this.#onUserRead = onRead;
    this.#userBuffer = take();
    this.handle.useUserBuffer(this.#userBuffer);
  }

  write(chunk: Uint8Array, callback?: WriteCallback): boolean {
    if (this.destroyed || this.#ending) {
      if (callback !== undefined) process.nextTick(callback, uvError(EPIPE, "write"));
      // Written after the end is an EPIPE, as net.Socket makes it after the peer's FIN.
      if (!this.destroyed && this.#readEnded) this.destroy(uvError(EPIPE, "write"));
      return false;
    }
    this.#queued.push(chunk);
    this.#queuedBytes += chunk.byteLength;
    if (callback !== undefined) (this.#queuedCallbacks ??= []).push(callback);
    if (this.#corked === 0) this.#flush();
    if (this.writableLength < HIGH_WATER_MARK) return true;
    this.#needDrain = true;
    return false;
  }

  cork(): void {
    this.#corked++;
  }

  uncork(): void {
    if (this.#corked > 0 && --this.#corked === 0) this.#flush();
  }

  /** Shuts the write side down once everything written is out, and closes at the peer's EOF. */
  end(): void {
    if (this.destroyed || this.#ending) return;
    this.#ending = true;
    this.#corked = 0;
    this.#flush();
    if (this.#inFlight === 0) this.#shutdown();
    // The peer's EOF closes the connection: read on to it.
    this.resume();
  }

  destroy(error?: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.#reading = false;
    const callbacks = this.#queuedCallbacks;
    this.#queued = [];
    this.#queuedBytes = 0;
    this.#queuedCallbacks = null;
    if (callbacks !== null) process.nextTick(callAll, callbacks, error ?? uvError(ECANCELED, "write"));
    // Writes still in libuv's hands complete with ECANCELED when the handle closes.
    this.handle.close(() => {
      if (error !== undefined && this.listenerCount("error") > 0) this.emit("error", error);
      this.emit("close", error !== undefined);
    });
  }

  #flush(): void {
    const chunks = this.#queued;
    if (chunks.length === 0 || this.destroyed) return;
    const bytes = this.#queuedBytes;
    const callbacks = this.#queuedCallbacks;
    this.#queued = [];
    this.#queuedBytes = 0;
    this.#queuedCallbacks = null;
    const binding = streamWrap();
    const req = spareWrite ?? new binding.WriteWrap();
    spareWrite = null;
    const status = chunks.length === 1 ? this.handle.writeBuffer(req, chunks[0]) : this.handle.writev(req, chunks, true);
    if (status !== 0) {
      const error = uvError(status, "write");
      this.destroy(error);
      if (callbacks !== null) process.nextTick(callAll, callbacks, error);
      return;
    }
    if (binding.streamBaseState[binding.kLastWriteWasAsync] !== 0) {
      // libuv completes a write in a later turn of the loop, never inside the call: set up for it
      // now. It holds on to the chunks until then; keep them alive.
      req.handle = this.handle;
      req.oncomplete = (status) => this.#written(bytes, callbacks, status);
      (req as StreamRequest & { chunks?: Uint8Array[] }).chunks = chunks;
      this.#inFlight += bytes;
      return;
    }
    spareWrite = req;
    if (callbacks !== null || this.#needDrain) {
      // As with a net.Socket, callbacks never run inside write(), and a write() that returned
      // false (corked bytes over the mark) is followed by 'drain' even when the kernel took all.
      process.nextTick(() => this.#written(0, callbacks, 0));
    }
  }

  #written(bytes: number, callbacks: WriteCallback[] | null, status: number): void {
    this.#inFlight -= bytes;
    const error = status < 0 ? uvError(status, "write") : null;
    if (error !== null) this.destroy(error);
    callAll(callbacks, error);
    if (this.destroyed || this.#inFlight > 0) return;
    if (this.#ending) this.#shutdown();
    else if (this.#needDrain && this.#queuedBytes === 0) {
      this.#needDrain = false;
      this.emit("drain");
    }
  }

  #shutdown(): void {
    if (this.#writeShut || this.destroyed) return;
    this.#writeShut = true;
    const binding = streamWrap();
    const req = new binding.ShutdownWrap();
    req.handle = this.handle;
    req.oncomplete = (status) => {
      if (status < 0 || this.#readEnded) this.destroy();
    };
    const status = this.handle.shutdown(req);
    if (status !== 0) this.destroy();
  }

  #read(arrayBuffer: ArrayBuffer | undefined): Uint8Array | undefined {
    if (this.destroyed) return undefined;
    const binding = streamWrap();
    const n = binding.streamBaseState[binding.kReadBytesOrError];
    if (n > 0) {
      this.bytesRead += n;
      const userBuffer = this.#userBuffer;
      if (userBuffer === null) {
        this.emit("data", Buffer.from(arrayBuffer!, binding.streamBaseState[binding.kArrayBufferOffset], n));
        return undefined;
      }
      this.#onUserRead!(n, userBuffer);
      if (this.destroyed) return undefined;
      // The returned buffer is where libuv reads next.
      return (this.#userBuffer = this.#take!());
    }
    if (n === 0) return undefined;
    if (n !== UV_EOF) {
      this.destroy(uvError(n, "read"));
      return undefined;
    }
    // The peer is done sending: finish writing, then close (net.Socket without allowHalfOpen).
    this.#readEnded = true;
    this.pause();
    if (this.#writeShut) this.destroy();
    else this.end();
    return undefined;
  }

  #peerName(): { address?: string; port?: number } {
    if (this.#peer === null) {
      const out: { address?: string; port?: number } = {};
      if (!this.destroyed) this.handle.getpeername?.(out);
      this.#peer = out;
    }
    return this.#peer;
  }
}
