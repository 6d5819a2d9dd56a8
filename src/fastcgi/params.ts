// Name-value pairs (section 3.4): the encoder, and an incremental decoder for the PARAMS stream.

import { isAscii, slicer } from "../node-internals.ts";
import { MalformedParamsError, ParamsTooLargeError, TooManyParamsError } from "./errors.ts";

/** Caps on one decoded stream; both close the connection when exceeded. */
export interface ParamsLimits {
  /** Total encoded bytes of the stream (lengths, names and values). */
  maxBytes: number;
  /** Number of name-value pairs. */
  maxPairs: number;
}

/** Names longer than this are decoded every time rather than looked up. */
const NAME_CACHE_MAX_LENGTH = 64;
/** Distinct names kept; past that, new names are decoded every time (bounded memory). */
const NAME_CACHE_MAX_ENTRIES = 4096;
/**
 * Param names repeat on every request (HTTP_HOST, SCRIPT_NAME ...). Handing out the same string
 * each time saves the decode and, above all, lets V8 store it as a property key without hashing
 * and internalizing a fresh string: about half the cost of decoding a PARAMS stream.
 */
const names = new Map<number, string>();
/**
 * The name seen at each position of the last PARAMS stream: a web server sends the same names
 * in the same order on every request, so one comparison usually finds the string to reuse.
 */
const byPosition: (string | undefined)[] = new Array<string | undefined>(256).fill(undefined);

/** Decodes a name, reusing the string from an earlier request for a short ASCII name. */
function decodeName(buf: Buffer, start: number, end: number, position: number): string {
  const length = end - start;
  if (length > NAME_CACHE_MAX_LENGTH) return slicer(buf).utf8Slice(start, end);
  const guess = position < 256 ? byPosition[position] : undefined;
  if (guess !== undefined && guess.length === length && sameAscii(guess, buf, start)) return guess;
  const name = lookUpName(buf, start, end, length);
  if (position < 256 && name.length === length) byPosition[position] = name;
  return name;
}

function lookUpName(buf: Buffer, start: number, end: number, length: number): string {
  let hash = length;
  let high = 0;
  for (let i = start; i < end; i++) {
    const b = buf[i];
    high |= b;
    hash = (Math.imul(hash, 31) + b) | 0;
  }
  if (high >= 0x80) return slicer(buf).utf8Slice(start, end);
  const cached = names.get(hash);
  // A hash collision must never hand out another name: compare the bytes.
  if (cached !== undefined && cached.length === length && sameAscii(cached, buf, start)) return cached;
  const name = slicer(buf).latin1Slice(start, end);
  if (cached === undefined && names.size < NAME_CACHE_MAX_ENTRIES) names.set(hash, name);
  return name;
}

function sameAscii(name: string, buf: Buffer, start: number): boolean {
  for (let k = 0; k < name.length; k++) if (name.charCodeAt(k) !== buf[start + k]) return false;
  return true;
}

/**
 * A piece at least this long that is all ASCII is decoded as one string, and its values are cut
 * from it: a substring costs less than a call into C++ per value.
 */
const WHOLE_TEXT_MIN = 64;

/** What the decoder is waiting for (section 3.4: nameLength, valueLength, nameData, valueData). */
const NAME_LENGTH = 0;
const VALUE_LENGTH = 1;
const NAME = 2;
const VALUE = 3;

/**
 * Decodes a name-value pair stream fed in arbitrary pieces. Section 5.2: the PARAMS stream is
 * "a sequence of name-value pairs" cut into records wherever the sender likes, so a pair (even
 * its four length bytes) may straddle records. Names and values are read as UTF-8; a repeated
 * name keeps its last value, as a CGI environment would.
 */
export class ParamsDecoder {
  /** Null prototype: a param named `__proto__` or `constructor` is just a param. */
  readonly params: Record<string, string> = Object.create(null) as Record<string, string>;
  #limits: ParamsLimits;
  #state: number = NAME_LENGTH;
  #bytes = 0;
  #pairs = 0;
  /** Length bytes read so far of the length being decoded (0 when between lengths). */
  #lengthBytes = 0;
  #length = 0;
  #nameLength = 0;
  #valueLength = 0;
  #name = "";
  /** Holds a name or value that straddles pieces; null while every field fits one piece. */
  #part: Buffer | null = null;
  #partFill = 0;
  /** The current piece as text, when it is ASCII (see WHOLE_TEXT_MIN); null otherwise. */
  #text: string | null = null;

  constructor(limits: ParamsLimits) {
    this.#limits = limits;
  }

