// Client address lists (allowed_clients, status_allowed_clients): IPv4 and IPv6 addresses and
// CIDR ranges, matched against a connection's peer address.
//
// Every address is held as 128 bits in four 32-bit words; an IPv4 address is stored as its
// IPv4-mapped IPv6 form ::ffff:a.b.c.d (RFC 4291, 2.5.5.2) with its prefix length raised by 96.
// One comparison then serves both families, and a dual-stack socket's peer ::ffff:127.0.0.1
// matches the entry 127.0.0.1, as 127.0.0.1 matches the entry ::ffff:127.0.0.1.

import { ValueRejected } from "./errors.ts";

export interface ClientList {
  /** The entries as written, for messages and the status page. */
  readonly entries: readonly string[];
  /** Eight words per entry: the network's four words (already masked), then the mask's four. */
  readonly ranges: Uint32Array;
}

/** The word ::ffff:0:0/96 puts before an IPv4 address. */
const MAPPED_WORD = 0x0000ffff;

const ANY = "any";

/** Peer addresses are parsed into these buffers: no allocation per connection. */
const peer = new Uint32Array(4);
const groups = new Uint16Array(8);

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** 0-15 for a hex digit, else -1. */
function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

/**
 * Dotted-quad IPv4 in text[start, end) as an unsigned 32-bit number, or -1. Four decimal parts
 * of 0-255; a leading zero is refused, since some tools read 010 as octal 8 (inet_pton does too).
 */
function parseIPv4(text: string, start: number, end: number): number {
  let value = 0;
  let parts = 0;
  let i = start;
  while (parts < 4) {
    const partStart = i;
    let part = 0;
    while (i < end && isDigit(text.charCodeAt(i))) {
      part = part * 10 + (text.charCodeAt(i) - 48);
      i++;
      if (i - partStart > 3) return -1;
    }
    const length = i - partStart;
    if (length === 0 || part > 255 || (length > 1 && text.charCodeAt(partStart) === 48)) return -1;
    value = value * 256 + part;
    parts++;
    if (parts < 4) {
      if (i >= end || text.charCodeAt(i) !== 46) return -1;
      i++;
    }
  }
  return i === end ? value : -1;
}

/**
 * IPv6 in text[start, end) into `out` as four words; false if it is not one. Accepts every
 * RFC 4291 (2.2) text form: 1-4 hex digits a group in either case, one "::" anywhere, and a
 * dotted IPv4 address as the last 32 bits.
 */
function parseIPv6(text: string, start: number, end: number, out: Uint32Array): boolean {
  // Every one of the eight groups is written below (parsed, moved past the "::", or zeroed).
  let count = 0;
  let gap = -1;
  let i = start;
  if (end - start >= 2 && text.charCodeAt(i) === 58 && text.charCodeAt(i + 1) === 58) {
    gap = 0;
    i += 2;
  }
  while (i < end) {
    if (count === 8) return false;
    const groupStart = i;
    let group = 0;
    let digit: number;
    while (i < end && (digit = hexValue(text.charCodeAt(i))) !== -1) {
      group = group * 16 + digit;
      i++;
    }
    if (i < end && text.charCodeAt(i) === 46) {
      // The dotted IPv4 tail: the rest of the text, worth two groups.
      if (count > 6) return false;
      const v4 = parseIPv4(text, groupStart, end);
      if (v4 === -1) return false;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      break;
    }
    const length = i - groupStart;
    if (length === 0 || length > 4) return false;
    groups[count++] = group;
    if (i === end) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && text.charCodeAt(i) === 58) {
      if (gap !== -1) return false;
      gap = count;
      i++;
    } else if (i === end) {
      return false; // a trailing single ":"
    }
  }
  if (gap === -1) {
    if (count !== 8) return false;
  } else {
    if (count > 7) return false; // "::" stands for at least one group
    const zeros = 8 - count;
    for (let g = count - 1; g >= gap; g--) groups[g + zeros] = groups[g]!;
    for (let g = gap; g < gap + zeros; g++) groups[g] = 0;
  }
  for (let w = 0; w < 4; w++) out[w] = ((groups[2 * w] << 16) | groups[2 * w + 1]) >>> 0;
  return true;
}

