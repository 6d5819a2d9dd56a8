// Access-log line formats: access_format compiled once into a function from a finished request to its line.
import { DEFAULT_TIME_FORMAT, parseAccessFormat, type AccessFormatPart } from "../config/access-format.ts";
import { escapeLogText } from "./log.ts";

/** One finished request, as the access log sees it. Optional fields print as "-" (or 0) when absent. */
export interface AccessEntry {
  /** REMOTE_ADDR. */
  remoteAddr: string;
  method: string;
  /** REQUEST_URI: path and query string, as the client sent them. */
  uri: string;
  status: number;
  /** Milliseconds from dispatch to the end of the response. */
  duration: number;
  /** The script that ran, relative to the script root, or "-" when none was resolved. */
  script: string;
  /** QUERY_STRING; when absent, what follows "?" in `uri`. */
  query?: string;
  /** The request's CONTENT_LENGTH. */
  contentLength?: number;
  /** REMOTE_USER. */
  remoteUser?: string;
  /** Every CGI param of the request, for %{NAME}e. */
  params?: Readonly<Record<string, string>>;
  /** A response header's value by name, for %{Name}o. */
  responseHeader?: (name: string) => string | null | undefined;
  /** When the response ended, in epoch milliseconds; the time of formatting when absent. The start is `time - duration`. */
  time?: number;
}

export type AccessFormatter = (entry: AccessEntry) => string;

export interface AccessFormatOptions {
  /** %n. */
  pool?: string;
  /** %p and the JSON `pid`: this process by default. */
  pid?: number;
  /** %P: this process by default, which is the master when it serves alone; a pool worker passes process.ppid. */
  masterPid?: number;
  /** Epoch milliseconds, for entries without `time`. */
  now?: () => number;
  /** Resident memory in bytes, for %M; read only by formats that use it. */
  memory?: () => number;
}

/**
 * Compiles access_format ("default", "json" or PHP-FPM tokens) once; the returned function does
 * only the work of the tokens used. Throws AccessFormatError for a bad format.
 *
 * Text formats escape every request-derived field (control characters, quotes, backslashes), so
 * a request can neither split a line nor break out of a quoted field. "json" writes one object per
 * line with these fields: `time` (ISO 8601, UTC, when the response ended), `remote_addr`,
 * `remote_user` (null when none), `method`, `uri` (REQUEST_URI), `query` (the query string, "" when
 * none), `status`, `duration_ms` (3 decimals), `content_length` (of the request), `script` (relative
 * to the script root, null when none ran) and `pid`. Memory is left out: reading it costs a system
 * call per request; a token format's %M has it.
 */
export function compileAccessFormat(format: string, options: AccessFormatOptions = {}): AccessFormatter {
  const parsed = parseAccessFormat(format);
  const now = options.now ?? Date.now;
  switch (parsed.kind) {
    case "default":
      return defaultFormat(now);
    case "json":
      return jsonFormat(now, options.pid ?? process.pid);
    case "tokens":
      return tokenFormat(parsed.parts, options, now);
  }
}

/** The line tscgi has always written: `addr - [time] "METHOD uri" status 1.234ms "script"`. */
function defaultFormat(now: () => number): AccessFormatter {
  let second = -1;
  let stamp = "";
  return (e) => {
    // The timestamp changes once a second; formatting it per request would be waste.
    const s = Math.floor((e.time ?? now()) / 1000);
    if (s !== second) {
      second = s;
      stamp = new Date(s * 1000).toISOString().replace(".000Z", "Z");
    }
    return (
      `${escapeLogText(e.remoteAddr || "-")} - [${stamp}] "${escapeLogText(e.method)} ${escapeLogText(e.uri)}" ` +
      `${e.status} ${e.duration.toFixed(3)}ms "${escapeLogText(e.script)}"`
    );
  };
}

// JSON.stringify escapes C0 controls, quotes and backslashes, but not DEL, C1 (\x9b is a
// terminal's CSI) or the line separators some log viewers split on.
const JSON_UNSAFE = /[\x7f-\x9f\u2028\u2029]/;
const JSON_UNSAFE_ALL = /[\x7f-\x9f\u2028\u2029]/g;