  /** Consumes one piece of the stream. Throws an FcgiProtocolError when a cap is crossed. */
  push(chunk: Uint8Array): void {
    this.#bytes += chunk.length;
    if (this.#bytes > this.#limits.maxBytes) throw new ParamsTooLargeError(this.#limits.maxBytes);
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    const end = buf.length;
    this.#text = end >= WHOLE_TEXT_MIN && isAscii(buf) ? slicer(buf).latin1Slice(0, end) : null;
    let i = 0;
    while (i < end) {
      switch (this.#state) {
        case NAME_LENGTH:
        case VALUE_LENGTH: {
          const b = buf[i++];
          if (this.#lengthBytes === 0) {
            // Section 3.4: a high-order zero means a one-byte length, a one a four-byte length.
            if ((b & 0x80) === 0) {
              this.#lengthDone(b);
              break;
            }
            if (i + 3 <= end) {
              this.#lengthDone((b & 0x7f) * 0x1000000 + ((buf[i] << 16) | (buf[i + 1] << 8) | buf[i + 2]));
              i += 3;
              break;
            }
            this.#length = b & 0x7f;
            this.#lengthBytes = 1;
            break;
          }
          this.#length = this.#length * 256 + b;
          if (++this.#lengthBytes === 4) {
            this.#lengthBytes = 0;
            this.#lengthDone(this.#length);
          }
          break;
        }
        case NAME: {
          const field = this.#field(buf, i, end, this.#nameLength, true);
          if (field === undefined) return;
          i += this.#used;
          this.#name = field;
          if (this.#valueLength === 0) this.#pair("");
          else this.#state = VALUE;
          break;
        }
        case VALUE: {
          const field = this.#field(buf, i, end, this.#valueLength, false);
          if (field === undefined) return;
          i += this.#used;
          this.#pair(field);
          break;
        }
      }
    }
  }

  /**
   * The stream ended (the empty PARAMS record, or the end of a GET_VALUES body): returns the
   * pairs, or throws if the stream stopped inside a pair.
   */
  end(what = "the PARAMS stream"): Record<string, string> {
    if (this.#state !== NAME_LENGTH || this.#lengthBytes !== 0) throw new MalformedParamsError(what);
    return this.params;
  }

  /** Bytes of the current piece that #field consumed for the field it returned. */
  #used = 0;

  /**
   * Returns the field of `length` bytes starting at `i`, or undefined when the piece runs out
   * first (the bytes are kept in #part). Copies only when the field straddles pieces.
   */
  #field(buf: Buffer, i: number, end: number, length: number, isName: boolean): string | undefined {
    const part = this.#part;
    if (part === null) {
      if (end - i >= length) {
        this.#used = length;
        if (isName) return decodeName(buf, i, i + length, this.#pairs);
        const text = this.#text;
        return text !== null ? text.slice(i, i + length) : slicer(buf).utf8Slice(i, i + length);
      }
      // Bounded: #lengthDone refused any length past maxBytes.
      const fresh = Buffer.allocUnsafe(length);
      buf.copy(fresh, 0, i, end);
      this.#part = fresh;
      this.#partFill = end - i;
      return undefined;
    }
    const want = length - this.#partFill;
    if (end - i < want) {
      buf.copy(part, this.#partFill, i, end);
      this.#partFill += end - i;
      return undefined;
    }
    buf.copy(part, this.#partFill, i, i + want);
    this.#used = want;
    this.#part = null;
    this.#partFill = 0;
    return isName ? decodeName(part, 0, length, this.#pairs) : slicer(part).utf8Slice(0, length);
  }

  #lengthDone(length: number): void {
    if (this.#state === NAME_LENGTH) {
      this.#nameLength = length;
      this.#state = VALUE_LENGTH;
      return;
    }
    this.#valueLength = length;
    // Refuse a declared length past the cap before buffering any of it.
    if (this.#nameLength + length > this.#limits.maxBytes) throw new ParamsTooLargeError(this.#limits.maxBytes);
    if (this.#nameLength > 0) {
      this.#state = NAME;
      return;
    }
    this.#name = "";
    if (length === 0) this.#pair("");
    else this.#state = VALUE;
  }

  #pair(value: string): void {
    if (++this.#pairs > this.#limits.maxPairs) throw new TooManyParamsError(this.#limits.maxPairs);
    this.params[this.#name] = value;
    this.#state = NAME_LENGTH;
  }
}

/** Bytes a length takes on the wire: one below 128, else four (section 3.4). */
function lengthSize(length: number): number {
  return length > 127 ? 4 : 1;
}

function writeLength(out: Buffer, offset: number, length: number): number {
  if (length > 127) {
    out.writeUInt32BE((length | 0x80000000) >>> 0, offset);
    return offset + 4;
  }
  out[offset] = length;
  return offset + 1;
}

/** Encodes pairs as one name-value byte sequence (the content of PARAMS records or GET_VALUES*). */
export function encodeParams(pairs: Iterable<readonly [string, string]> | Record<string, string>): Buffer {
  const list: (readonly [string, string])[] = Symbol.iterator in pairs ? [...pairs] : Object.entries(pairs);
  let size = 0;
  const lengths: number[] = [];
  for (const [name, value] of list) {
    const n = Buffer.byteLength(name);
    const v = Buffer.byteLength(value);
    lengths.push(n, v);
    size += lengthSize(n) + lengthSize(v) + n + v;
  }
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  for (let k = 0; k < list.length; k++) {
    const [name, value] = list[k];
    const n = lengths[2 * k];
    const v = lengths[2 * k + 1];
    offset = writeLength(out, offset, n);
    offset = writeLength(out, offset, v);
    offset += out.write(name, offset, n, "utf8");
    offset += out.write(value, offset, v, "utf8");
  }
  return out;
}
