// The kinds of value a configuration key holds (whole numbers, sizes, durations, yes/no, paths,
// users, log destinations): each with its parser and the words that say what it accepts.
import { ValueRejected } from "./errors.ts";
import type { ConfigKey, ParsedConfig } from "./types.ts";
import { parseIdOrName, resolveId } from "./ids.ts";
import { parseDuration, parseSize } from "./units.ts";

export interface ParseContext {
  /** Makes a relative path absolute (against the working directory when loading). */
  resolvePath: (path: string) => string;
}

export interface KeyDef<T> {
  /** The default, written as it would be in a config file. */
  default: string;
  /** Placeholder for the value in --help: `--listen ADDR`. */
  metavar: string;
  /** What the key accepts, completing "expected ...". */
  allowed: string;
  /** What the key does, one line. */
  description: string;
  /** Text to value; throws ValueRejected. Pure: no file system access. */
  parse(raw: string, ctx: ParseContext): T;
  /**
   * A check against the world (the file system, the user database), run on the value finally
   * chosen only; throws ValueRejected. What it returns, if anything, replaces the value.
   */
  check?(value: T): T | void;
}

/** Each key's parser gives its ParsedConfig type; resolve.ts then settles the final Config. */
export type Schema = { readonly [K in ConfigKey]: KeyDef<ParsedConfig[K]> };

const SIZE_ALLOWED = "a size like 1048576, 512k, 64m, 1g";
const DURATION_ALLOWED = "a duration like 30s, 500ms, 2m, 1h (a bare number is seconds)";
/** What a client address list (see clients.ts) accepts. */
export const CLIENTS_ALLOWED = "any, or IPv4 and IPv6 addresses with an optional /prefix, separated by commas or spaces";

export function integer(min: number, max: number): Pick<KeyDef<number>, "allowed" | "metavar" | "parse"> {
  const allowed = max === Number.MAX_SAFE_INTEGER ? `a whole number of at least ${min}` : `a whole number from ${min} to ${max}`;
  return {
    allowed,
    metavar: "N",
    parse(raw) {
      if (!/^\d+$/.test(raw.trim())) throw new ValueRejected();
      const n = Number(raw.trim());
      if (n < min || n > max) throw new ValueRejected(`${n} is out of range`);
      return n;
    },
  };
}

export function size(min: number): Pick<KeyDef<number>, "allowed" | "metavar" | "parse"> {
  return {
    allowed: SIZE_ALLOWED,
    metavar: "SIZE",
    parse(raw) {
      const bytes = parseSize(raw);
      if (bytes < min) throw new ValueRejected(`it must be at least ${min}`);
      return bytes;
    },
  };
}

export const duration: Pick<KeyDef<number>, "allowed" | "metavar" | "parse"> = {
  allowed: DURATION_ALLOWED,
  metavar: "DURATION",
  parse: parseDuration,
};

/** "auto" (any case), else a whole number in range. */
export function autoOrInteger(min: number, max: number): Pick<KeyDef<number | "auto">, "allowed" | "metavar" | "parse"> {
  const { parse } = integer(min, max);
  return {
    allowed: `auto or a whole number from ${min} to ${max}`,
    metavar: "N",
    parse: (raw, ctx) => (raw.trim().toLowerCase() === "auto" ? "auto" : parse(raw, ctx)),
  };
}

const YES = ["yes", "on", "true", "1"];
const NO = ["no", "off", "false", "0"];

export const yesNo: Pick<KeyDef<boolean>, "allowed" | "metavar" | "parse"> = {
  allowed: "yes or no (also on/off, true/false, 1/0)",
  metavar: "yes|no",
  parse(raw) {
    const word = raw.trim().toLowerCase();
    if (YES.includes(word)) return true;
    if (NO.includes(word)) return false;
    throw new ValueRejected();
  },
};

/** off (any case), else a URL path for a built-in page, matched as written. */
export const pagePath: Pick<KeyDef<string | null>, "allowed" | "metavar" | "parse"> = {
  allowed: "off or a URL path starting with /, like /status",
  metavar: "PATH",
  parse(raw) {
    const value = raw.trim();
    if (value.toLowerCase() === "off") return null;
    if (!value.startsWith("/")) throw new ValueRejected("it must start with /");
    if (/[\s?#%\\]/.test(value)) throw new ValueRejected("it must be a plain path, without spaces, ?, #, % or \\");
    return value;
  },
};

/** A user or group: a name looked up when loading, or a numeric id. */
export function owner(
  file: string,
  what: "user" | "group",
): Pick<KeyDef<number | string | null>, "allowed" | "metavar" | "parse" | "check"> {
  return {
    allowed: `a ${what} name from ${file}, a numeric id, or "" for the process's own`,
    metavar: what.toUpperCase(),
    parse: parseIdOrName,
    check: (value) => resolveId(value, file, what),
  };
}

/** A log destination: one of the keywords (any case), else a file path made absolute. */
export function logTarget(keywords: readonly string[], raw: string, ctx: ParseContext): string {
  const value = raw.trim();
  if (value === "") throw new ValueRejected("it is empty");
  const keyword = value.toLowerCase();
  return keywords.includes(keyword) ? keyword : ctx.resolvePath(value);
}
