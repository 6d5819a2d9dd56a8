// The FastCGI 1.0 wire layer: records, name-value pairs, and per-connection request state.

export {
  ABORTED_APP_STATUS,
  FAILED_APP_STATUS,
  FCGI_HEADER_LEN,
  FCGI_KEEP_CONN,
  FCGI_MAX_CONNS,
  FCGI_MAX_CONTENT_LENGTH,
  FCGI_MAX_PADDING_LENGTH,
  FCGI_MAX_REQS,
  FCGI_MPXS_CONNS,
  FCGI_NULL_REQUEST_ID,
  FCGI_VERSION_1,
  ProtocolStatus,
  RecordType,
  Role,
} from "./constants.ts";
export { Connection, defaultConnectionOptions } from "./connection.ts";
export type { ConnectionEvents, ConnectionOptions, FcgiRequest, RequestHandler, Transport } from "./connection.ts";
export {
  BadBeginRequestError,
  BadVersionError,
  ConnectionClosedError,
  DuplicateRequestError,
  FcgiProtocolError,
  MalformedParamsError,
  ParamsTimeoutError,
  ParamsTooLargeError,
  PendingParamsTooLargeError,
  RecordTooLargeError,
  RequestAbortedError,
  TooManyParamsError,
} from "./errors.ts";
export { ParamsDecoder, encodeParams } from "./params.ts";
export type { ParamsLimits } from "./params.ts";
export { EMPTY, decodeHeader, encodeRecord, paddingFor, recordLength } from "./record.ts";
export type { RecordHeader } from "./record.ts";
export { RecordReader } from "./reader.ts";
export type { RecordCallback } from "./reader.ts";
export { encodeEndRequest, encodeGetValuesResult, encodeResponseEnd, encodeStream, encodeUnknownType, streamLength } from "./writer.ts";
