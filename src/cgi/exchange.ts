// One request/response between a gateway (FastCGI, the HTTP front, CGI on stdio) and a script.
import type { HeaderList } from "./head.ts";

/**
 * What `respond` returns once the whole response was handed on synchronously, so dispatch may
 * skip the await (and the microtask turn it costs) on a small response.
 */
export const SENT: Promise<void> = Promise.resolve();

/**
 * How a response ended: `"failed"` answers a script that broke (FastCGI: a non-zero appStatus),
 * `"overloaded"` refuses a request before any script ran (FastCGI: END_REQUEST with FCGI_OVERLOADED).
 */
export type ResponseOutcome = "ok" | "failed" | "overloaded";

/** How a streamed response ended: only a whole response can be a refusal. */
export type StreamOutcome = Exclude<ResponseOutcome, "overloaded">;

/**
 * What every front end provides so one dispatch serves them all. Implementations keep it cheap:
 * `signal` is built only when read, and `respond` lets a small response go out in one write.
 */
export interface Exchange {
  /** The CGI meta-variables as received (FastCGI params, or built from an HTTP request). */
  readonly params: Record<string, string>;
  /** Next body chunk, or null at its end. Rejects when the request was aborted. */
  readBody(): Promise<Uint8Array | null>;
  /** The reader is done with a chunk readBody gave: its memory may be reused for the next ones. */
  releaseBody?(chunk: Uint8Array): void;
  /**
   * The reader will give back every chunk (releaseBody), so none needs to be copied out of the
   * read buffers for it to keep: a body already queued is not joined into one more buffer.
   */
  lendBody?(): void;
  /**
   * Calls `listener` once when the peer aborts or goes away, with the reason, or at once if it
   * already has; returns a function that removes the listener. A listener, not an AbortSignal:
   * in a worker a signal and the listener forwarding it cost about 7 µs, and cgi.signal needs
   * only its own.
   */
  onAbort(listener: (reason: unknown) => void): () => void;
  readonly aborted: boolean;
  /** The connection's peer address (TCP), for checks when REMOTE_ADDR is missing; none on a Unix socket. */
  readonly peer?: string;
  /** A FastCGI AUTHORIZER request: the script's `authorize` export answers it (see server/authorizer.ts). */
  readonly authorizer?: boolean;
  /** Its slot in the in-flight table a watchdog thread reads (see server/inflight-table.ts), or -1. */
  readonly slot?: number;
  /** Sends a whole response (status, validated headers, body) and ends it with `outcome`; SENT when nothing is left to wait for. */
  respond(status: number, headers: HeaderList, body: Uint8Array | null, outcome: ResponseOutcome): Promise<void>;
  /** Starts a streamed response: status, validated headers and the first chunk; `write` and `end` follow. */
  head(status: number, headers: HeaderList, firstChunk: Uint8Array | null): Promise<void>;
  /** Sends a body chunk; resolves when more may be written (backpressure). */
  write(chunk: Uint8Array): Promise<void>;
  /** Finishes a response started with `head`; `"failed"` marks a script that broke mid-stream. */
  end(outcome: StreamOutcome): void;
  /** The request's error stream back to the web server (FastCGI: FCGI_STDERR); absent where there is none. */
  writeStderr?(chunk: Uint8Array): void;
}

const NOTHING = (): void => {};

/** Exchange.onAbort for an exchange whose abort is an AbortSignal anyway. */
export function onSignalAbort(signal: AbortSignal, listener: (reason: unknown) => void): () => void {
  if (signal.aborted) {
    listener(signal.reason);
    return NOTHING;
  }
  const fire = (): void => listener(signal.reason);
  signal.addEventListener("abort", fire, { once: true });
  return () => signal.removeEventListener("abort", fire);
}
