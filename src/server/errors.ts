// Errors of the server layer: dispatch, timeouts, listeners, connection limits.
import { TscgiError, messageOf } from "../errors.ts";

export class RequestTimeoutError extends TscgiError {
  readonly code = "TSCGI_E_SERVER_REQUEST_TIMEOUT";
  override readonly status = 504;
  constructor(ms: number) {
    super(`the script did not finish within request_timeout (${ms} ms); make it faster, or raise request_timeout`);
  }
}

/** The ReadableStream a script's Response carried failed after the head went out: the response was cut off. */
export class ResponseStreamError extends TscgiError {
  readonly code = "TSCGI_E_SERVER_RESPONSE_STREAM";
  constructor(cause: unknown) {
    const reason = messageOf(cause);
    super(
      `the response body stream failed after the head was sent, so the response was cut off: ${reason}; fix the stream the script returns`,
      { cause },
    );
  }
}

export class ListenError extends TscgiError {
  readonly code = "TSCGI_E_SERVER_LISTEN";
  constructor(address: string, cause: unknown) {
    const reason = messageOf(cause);
    super(`cannot listen on ${address}: ${reason}; choose another address with --listen (or --http)`, { cause });
  }
}

/** A descriptor systemd passed (LISTEN_FDS) is not a listening stream socket. */
export class InheritedSocketError extends TscgiError {
  readonly code = "TSCGI_E_SERVER_INHERITED_SOCKET";
  constructor(fd: number, from: string) {
    super(
      `fd ${fd} from ${from} is not a listening stream socket; in the socket unit use ListenStream= with Accept=no ` +
        "(the default), or start tscgi without LISTEN_FDS to bind listen itself",
    );
  }
}

/** A connection arrived with max_connections open; `evicted` when an idle one was closed to make room. */
export class MaxConnectionsError extends TscgiError {
  readonly code = "TSCGI_E_SERVER_MAX_CONNECTIONS";
  constructor(limit: number, evicted: boolean, byOpenFiles = false) {
    const what = byOpenFiles ? `max_connections (${limit}, lowered to fit the open-files limit)` : `max_connections (${limit})`;
    const raise = byOpenFiles ? "raise the open-files limit (ulimit -n)" : "raise max_connections";
    super(
      evicted
        ? `${what} reached: the connection idle longest was closed to make room for a new one; ` +
            `${raise}, or lower the web server's keepalive connections per worker`
        : `${what} reached and every connection carries a request: a new connection was refused; ` +
            `${raise}, or check for clients holding connections open`,
    );
  }
}

/** accept() failed: out of file descriptors (EMFILE, ENFILE) or memory; the listener carries on. */
export class AcceptError extends TscgiError {
  readonly code = "TSCGI_E_SERVER_ACCEPT";
  constructor(cause: NodeJS.ErrnoException) {
    const what = cause.code === "EMFILE" || cause.code === "ENFILE" ? "out of file descriptors" : "failed";
    super(
      `accepting a connection ${what} (${cause.code ?? cause.message}); the connection was dropped and tscgi ` +
        `carries on. Raise the open-files limit (ulimit -n, LimitNOFILE=) above max_connections plus a margin, or lower max_connections`,
      { cause },
    );
  }
}

/**
 * Thrown into a script by its own process.exit(): its request was ended there, and this unwinds
 * the script. Caught by tscgi wherever it surfaces; a script that catches it sees it instead.
 */
export class ScriptExitError extends TscgiError {
  readonly code = "TSCGI_E_SERVER_SCRIPT_EXIT";
  readonly exitCode: number;
  constructor(exitCode: number) {
    super(
      `process.exit(${exitCode}) ended this request, and this error unwinds the script; let it propagate, ` +
        "or return from the handler to end a response",
    );
    this.exitCode = exitCode;
  }
}

/** process.chdir() from a script: the working directory is the whole worker's, shared by every request. */
export class ScriptChdirError extends TscgiError {
  readonly code = "TSCGI_E_SERVER_SCRIPT_CHDIR";
  constructor(directory: string) {
    super(
      `process.chdir(${JSON.stringify(directory)}) is not available to scripts: the working directory is shared by every ` +
        "request of the worker; build paths from the script's own directory instead, e.g. path.join(import.meta.dirname, ...)",
    );
  }
}

/** An AUTHORIZER request (Apache mod_authnz_fcgi) for a URL whose script has no `authorize` export. */
export class AuthorizeExportError extends TscgiError {
  readonly code = "TSCGI_E_SERVER_AUTHORIZE_EXPORT";
  readonly file: string;
  constructor(file: string) {
    super(
      `${file}: asked to authorize a request (FastCGI AUTHORIZER role), but it has no authorize export; ` +
        "export function authorize(cgi) { ... } returning true, false, variables or a Response; the request is denied",
    );
    this.file = file;
  }
}
