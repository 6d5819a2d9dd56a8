// The access_format grammar: "default", "json", or PHP-FPM's access.format tokens, parsed and checked.
// Pure (no I/O), so the config schema can validate the key and the server can compile the same parts.

import { TscgiError } from "../errors.ts";

/** What a token accepts between braces: nothing, an optional unit, a required name, a strftime format. */
type TokenArg = { kind: "none" } | { kind: "unit"; units: Readonly<Record<string, string>> } | { kind: "name" } | { kind: "strftime" };

export interface TokenSpec {
  arg: TokenArg;
  meaning: string;
}

const NONE: TokenArg = { kind: "none" };

/**
 * PHP-FPM's tokens (sapi/fpm/www.conf.default, access.format), in its order. Unit names are
 * matched case-insensitively as PHP-FPM does, and mapped to one canonical name; PHP-FPM's own
 * spelling "miliseconds" is accepted beside "milliseconds".
 */
const ACCESS_FORMAT_TOKENS: Readonly<Record<string, TokenSpec>> = {
  "%": { arg: NONE, meaning: "a literal %" },
  C: {
    arg: { kind: "unit", units: { total: "total", user: "user", system: "system" } },
    meaning: "CPU use of the request (%{total}C, %{user}C, %{system}C): not measured, always -",
  },
  d: {
    arg: {
      kind: "unit",
      units: {
        seconds: "seconds",
        milliseconds: "milliseconds",
        miliseconds: "milliseconds",
        mili: "milliseconds",
        microseconds: "microseconds",
        micro: "microseconds",
      },
    },
    meaning: "time taken to serve the request: %d or %{seconds}d (3 decimals), %{milliseconds}d (3 decimals), %{microseconds}d",
  },
  e: { arg: { kind: "name" }, meaning: "a CGI param of the request, %{NAME}e (- when absent)" },
  f: { arg: NONE, meaning: "the script that ran, relative to the script root (- when none)" },
  l: { arg: NONE, meaning: "the request's Content-Length (0 when absent)" },
  m: { arg: NONE, meaning: "the request method" },
  M: {
    arg: {
      kind: "unit",
      units: { bytes: "bytes", kilobytes: "kilobytes", kilo: "kilobytes", megabytes: "megabytes", mega: "megabytes" },
    },
    meaning: "the worker's resident memory when the request ended: %M or %{bytes}M, %{kilobytes}M, %{megabytes}M",
  },
  n: { arg: NONE, meaning: "the pool name (tscgi)" },
  o: { arg: { kind: "name" }, meaning: "a response header, %{Name}o (- when absent)" },
  p: { arg: NONE, meaning: "the worker's pid" },
  P: { arg: NONE, meaning: "the master's pid" },
  q: { arg: NONE, meaning: "the query string" },
  Q: { arg: NONE, meaning: "? when there is a query string, else nothing" },
  r: { arg: NONE, meaning: "the request URI without its query string (see %Q%q)" },
  R: { arg: NONE, meaning: "the client's address (REMOTE_ADDR)" },
  s: { arg: NONE, meaning: "the response status" },
  t: { arg: { kind: "strftime" }, meaning: 'when the request started, local time; %{strftime format}t, default "%d/%b/%Y:%H:%M:%S %z"' },
  T: { arg: { kind: "strftime" }, meaning: "when the request ended, as %t" },
  u: { arg: NONE, meaning: "the authenticated user (REMOTE_USER, - when none)" },
};

/** The tokens as a message lists them. */
export const ACCESS_FORMAT_TOKEN_LIST = Object.keys(ACCESS_FORMAT_TOKENS)
  .map((letter) => "%" + letter)
  .join(" ");

/** strftime conversions %{...}t and %{...}T understand (the C ones a log line needs). */
export const STRFTIME_CONVERSIONS = "aAbBdDeFhHIjklmMnprRsStTuwyYzZ%";

/** The default of %t and %T, as PHP-FPM's. */
export const DEFAULT_TIME_FORMAT = "%d/%b/%Y:%H:%M:%S %z";

export type AccessFormatPart =
  | { readonly kind: "text"; readonly text: string }
  /** `arg`: null when none was given; a unit in its canonical name; a name or strftime format as written. */
  | { readonly kind: "token"; readonly token: string; readonly arg: string | null };

