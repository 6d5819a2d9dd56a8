// The FastCGI wire layer's errors: each names the fault, the connection it ends, and the fix.

import { TscgiError } from "../errors.ts";

/**
 * A fault in the bytes the web server sent. The connection that carried them is closed; other
 * connections and the process carry on (STYLE.md, habit 4).
 */
export abstract class FcgiProtocolError extends TscgiError {
  /**
   * Log level for the one line written when this fault closes a connection: a warning, as the
   * fault is the peer's and tscgi carries on (anyone who can reach `listen` can cause one).
   */
  readonly level: "warn" | "error" = "warn";
}

/** Section 3.3: every record header starts with version FCGI_VERSION_1. */
export class BadVersionError extends FcgiProtocolError {
  readonly code = "TSCGI_E_FCGI_BAD_VERSION";
  readonly version: number;
  constructor(version: number) {
    super(
      `record header has version ${version}, expected 1; the peer is not speaking FastCGI ` +
        `(an HTTP client pointed at the FastCGI port, or the stream lost its framing). Connection closed.`,
    );
    this.version = version;
  }
}

/** Section 5.1: the body of FCGI_BEGIN_REQUEST is exactly eight bytes. */
export class BadBeginRequestError extends FcgiProtocolError {
  readonly code = "TSCGI_E_FCGI_BAD_BEGIN_REQUEST";
  readonly requestId: number;
  readonly contentLength: number;
  constructor(requestId: number, contentLength: number) {
    super(
      `BEGIN_REQUEST for request ${requestId} has a ${contentLength}-byte body, expected 8; ` +
        `the web server's FastCGI client is broken or the stream lost its framing. Connection closed.`,
    );
    this.requestId = requestId;
    this.contentLength = contentLength;
  }
}

/** Section 3.3: a request id is active from BEGIN_REQUEST until the application's END_REQUEST. */
export class DuplicateRequestError extends FcgiProtocolError {
  readonly code = "TSCGI_E_FCGI_DUPLICATE_REQUEST";
  readonly requestId: number;
  constructor(requestId: number) {
    super(
      `BEGIN_REQUEST for request ${requestId}, which is still active on this connection; ` +
        `the web server reused a request id before END_REQUEST. Connection closed.`,
    );
    this.requestId = requestId;
  }
}

/** The PARAMS stream of one request is larger than `maxParamsBytes`. */
export class ParamsTooLargeError extends FcgiProtocolError {
  readonly code = "TSCGI_E_FCGI_PARAMS_TOO_LARGE";
  readonly limit: number;
  constructor(limit: number) {
    super(
      `a request's PARAMS stream exceeds ${limit} bytes (max_params_bytes); usually very large ` +
        `cookies or headers. Raise max_params_bytes, or lower the web server's header limits. Connection closed.`,
    );
    this.limit = limit;
  }
}

/** One request carries more name-value pairs than `maxParamsPairs`. */
export class TooManyParamsError extends FcgiProtocolError {
  readonly code = "TSCGI_E_FCGI_TOO_MANY_PARAMS";
  readonly limit: number;
  constructor(limit: number) {
    super(
      `a request's PARAMS stream has more than ${limit} name-value pairs (max_params); ` +
        `raise max_params, or lower the number of headers the web server forwards. Connection closed.`,
    );
    this.limit = limit;
  }
}

/** The unfinished PARAMS of all the requests on one connection hold more than `maxPendingParamsBytes`. */
export class PendingParamsTooLargeError extends FcgiProtocolError {
  readonly code = "TSCGI_E_FCGI_PENDING_PARAMS_TOO_LARGE";
  readonly limit: number;
  constructor(limit: number) {
    super(
      `the requests begun on one connection hold more than ${limit} bytes of unfinished PARAMS ` +
        `(max_pending_params_bytes); a web server sends each request's PARAMS at once, so this is a ` +
        `client holding memory on purpose, or a very busy multiplexing client: then raise max_pending_params_bytes. Connection closed.`,
    );
    this.limit = limit;
  }
}

/** A connection did not complete a request's PARAMS within `params_timeout` of its accept or BEGIN_REQUEST. */
export class ParamsTimeoutError extends FcgiProtocolError {
  readonly code = "TSCGI_E_FCGI_PARAMS_TIMEOUT";
  readonly ms: number;
  constructor(ms: number) {
    super(
      `a connection sent no complete request PARAMS within params_timeout (${ms} ms) of being ` +
        `accepted or of its BEGIN_REQUEST; a web server sends them at once, so the peer is stalled or ` +
        `holding connections open on purpose. Raise params_timeout only for a very slow network. Connection closed.`,
    );
    this.ms = ms;
  }
}

/** Section 3.4: a name-value pair stream ended in the middle of a pair. */
export class MalformedParamsError extends FcgiProtocolError {
  readonly code = "TSCGI_E_FCGI_MALFORMED_PARAMS";
  constructor(what: string) {
    super(
      `malformed name-value pairs in ${what}: the data ends in the middle of a pair; ` +
        `the web server's FastCGI client is broken or the stream lost its framing. Connection closed.`,
    );
  }
}

/** An encoder was asked for a record whose content does not fit the 16-bit contentLength. */
export class RecordTooLargeError extends TscgiError {
  readonly code = "TSCGI_E_FCGI_RECORD_TOO_LARGE";
  readonly length: number;
  constructor(length: number) {
    super(
      `a single record cannot carry ${length} content bytes (at most 65535, section 3.3); ` +
        `this is a bug in the caller, which should split the stream with encodeStream().`,
    );
    this.length = length;
  }
}

/** What readStdin() rejects with, and signal.reason, after FCGI_ABORT_REQUEST (section 5.4). */
export class RequestAbortedError extends TscgiError {
  readonly code = "TSCGI_E_FCGI_REQUEST_ABORTED";
  override readonly status = 499;
  readonly requestId: number;
  constructor(requestId: number) {
    super(
      `request ${requestId} was aborted by the web server (FCGI_ABORT_REQUEST), usually because ` +
        `the HTTP client went away; nothing to fix unless it happens for every request.`,
    );
    this.requestId = requestId;
  }
}

/** What readStdin() rejects with, and signal.reason, when the connection closes mid-request. */
export class ConnectionClosedError extends TscgiError {
  readonly code = "TSCGI_E_FCGI_CONNECTION_CLOSED";
  override readonly status = 499;
  readonly requestId: number;
  constructor(requestId: number) {
    super(
      `the connection carrying request ${requestId} closed before the request ended; the web ` +
        `server gave up on it (client gone, or its fastcgi_read_timeout / ProxyTimeout expired).`,
    );
    this.requestId = requestId;
  }
}
