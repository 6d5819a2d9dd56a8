// Sizes ("512k", "64m") and durations ("30s", "500ms") as operators write them in config.

import { ValueRejected } from "./errors.ts";

const SIZE = /^(\d+)([kmg]?)$/i;
const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Bytes from "1048576", "512k", "64m" or "1g" (1024-based, case-insensitive). */
export function parseSize(text: string): number {
  const match = SIZE.exec(text.trim());
  if (match === null) throw new ValueRejected();
  const bytes = Number(match[1]) * SIZE_UNITS[match[2].toLowerCase()];
  if (!Number.isSafeInteger(bytes)) throw new ValueRejected("that is too large");
  return bytes;
}

/** A size as an operator writes it: "128k" for 131072, "64m", or the bare number of bytes. */
export function sizeText(bytes: number): string {
  for (const unit of ["g", "m", "k"]) {
    const size = SIZE_UNITS[unit];
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/i;
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Node's timers hold at most 2^31-1 ms (about 24.8 days); a longer delay is silently replaced
 * by 1 ms, which would turn a generous timeout into an instant one.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** Milliseconds from "30s", "500ms", "2m", "1h", or a bare number of seconds ("1.5"). */
export function parseDuration(text: string): number {
  const match = DURATION.exec(text.trim());
  if (match === null) throw new ValueRejected();
  const ms = Math.round(Number(match[1]) * DURATION_UNITS[(match[2] ?? "s").toLowerCase()]);
  if (ms > MAX_DURATION_MS) throw new ValueRejected("the longest is 24d (2147483647ms)");
  return ms;
}
