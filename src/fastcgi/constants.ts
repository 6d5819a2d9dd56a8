// FastCGI 1.0 protocol constants, named as in the spec (section 8, "Types and Constants").

/** The only protocol version there is (section 3.3: `version: Identifies the FastCGI protocol version`). */
export const FCGI_VERSION_1 = 1;

/** Every record starts with an eight-byte header (section 3.3). */
export const FCGI_HEADER_LEN = 8;

/** contentLength is a 16-bit field, so one record carries at most this many content bytes (section 3.3). */
export const FCGI_MAX_CONTENT_LENGTH = 0xffff;

/** Management records use the null request id (section 3.3). */
export const FCGI_NULL_REQUEST_ID = 0;

/** BEGIN_REQUEST flag: the web server keeps the connection open after END_REQUEST (section 5.1). */
export const FCGI_KEEP_CONN = 1;

/** Record types (section 8). Types 1–8 are application records, 9–11 management records. */
export const RecordType = {
  BeginRequest: 1,
  AbortRequest: 2,
  EndRequest: 3,
  Params: 4,
  Stdin: 5,
  Stdout: 6,
  Stderr: 7,
  Data: 8,
  GetValues: 9,
  GetValuesResult: 10,
  UnknownType: 11,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/** The role field of FCGI_BeginRequestBody (section 5.1, roles in section 6). */
export const Role = {
  Responder: 1,
  Authorizer: 2,
  Filter: 3,
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/** The protocolStatus field of FCGI_EndRequestBody (section 5.5). */
export const ProtocolStatus = {
  /** Normal end of request. */
  RequestComplete: 0,
  /** Rejecting a new request: this application serves one request at a time per connection. */
  CantMpxConn: 1,
  /** Rejecting a new request: the application ran out of some resource. */
  Overloaded: 2,
  /** Rejecting a new request: the web server asked for a role the application does not play. */
  UnknownRole: 3,
} as const;
export type ProtocolStatus = (typeof ProtocolStatus)[keyof typeof ProtocolStatus];

/** The variables an FCGI_GET_VALUES query may name (section 4.1). */
export const FCGI_MAX_CONNS = "FCGI_MAX_CONNS";
export const FCGI_MAX_REQS = "FCGI_MAX_REQS";
export const FCGI_MPXS_CONNS = "FCGI_MPXS_CONNS";

/**
 * The appStatus sent in the END_REQUEST that answers FCGI_ABORT_REQUEST. Non-zero because the
 * request did not run to completion; 1 is the conventional "failed" exit status of a CGI program.
 */
export const ABORTED_APP_STATUS = 1;

/** The appStatus sent when a request handler throws before ending its request. */
export const FAILED_APP_STATUS = 1;
