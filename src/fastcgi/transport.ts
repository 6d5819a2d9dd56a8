// What a connection is given: the transport it reads and writes, and the options it enforces.

import type { BufferPool } from "./buffer-pool.ts";
import type { ScavengePacer } from "./scavenge-pacer.ts";

/** What a connection needs from its socket; node:net's Socket satisfies it structurally. node:net itself is NOT imported in src/fastcgi. */
export interface Transport {
  /** false = kernel buffer full, wait for 'drain'; the callback runs once the chunk was handed to the kernel (or failed). */
  write(chunk: Uint8Array, callback?: (error?: Error | null) => void): boolean;
  cork(): void;
  uncork(): void;
  end(): void;
  destroy(error?: Error): void;
  pause(): void;
  resume(): void;
  once(event: "drain", listener: () => void): unknown;
  off(event: "drain", listener: () => void): unknown;
  readonly writableLength: number;
  /** True after a write() returned false, until 'drain'. */
  readonly writableNeedDrain: boolean;
  readonly destroyed: boolean;
}

export interface ConnectionOptions {
  /** Total bytes of one request's PARAMS stream; over it, the connection is closed and logged. */
  maxParamsBytes: number;
  /** PARAMS bytes held at once for all the requests of the connection whose PARAMS are not complete; same treatment. */
  maxPendingParamsBytes: number;
  /** Name-value pairs in one request's PARAMS stream; same treatment. */
  maxParamsPairs: number;
  /** Concurrent request ids on one connection; a new id over it is answered FCGI_OVERLOADED (section 5.5). */
  maxRequests: number;
  /** Unread STDIN bytes one request may buffer before the transport is paused. */
  stdinHighWaterMark: number;
  /** The pool the transport reads into, when it does: STDIN chunks kept past their read are retained in it. */
  readPool?: BufferPool;
  /** Told the bytes of every STDIN chunk handed to a reader: none, and V8 alone decides when bodies are collected. */
  scavengePacer?: ScavengePacer;
  /** Answered to FCGI_GET_VALUES (section 4.1). With mpxsConns false, a second concurrent id gets FCGI_CANT_MPX_CONN. */
  getValues: { maxConns: number; maxReqs: number; mpxsConns: boolean };
  /** One line per protocol fault, with the fault's code when it has one. */
  log?: (level: "warn" | "error", message: string, code?: string) => void;
}
