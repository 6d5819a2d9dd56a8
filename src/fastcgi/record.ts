// The FastCGI record (section 3.3): the eight-byte header, its padding rule, and single-record encoding.

import { FCGI_HEADER_LEN, FCGI_MAX_CONTENT_LENGTH, FCGI_VERSION_1 } from "./constants.ts";
import { RecordTooLargeError } from "./errors.ts";

/** The fields of FCGI_Header (section 3.3), with the two-byte fields already joined. */
export interface RecordHeader {
  version: number;
  type: number;
  requestId: number;
  contentLength: number;
  paddingLength: number;
}

/** A zero-length content, shared so empty records (stream terminators) allocate nothing. */
export const EMPTY: Buffer = Buffer.alloc(0);

/**
 * Padding that brings a record of `contentLength` content bytes to a multiple of eight.
 * Section 3.3: "We recommend that records be placed on boundaries that are multiples of eight
 * bytes." The header is eight bytes, so only the content needs rounding.
 */
export function paddingFor(contentLength: number): number {
  return -contentLength & 7;
}

/** Bytes on the wire of one record with this much content, padded to eight. */
export function recordLength(contentLength: number): number {
  return FCGI_HEADER_LEN + contentLength + (-contentLength & 7);
}

/** Reads the header at `offset`; the caller guarantees eight bytes are there. */
export function decodeHeader(buf: Uint8Array, offset = 0): RecordHeader {
  return {
    version: buf[offset],
    type: buf[offset + 1],
    requestId: (buf[offset + 2] << 8) | buf[offset + 3],
    contentLength: (buf[offset + 4] << 8) | buf[offset + 5],
    paddingLength: buf[offset + 6],
  };
}

/** Writes a version-1 header at `offset`; the reserved byte is zeroed. */
export function writeHeader(
  buf: Uint8Array,
  offset: number,
  type: number,
  requestId: number,
  contentLength: number,
  paddingLength: number,
): void {
  buf[offset] = FCGI_VERSION_1;
  buf[offset + 1] = type;
  buf[offset + 2] = requestId >>> 8;
  buf[offset + 3] = requestId & 0xff;
  buf[offset + 4] = contentLength >>> 8;
  buf[offset + 5] = contentLength & 0xff;
  buf[offset + 6] = paddingLength;
  buf[offset + 7] = 0;
}

/** Zeroes `count` padding bytes: buffers come from allocUnsafe and must not leak old memory. */
export function writePadding(buf: Uint8Array, offset: number, count: number): void {
  for (let i = 0; i < count; i++) buf[offset + i] = 0;
}

/**
 * Encodes one record. `paddingLength` defaults to the eight-byte alignment; tests pass other
 * values (0–255) to produce what other FastCGI clients send.
 */
export function encodeRecord(
  type: number,
  requestId: number,
  content: Uint8Array = EMPTY,
  paddingLength: number = paddingFor(content.length),
): Buffer {
  if (content.length > FCGI_MAX_CONTENT_LENGTH) throw new RecordTooLargeError(content.length);
  const out = Buffer.allocUnsafe(FCGI_HEADER_LEN + content.length + paddingLength);
  writeHeader(out, 0, type, requestId, content.length, paddingLength);
  out.set(content, FCGI_HEADER_LEN);
  writePadding(out, FCGI_HEADER_LEN + content.length, paddingLength);
  return out;
}