function jsonFormat(now: () => number, pid: number): AccessFormatter {
  return (e) => {
    const line = JSON.stringify({
      time: new Date(e.time ?? now()).toISOString(),
      remote_addr: e.remoteAddr && e.remoteAddr !== "-" ? e.remoteAddr : null,
      remote_user: e.remoteUser || null,
      method: e.method,
      uri: e.uri,
      query: queryOf(e),
      status: e.status,
      duration_ms: Math.round(e.duration * 1000) / 1000,
      content_length: e.contentLength ?? 0,
      script: e.script === "-" ? null : e.script,
      pid,
    });
    return JSON_UNSAFE.test(line) ? line.replace(JSON_UNSAFE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`) : line;
  };
}

function queryOf(e: AccessEntry): string {
  if (e.query !== undefined) return e.query;
  const q = e.uri.indexOf("?");
  return q === -1 ? "" : e.uri.slice(q + 1);
}

/** One compiled token: its text for a request that ended at `time` (epoch ms). */
type Piece = (e: AccessEntry, time: number) => string;

function tokenFormat(parts: readonly AccessFormatPart[], options: AccessFormatOptions, now: () => number): AccessFormatter {
  const pieces: Array<string | Piece> = [];
  let usesTime = false;
  for (const part of parts) {
    if (part.kind === "text") {
      pieces.push(part.text);
      continue;
    }
    pieces.push(compileToken(part.token, part.arg, options));
    if (part.token === "t" || part.token === "T") usesTime = true;
  }
  // Adjacent constants (a pid, the pool name) become one string.
  const merged: Array<string | Piece> = [];
  for (const piece of pieces) {
    const last = merged.length - 1;
    if (typeof piece === "string" && last >= 0 && typeof merged[last] === "string") merged[last] += piece;
    else merged.push(piece);
  }
  if (merged.length === 1 && typeof merged[0] === "string") {
    const constant = merged[0];
    return () => constant;
  }
  return (e) => {
    const time = usesTime ? (e.time ?? now()) : 0;
    let line = "";
    for (const piece of merged) line += typeof piece === "string" ? piece : piece(e, time);
    return line;
  };
}

function compileToken(token: string, arg: string | null, options: AccessFormatOptions): string | Piece {
  switch (token) {
    case "C":
      return "-";
    case "d":
      if (arg === "milliseconds") return (e) => e.duration.toFixed(3);
      if (arg === "microseconds") return (e) => String(Math.round(e.duration * 1000));
      return (e) => (e.duration / 1000).toFixed(3);
    case "e": {
      const name = arg!;
      return (e) => escapeLogText(e.params?.[name] ?? "-");
    }
    case "f":
      return (e) => escapeLogText(e.script || "-");
    case "l":
      return (e) => String(e.contentLength ?? 0);
    case "m":
      return (e) => escapeLogText(e.method || "-");
    case "M": {
      const memory = options.memory ?? (() => process.memoryUsage.rss());
      const divisor = arg === "kilobytes" ? 1024 : arg === "megabytes" ? 1024 * 1024 : 1;
      return () => String(Math.floor(memory() / divisor));
    }
    case "n":
      return options.pool ?? "tscgi";
    case "o": {
      const name = arg!;
      return (e) => escapeLogText(e.responseHeader?.(name) ?? "-");
    }
    case "p":
      return String(options.pid ?? process.pid);
    case "P":
      return String(options.masterPid ?? process.pid);
    case "q":
      return (e) => escapeLogText(queryOf(e));
    case "Q":
      return (e) => (queryOf(e) === "" ? "" : "?");
    case "r":
      // PHP-FPM's %r is the URI without its query string, so "%r%Q%q" is the whole of it.
      return (e) => {
        const q = e.uri.indexOf("?");
        return escapeLogText(q === -1 ? e.uri : e.uri.slice(0, q));
      };
    case "R":
      return (e) => escapeLogText(e.remoteAddr || "-");
    case "s":
      return (e) => String(e.status);
    case "t": {
      const format = timeFormat(arg ?? DEFAULT_TIME_FORMAT);
      return (e, time) => format(time - e.duration);
    }
    case "T": {
      const format = timeFormat(arg ?? DEFAULT_TIME_FORMAT);
      return (_e, time) => format(time);
    }
    case "u":
      return (e) => escapeLogText(e.remoteUser || "-");
    default:
      // parseAccessFormat admits only the tokens above.
      throw new Error(`access format token %${token} has no formatter`);
  }
}

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

function pad(n: number, width = 2, fill = "0"): string {
  return String(n).padStart(width, fill);
}

function zoneOffset(d: Date): string {
  const minutes = -d.getTimezoneOffset();
  const abs = Math.abs(minutes);
  return (minutes < 0 ? "-" : "+") + pad(Math.floor(abs / 60)) + pad(abs % 60);
}

// Built per call (at most once a second, see timeFormat), so it follows a change of TZ as Date does.
function zoneName(d: Date): string {
  const parts = new Intl.DateTimeFormat("en-US", { timeZoneName: "short" }).formatToParts(d);
  return parts.find((p) => p.type === "timeZoneName")?.value ?? zoneOffset(d);
}

function dayOfYear(d: Date): number {
  return Math.round((Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - Date.UTC(d.getFullYear(), 0, 1)) / 86_400_000) + 1;
}

/** The conversions of STRFTIME_CONVERSIONS, in local time as C's strftime with localtime(). */
const CONVERSIONS: Record<string, (d: Date) => string> = {
  a: (d) => DAYS[d.getDay()].slice(0, 3),
  A: (d) => DAYS[d.getDay()],
  b: (d) => MONTHS[d.getMonth()].slice(0, 3),
  h: (d) => MONTHS[d.getMonth()].slice(0, 3),
  B: (d) => MONTHS[d.getMonth()],
  d: (d) => pad(d.getDate()),
  D: (d) => `${pad(d.getMonth() + 1)}/${pad(d.getDate())}/${pad(d.getFullYear() % 100)}`,
  e: (d) => pad(d.getDate(), 2, " "),
  F: (d) => `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`,
  H: (d) => pad(d.getHours()),
  I: (d) => pad(d.getHours() % 12 || 12),
  j: (d) => pad(dayOfYear(d), 3),
  k: (d) => pad(d.getHours(), 2, " "),
  l: (d) => pad(d.getHours() % 12 || 12, 2, " "),
  m: (d) => pad(d.getMonth() + 1),
  M: (d) => pad(d.getMinutes()),
  n: () => "\n",
  p: (d) => (d.getHours() < 12 ? "AM" : "PM"),
  r: (d) => `${pad(d.getHours() % 12 || 12)}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${d.getHours() < 12 ? "AM" : "PM"}`,
  R: (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}`,
  s: (d) => String(Math.floor(d.getTime() / 1000)),
  S: (d) => pad(d.getSeconds()),
  t: () => "\t",
  T: (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`,
  u: (d) => String(d.getDay() || 7),
  w: (d) => String(d.getDay()),
  y: (d) => pad(d.getFullYear() % 100),
  Y: (d) => String(d.getFullYear()),
  z: zoneOffset,
  Z: zoneName,
  "%": () => "%",
};

/** A strftime format (already checked by parseAccessFormat), formatted at most once per second. */
export function timeFormat(format: string): (epochMs: number) => string {
  const pieces: Array<string | ((d: Date) => string)> = [];
  let text = "";
  for (let i = 0; i < format.length; i++) {
    const convert = format[i] === "%" ? CONVERSIONS[format[i + 1] ?? ""] : undefined;
    if (convert === undefined) {
      text += format[i];
      continue;
    }
    if (text !== "") pieces.push(text);
    text = "";
    pieces.push(convert);
    i++;
  }
  if (text !== "") pieces.push(text);
  let second = Number.NaN;
  let stamp = "";
  return (epochMs) => {
    const s = Math.floor(epochMs / 1000);
    if (s !== second) {
      second = s;
      const d = new Date(s * 1000);
      stamp = "";
      for (const piece of pieces) stamp += typeof piece === "string" ? piece : piece(d);
    }
    return stamp;
  };
}

/** The conversions timeFormat implements, so a test can hold them to STRFTIME_CONVERSIONS. */
export const TIME_CONVERSIONS: readonly string[] = Object.keys(CONVERSIONS);