export type AccessFormat =
  { readonly kind: "default" } | { readonly kind: "json" } | { readonly kind: "tokens"; readonly parts: readonly AccessFormatPart[] };

/** An access_format that names an unknown token or gives a token an argument it does not take. */
export class AccessFormatError extends TscgiError {
  readonly code = "TSCGI_E_CONFIG_ACCESS_FORMAT";

  constructor(
    readonly format: string,
    /** The offending token as written (`%x`, `%{days}d`), or "" when the fault is the whole format. */
    readonly token: string,
    /** What is wrong, without the key name: the config loader puts it after the key and value. */
    readonly detail: string,
  ) {
    super(`bad access_format ${JSON.stringify(format)}: ${detail}`);
  }
}

/** Parses an access_format value; throws AccessFormatError naming the token at fault and the valid ones. */
export function parseAccessFormat(format: string): AccessFormat {
  const name = format.trim().toLowerCase();
  if (name === "default") return { kind: "default" };
  if (name === "json") return { kind: "json" };
  if (name === "") throw new AccessFormatError(format, "", 'it is empty; write "default", "json" or a format of tokens');
  const parts: AccessFormatPart[] = [];
  let text = "";
  let i = 0;
  while (i < format.length) {
    const percent = format.indexOf("%", i);
    if (percent === -1) {
      text += format.slice(i);
      break;
    }
    text += format.slice(i, percent);
    let j = percent + 1;
    let arg: string | null = null;
    if (format[j] === "{") {
      const close = format.indexOf("}", j + 1);
      if (close === -1) {
        throw new AccessFormatError(format, format.slice(percent), `${format.slice(percent)}: missing the closing }`);
      }
      arg = format.slice(j + 1, close);
      j = close + 1;
    }
    const letter = format[j];
    const written = format.slice(percent, j + 1);
    if (letter === undefined) {
      const detail = arg === null ? "a lone % at the end (write %% for a literal %)" : `${written} at the end names no token`;
      throw new AccessFormatError(format, written, `${detail}; the tokens are ${ACCESS_FORMAT_TOKEN_LIST}`);
    }
    const spec = Object.hasOwn(ACCESS_FORMAT_TOKENS, letter) ? ACCESS_FORMAT_TOKENS[letter] : undefined;
    if (spec === undefined) {
      throw new AccessFormatError(format, written, `unknown token ${written}; the tokens are ${ACCESS_FORMAT_TOKEN_LIST}`);
    }
    i = j + 1;
    if (letter === "%" && arg === null) {
      text += "%";
      continue;
    }
    const checked = checkArg(format, written, letter, spec.arg, arg);
    if (text !== "") parts.push({ kind: "text", text });
    text = "";
    parts.push({ kind: "token", token: letter, arg: checked });
  }
  if (text !== "") parts.push({ kind: "text", text });
  return { kind: "tokens", parts };
}

function checkArg(format: string, written: string, letter: string, spec: TokenArg, arg: string | null): string | null {
  const fail = (detail: string) => new AccessFormatError(format, written, `${written}: ${detail}`);
  switch (spec.kind) {
    case "none":
      if (arg !== null) throw fail(`%${letter} takes no {argument}`);
      return null;
    case "unit": {
      if (arg === null) return null;
      const unit = Object.entries(spec.units).find(([name]) => name === arg.toLowerCase());
      if (unit === undefined) throw fail(`the unit of %${letter} is one of ${Object.keys(spec.units).join(", ")}`);
      return unit[1];
    }
    case "name":
      if (arg === null || arg === "") throw fail(`%${letter} needs a name between braces, like %{NAME}${letter}`);
      return arg;
    case "strftime": {
      if (arg === null) return null;
      if (arg === "") throw fail(`an empty time format; leave out the braces for the default ${DEFAULT_TIME_FORMAT}`);
      for (let k = 0; k < arg.length; k++) {
        if (arg[k] !== "%") continue;
        const conversion = arg[++k];
        if (conversion === undefined || !STRFTIME_CONVERSIONS.includes(conversion)) {
          const what = conversion === undefined ? "a lone % at the end" : `%${conversion} is not supported`;
          throw fail(`${what}; the time conversions are ${[...STRFTIME_CONVERSIONS].map((c) => "%" + c).join(" ")}`);
        }
      }
      return arg;
    }
  }
}
