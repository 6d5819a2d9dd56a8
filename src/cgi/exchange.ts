// One request/response between a gateway (FastCGI, the HTTP front, CGI on stdio) and a script.
import type { HeaderList } from "./head.ts";

/**
 * What every front end provides so one dispatch serves them all. Implementations keep it cheap:
 * `signal` is built only when read, and `head(..., end = true)` lets a small response go out in
 * one write.
 */
export interface Exchange {
  /** The CGI meta-variables as received (FastCGI params, or built from an HTTP request). */
  readonly params: Record<string, string>;
  /** Next body chunk, or null at its end. Rejects when the request was aborted. */
  readBody(): Promise<Uint8Array | null>;
  /** The reader is done with a chunk readBody gave: its memory may be reused for the next ones. */
  releaseBody?(chunk: Uint8Array): void;
  /** Fires when the peer aborts or goes away. */
  readonly signal: AbortSignal;
  readonly aborted: boolean;
  /** The connection's peer address (TCP), for checks when REMOTE_ADDR is missing; none on a Unix socket. */
  readonly peer?: string;
  /** A FastCGI AUTHORIZER request: the script's `authorize` export answers it (see server/authorizer.ts). */
  readonly authorizer?: boolean;
  /** Its slot in the in-flight table a watchdog thread reads (see server/inflight-table.ts), or -1. */
  readonly slot?: number;
  /**
   * Sends status and (validated) headers, with the first body chunk; `end` closes the response too,
   * `failed` marks it as the answer to a script that broke (FastCGI: a non-zero appStatus), and
   * `overloaded` as a refusal before any script ran (FastCGI: END_REQUEST with FCGI_OVERLOADED).
   */
  head(status: number, headers: HeaderList, chunk: Uint8Array | null, end: boolean, failed?: boolean, overloaded?: boolean): Promise<void>;
  /** Sends a body chunk; resolves when more may be written (backpressure). */
  write(chunk: Uint8Array): Promise<void>;
  /** Finishes a response whose head was sent; `failed` marks a script that broke mid-stream. */
  end(failed: boolean): void;
  /** The request's error stream back to the web server (FastCGI: FCGI_STDERR); absent where there is none. */
  writeStderr?(chunk: Uint8Array): void;
}
