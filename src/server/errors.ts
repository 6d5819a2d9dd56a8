// Errors of the server layer: dispatch, timeouts, listeners.
import { TscgiError } from "../errors.ts";

export class RequestTimeoutError extends TscgiError {
  readonly code = "TSCGI_E_REQUEST_TIMEOUT";
  override readonly status = 504;
  constructor(ms: number) {
    super(`the script did not finish within request_timeout (${ms} ms); make it faster, or raise request_timeout`);
  }
}

export class ListenError extends TscgiError {
  readonly code = "TSCGI_E_LISTEN";
  constructor(address: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`cannot listen on ${address}: ${reason}; choose another address with --listen (or --http)`, { cause });
  }
}
