// RecordReader: the incremental record parser (section 3.3), a state machine fed socket chunks.

import { FCGI_HEADER_LEN, FCGI_VERSION_1 } from "./constants.ts";
import { BadVersionError } from "./errors.ts";
import { EMPTY } from "./record.ts";

/**
 * Receives each complete record. `content` is a view into the chunk it arrived in when the
 * record did not straddle chunks (no copy), else a fresh buffer; a view is only as valid as the
 * chunk, which may be a read buffer that is reused (see BufferPool).
 */
export type RecordCallback = (type: number, requestId: number, content: Buffer) => void;

const HEADER = 0;
const CONTENT = 1;
const PADDING = 2;
const STOPPED = 3;
/** Held at a record boundary: input is kept unparsed for whoever reads the stream next. */
const HELD = 4;

/**
 * Splits a byte stream into records, whatever the chunking: one byte at a time, many records
 * per chunk, or a record split across many chunks. Padding of 0–255 bytes is skipped (section
 * 3.3 only recommends eight-byte alignment, so senders differ).
 */
export class RecordReader {
  #onRecord: RecordCallback;
  #state = HEADER;
  /** Header bytes gathered so far when a header straddles chunks. */
  #header = Buffer.allocUnsafe(FCGI_HEADER_LEN);
  #headerFill = 0;
  #type = 0;
  #requestId = 0;
  #contentLength = 0;
  #paddingLeft = 0;
  /** Content gathered so far when a record straddles chunks; null otherwise. */
  #content: Buffer | null = null;
  #contentFill = 0;
  /** When set and true at a record boundary, parsing stops there and the rest is kept (see holdAtBoundary). */
  #holdWhen: (() => boolean) | null = null;
  #held: Buffer[] = [];
  #heldBytes = 0;

  constructor(onRecord: RecordCallback) {
    this.#onRecord = onRecord;
  }

  /** True once stop() was called or a fault was thrown: further input is ignored. */
  get stopped(): boolean {
    return this.#state === STOPPED;
  }

  /** Stops parsing, including the rest of the chunk being pushed (called from the callback). */
  stop(): void {
    this.#state = STOPPED;
    this.#content = null;
    this.#held = [];
    this.#heldBytes = 0;
  }

  /** True when no part of a record is held: the next byte, if any, starts a header. */
  get atBoundary(): boolean {
    return this.#state === HELD || (this.#state === HEADER && this.#headerFill === 0);
  }

  /** True once parsing stopped at a boundary; pushed bytes are kept, not parsed. */
  get held(): boolean {
    return this.#state === HELD;
  }

  /** Bytes kept unparsed since the reader was held. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /**
   * From the next record boundary on (this one, if no record is in progress), parsing stops at
   * the first boundary where `when()` is true, and everything after it is kept unparsed for
   * takeHeld(): the stream can then move to another reader without losing or repeating a record.
   */
  holdAtBoundary(when: () => boolean): void {
    this.#holdWhen = when;
    if (this.#state === HEADER && this.#headerFill === 0 && when()) this.#state = HELD;
  }

  /** The bytes kept since the reader was held, in order; the reader stops for good. */
  takeHeld(): Buffer {
    const held = this.#held.length === 1 ? this.#held[0] : Buffer.concat(this.#held);
    this.stop();
    return held;
  }

  /**
   * Consumes a chunk, calling back for every record it completes. Throws BadVersionError (and
   * stops) on a header that is not FastCGI 1.0: the framing is lost, so nothing after it can be
   * trusted. Errors thrown by the callback propagate and leave the reader as it was.
   */
  push(chunk: Buffer): void {
    const end = chunk.length;
    let i = 0;
    while (i < end) {
      switch (this.#state) {
        case HEADER: {
          if (this.#headerFill === 0 && this.#holdWhen !== null && this.#holdWhen()) {
            this.#state = HELD;
            this.#keep(chunk, i);
            return;
          }
          if (this.#headerFill === 0 && end - i >= FCGI_HEADER_LEN) {
            this.#beginRecord(chunk, i);
            i += FCGI_HEADER_LEN;
          } else {
            const n = Math.min(FCGI_HEADER_LEN - this.#headerFill, end - i);
            chunk.copy(this.#header, this.#headerFill, i, i + n);
            this.#headerFill += n;
            i += n;
            if (this.#headerFill < FCGI_HEADER_LEN) return;
            this.#headerFill = 0;
            this.#beginRecord(this.#header, 0);
          }
          if (this.#contentLength === 0) this.#emit(EMPTY);
          break;
        }
        case CONTENT: {
          const length = this.#contentLength;
          const content = this.#content;
          if (content === null) {
            if (end - i >= length) {
              // The common case: the whole content is in this chunk, so hand out a view.
              const view = chunk.subarray(i, i + length);
              i += length;
              this.#emit(view);
              break;
            }
            const fresh = Buffer.allocUnsafe(length);
            chunk.copy(fresh, 0, i, end);
            this.#content = fresh;
            this.#contentFill = end - i;
            return;
          }
          const n = Math.min(length - this.#contentFill, end - i);
          chunk.copy(content, this.#contentFill, i, i + n);
          this.#contentFill += n;
          i += n;
          if (this.#contentFill < length) return;
          this.#content = null;
          this.#contentFill = 0;
          this.#emit(content);
          break;
        }
        case PADDING: {
          const n = Math.min(this.#paddingLeft, end - i);
          this.#paddingLeft -= n;
          i += n;
          if (this.#paddingLeft === 0) this.#state = HEADER;
          break;
        }
        case HELD:
          this.#keep(chunk, i);
          return;
        default:
          return;
      }
    }
  }

  #keep(chunk: Buffer, from: number): void {
    if (from >= chunk.length) return;
    // A copy: the chunk may be a read buffer that is reused once this read was handled.
    const rest = Buffer.from(chunk.subarray(from));
    this.#held.push(rest);
    this.#heldBytes += rest.length;
  }

  #beginRecord(buf: Buffer, at: number): void {
    const version = buf[at];
    if (version !== FCGI_VERSION_1) {
      this.stop();
      throw new BadVersionError(version);
    }
    this.#type = buf[at + 1];
    this.#requestId = (buf[at + 2] << 8) | buf[at + 3];
    this.#contentLength = (buf[at + 4] << 8) | buf[at + 5];
    this.#paddingLeft = buf[at + 6];
    this.#state = CONTENT;
  }

  /** Moves past the content, then hands the record out (the callback may stop the reader). */
  #emit(content: Buffer): void {
    this.#state = this.#paddingLeft === 0 ? HEADER : PADDING;
    this.#onRecord(this.#type, this.#requestId, content);
  }
}
