// Record encoders for what the application sends: streams, END_REQUEST, GET_VALUES_RESULT, UNKNOWN_TYPE.

import { FCGI_HEADER_LEN, FCGI_MAX_CONTENT_LENGTH, FCGI_NULL_REQUEST_ID, RecordType } from "./constants.ts";
import { encodeParams } from "./params.ts";
import { encodeRecord, writeHeader, writePadding } from "./record.ts";

/** One full record of a split stream: header, 65,535 content bytes, one padding byte. */
const FULL_RECORD_LENGTH = FCGI_HEADER_LEN + FCGI_MAX_CONTENT_LENGTH + 1;

/** Header plus the eight-byte FCGI_EndRequestBody (section 5.5); already a multiple of eight. */
const END_REQUEST_LENGTH = 16;

/** An empty stream record (section 3.3: "an empty record (length == 0) ... ends the stream"). */
const EMPTY_RECORD_LENGTH = FCGI_HEADER_LEN;

/**
 * Bytes on the wire for `length` bytes of stream data, split into records of at most 65,535
 * content bytes, each padded to eight. Zero data takes zero bytes: an empty record would end the
 * stream, so it is never written for empty data.
 */
export function streamLength(length: number): number {
  const full = Math.floor(length / FCGI_MAX_CONTENT_LENGTH);
  const rest = length - full * FCGI_MAX_CONTENT_LENGTH;
  return full * FULL_RECORD_LENGTH + (rest === 0 ? 0 : FCGI_HEADER_LEN + rest + (-rest & 7));
}

/**
 * Writes `data` as records of stream `type` into `out` at `offset`; returns the offset after
 * them. `out` must have streamLength(data.length) bytes there.
 */
function writeStream(out: Buffer, offset: number, type: number, requestId: number, data: Uint8Array): number {
  let start = 0;
  while (start < data.length) {
    const n = Math.min(data.length - start, FCGI_MAX_CONTENT_LENGTH);
    const padding = -n & 7;
    writeHeader(out, offset, type, requestId, n, padding);
    offset += FCGI_HEADER_LEN;
    out.set(start === 0 && n === data.length ? data : data.subarray(start, start + n), offset);
    offset += n;
    writePadding(out, offset, padding);
    offset += padding;
    start += n;
  }
  return offset;
}

/** Encodes `data` as STDOUT/STDERR (or any stream) records into one buffer, for one write. */
export function encodeStream(type: number, requestId: number, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(streamLength(data.length));
  writeStream(out, 0, type, requestId, data);
  return out;
}

/** Writes the empty record that ends stream `type` (section 3.3); returns the next offset. */
function writeStreamEnd(out: Buffer, offset: number, type: number, requestId: number): number {
  writeHeader(out, offset, type, requestId, 0, 0);
  return offset + FCGI_HEADER_LEN;
}

/** Writes END_REQUEST (section 5.5): appStatus as a 32-bit unsigned, protocolStatus, 3 reserved bytes. */
function writeEndRequest(out: Buffer, offset: number, requestId: number, appStatus: number, protocolStatus: number): number {
  writeHeader(out, offset, RecordType.EndRequest, requestId, 8, 0);
  out.writeUInt32BE(appStatus >>> 0, offset + 8);
  out[offset + 12] = protocolStatus;
  out[offset + 13] = 0;
  out[offset + 14] = 0;
  out[offset + 15] = 0;
  return offset + END_REQUEST_LENGTH;
}

export function encodeEndRequest(requestId: number, appStatus: number, protocolStatus: number): Buffer {
  const out = Buffer.allocUnsafe(END_REQUEST_LENGTH);
  writeEndRequest(out, 0, requestId, appStatus, protocolStatus);
  return out;
}

/**
 * The end of a response in one buffer: `lastStdout` as STDOUT records, the empty STDOUT, the
 * empty STDERR when any STDERR was sent, and END_REQUEST. Section 6.2: "After sending all its
 * stdout and stderr data, the Responder application sends a FCGI_END_REQUEST record." One
 * buffer means one write, which for a small response is one syscall.
 */
export function encodeResponseEnd(
  requestId: number,
  appStatus: number,
  protocolStatus: number,
  lastStdout: Uint8Array | undefined,
  stderrSent: boolean,
): Buffer {
  const body = lastStdout === undefined ? 0 : streamLength(lastStdout.length);
  const out = Buffer.allocUnsafe(body + EMPTY_RECORD_LENGTH * (stderrSent ? 2 : 1) + END_REQUEST_LENGTH);
  let offset = lastStdout === undefined ? 0 : writeStream(out, 0, RecordType.Stdout, requestId, lastStdout);
  offset = writeStreamEnd(out, offset, RecordType.Stdout, requestId);
  if (stderrSent) offset = writeStreamEnd(out, offset, RecordType.Stderr, requestId);
  writeEndRequest(out, offset, requestId, appStatus, protocolStatus);
  return out;
}

/** FCGI_GET_VALUES_RESULT (section 4.1): the known variables with their values, on the null id. */
export function encodeGetValuesResult(values: Iterable<readonly [string, string]> | Record<string, string>): Buffer {
  // A GET_VALUES reply names three variables at most, far below one record's 65,535 bytes.
  return encodeRecord(RecordType.GetValuesResult, FCGI_NULL_REQUEST_ID, encodeParams(values));
}

/** FCGI_UNKNOWN_TYPE (section 4.2): the type byte, then seven reserved bytes. */
export function encodeUnknownType(type: number): Buffer {
  const body = Buffer.alloc(8);
  body[0] = type;
  return encodeRecord(RecordType.UnknownType, FCGI_NULL_REQUEST_ID, body);
}