/** Fills `out` with the address in text[start, end), IPv4 as IPv4-mapped; returns the family, or 0. */
function parseAddress(text: string, start: number, end: number, out: Uint32Array): 4 | 6 | 0 {
  for (let i = start; i < end; i++) {
    if (text.charCodeAt(i) === 58) return parseIPv6(text, start, end, out) ? 6 : 0;
  }
  const v4 = parseIPv4(text, start, end);
  if (v4 === -1) return 0;
  out[0] = 0;
  out[1] = 0;
  out[2] = MAPPED_WORD;
  out[3] = v4;
  return 4;
}

/** The four mask words of a prefix length of 0-128. */
function maskWords(prefix: number): number[] {
  return [0, 1, 2, 3].map((w) => {
    const bits = Math.min(32, Math.max(0, prefix - 32 * w));
    return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  });
}

/** One entry, `ADDRESS` or `ADDRESS/PREFIX`, as eight words; throws ValueRejected naming it. */
function parseEntry(entry: string): number[] {
  const refuse = (why: string) => new ValueRejected(`"${entry}" ${why}`);
  if (entry.includes("%")) throw refuse("has a zone id (%...), which client lists do not take");
  if (entry.startsWith("[")) throw refuse("is in brackets; write the IPv6 address without them");
  const slash = entry.indexOf("/");
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const words = new Uint32Array(4);
  const family = parseAddress(address, 0, address.length, words);
  if (family === 0) {
    const hint = /^[\d.]+$/.test(address) || address.includes(":") ? "" : " (host names are not looked up)";
    throw refuse(`is not an IPv4 or IPv6 address${hint}`);
  }
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash !== -1) {
    const text = entry.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(text) || Number(text) > bits) {
      throw refuse(`has a bad prefix length: an IPv${family} prefix is /0 to /${bits}`);
    }
    prefix = Number(text);
  }
  // IPv4 ranges live in the ::ffff:0:0/96 block; host bits beyond the prefix are ignored.
  const mask = maskWords(family === 4 ? prefix + 96 : prefix);
  return [...[0, 1, 2, 3].map((w) => (words[w] & mask[w]) >>> 0), ...mask];
}

/**
 * "any" (in any case) is null: every client. Otherwise entries separated by commas and/or
 * whitespace, each an IPv4 or IPv6 address with an optional /prefix.
 */
export function parseClientList(raw: string): ClientList | null {
  const entries = raw.split(/[\s,]+/).filter((entry) => entry !== "");
  if (entries.length === 0) throw new ValueRejected(`the list is empty; write ${ANY} to allow every client`);
  if (entries.some((entry) => entry.toLowerCase() === ANY)) {
    if (entries.length === 1) return null;
    throw new ValueRejected(`${ANY} stands alone, not in a list`);
  }
  const ranges = new Uint32Array(entries.length * 8);
  entries.forEach((entry, i) => ranges.set(parseEntry(entry), i * 8));
  return { entries, ranges };
}

/**
 * Whether a peer may connect. `address` is what node:net reports (remoteAddress), possibly with
 * a zone id, which is ignored; undefined is a Unix socket peer, which the socket's mode guards
 * instead. An address that cannot be parsed is refused.
 */
export function clientAllowed(list: ClientList | null, address: string | undefined): boolean {
  if (list === null || address === undefined) return true;
  const zone = address.indexOf("%");
  if (parseAddress(address, 0, zone === -1 ? address.length : zone, peer) === 0) return false;
  const { ranges } = list;
  for (let r = 0; r < ranges.length; r += 8) {
    if (
      (peer[0] & ranges[r + 4]) >>> 0 === ranges[r] &&
      (peer[1] & ranges[r + 5]) >>> 0 === ranges[r + 1] &&
      (peer[2] & ranges[r + 6]) >>> 0 === ranges[r + 2] &&
      (peer[3] & ranges[r + 7]) >>> 0 === ranges[r + 3]
    ) {
      return true;
    }
  }
  return false;
}
