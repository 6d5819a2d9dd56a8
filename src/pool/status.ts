// The pool status page: the numbers PHP-FPM's status page shows, and its renderings (text and
// JSON here, the metrics formats in status-metrics.ts). Pure: the pool takes the snapshot, this
// only formats it.
import type { BrokenScript } from "../scripts/loader.ts";
import { renderMetrics, secondsSince } from "./status-metrics.ts";
import type { ScriptFaultCount } from "../server/fault-tally.ts";
import type { PoolStatus, WorkerStatus } from "./status-snapshot.ts";

export interface RenderedStatus {
  contentType: string;
  body: string;
}

export type StatusFormat = "text" | "json" | "prometheus" | "openmetrics";

const TEXT_CONTENT_TYPE = "text/plain; charset=utf-8";
const JSON_CONTENT_TYPE = "application/json";
/** Prometheus text exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
/** OpenMetrics 1.0 text format. */
export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/**
 * The format a QUERY_STRING asks for, and whether it asks for the worker list. Like PHP-FPM,
 * only the keys count ("json&full", "full&json", "json=1"); json wins over the metrics formats,
 * and anything else (html, xml: not supported) gets text. `accept` may upgrade prometheus to
 * OpenMetrics, as Prometheus' own client libraries negotiate.
 */
export function statusFormat(query: string, accept?: string): { format: StatusFormat; full: boolean } {
  const keys = new Set<string>();
  for (const part of query.split("&")) {
    const eq = part.indexOf("=");
    const key = eq === -1 ? part : part.slice(0, eq);
    try {
      keys.add(decodeURIComponent(key.replace(/\+/g, " ")));
    } catch {
      keys.add(key);
    }
  }
  const full = keys.has("full");
  if (keys.has("json")) return { format: "json", full };
  if (keys.has("openmetrics")) return { format: "openmetrics", full };
  if (keys.has("prometheus")) return { format: prefersOpenMetrics(accept) ? "openmetrics" : "prometheus", full };
  return { format: "text", full };
}

/**
 * True when an Accept header ranks OpenMetrics above the 0.0.4 text format. A scraping
 * Prometheus sends "application/openmetrics-text;version=1.0.0,...,text/plain;version=0.0.4;q=0.5".
 */
function prefersOpenMetrics(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  let openMetrics = 0;
  let text = 0;
  for (const range of accept.split(",")) {
    const [type = "", ...params] = range.split(";").map((s) => s.trim().toLowerCase());
    let q = 1;
    for (const param of params) {
      if (param.startsWith("q=")) q = Number(param.slice(2)) || 0;
    }
    if (type === "application/openmetrics-text") openMetrics = Math.max(openMetrics, q);
    else if (type === "text/plain") text = Math.max(text, q);
  }
  return openMetrics > 0 && openMetrics >= text;
}

/** Renders a snapshot for the status page; `query` is QUERY_STRING, `accept` HTTP_ACCEPT. */
export function renderStatus(status: PoolStatus, query: string, accept?: string): RenderedStatus {
  const { format, full } = statusFormat(query, accept);
  switch (format) {
    case "json":
      return { contentType: JSON_CONTENT_TYPE, body: renderJson(status, full) };
    case "prometheus":
      return { contentType: PROMETHEUS_CONTENT_TYPE, body: renderMetrics(status, full, false) };
    case "openmetrics":
      return { contentType: OPENMETRICS_CONTENT_TYPE, body: renderMetrics(status, full, true) };
    default:
      return { contentType: TEXT_CONTENT_TYPE, body: renderText(status, full) };
  }
}

/** The pool-wide fields in PHP-FPM's order, under PHP-FPM's names, then tscgi's own. */
function poolFields(s: PoolStatus, now: number, time: (ms: number) => string | number): [string, string | number][] {
  return [
    ["pool", s.pool],
    ["process manager", s.processManager],
    ["start time", time(s.startTime)],
    ["start since", secondsSince(s.startTime, now)],
    ["accepted conn", s.acceptedConn],
    ["listen queue", s.listenQueue],
    ["max listen queue", s.maxListenQueue],
    ["listen queue len", s.listenQueueLen],
    ["idle processes", s.idleProcesses],
    ["active processes", s.activeProcesses],
    ["total processes", s.totalProcesses],
    ["max active processes", s.maxActiveProcesses],
    ["max children reached", s.maxChildrenReached],
    ["slow requests", s.slowRequests],
    ["rejected requests", s.rejectedRequests],
    ["worker restarts", s.workerRestarts],
    ["max connections reached", s.maxConnectionsReached],
  ];
}

function workerFields(w: WorkerStatus, now: number, time: (ms: number) => string | number): [string, string | number][] {
  return [
    ["pid", w.pid],
    ["state", w.state],
    ["start time", time(w.startTime)],
    ["start since", secondsSince(w.startTime, now)],
    ["requests", w.requests],
    ["request duration", Math.round(w.requestDuration)],
    ["request method", w.requestMethod || "-"],
    ["request uri", w.requestUri || "-"],
    ["content length", w.contentLength],
    ["user", w.user || "-"],
    ["script", w.script || "-"],
    ["last request cpu", Math.round(w.lastRequestCpu * 100) / 100],
    ["last request memory", w.lastRequestMemory],
  ];
}

/** JSON as PHP-FPM's `?json`: "start time" in epoch seconds, durations in microseconds. */
function renderJson(s: PoolStatus, full: boolean): string {
  const now = s.now ?? Date.now();
  const epoch = (ms: number) => Math.floor(ms / 1000);
  const out: Record<string, unknown> = Object.fromEntries(poolFields(s, now, epoch));
  out["script faults"] = (s.scriptFaults ?? []).map((f) => ({
    script: f.script,
    faults: f.faults,
    exit: f.exit,
    uncaught: f.uncaught,
    rejection: f.rejection,
    runaway: f.runaway,
    "worker deaths": f.death,
  }));
  out["broken scripts"] = (s.brokenScripts ?? []).map((b) => ({
    file: b.file,
    line: b.line,
    column: b.column,
    message: b.message,
    "last good": b.lastGood,
  }));
  if (full) out.processes = s.processes.map((w) => Object.fromEntries(workerFields(w, now, epoch)));
  return JSON.stringify(out);
}

/** Label column width of PHP-FPM's text page: "max active processes: " is the longest label. */
const TEXT_COLUMN = 22;

function textLine(label: string, value: string | number): string {
  // tscgi's longer labels keep one space after the colon.
  return `${`${label}:`.padEnd(Math.max(TEXT_COLUMN, label.length + 2))}${value}\n`;
}

/** Text as PHP-FPM's default page; per-process blocks after a row of stars (as `?full`). */
function renderText(s: PoolStatus, full: boolean): string {
  const now = s.now ?? Date.now();
  let out = "";
  for (const [label, value] of poolFields(s, now, clfTime)) out += textLine(label, value);
  for (const f of s.scriptFaults ?? []) out += textLine("script faults", `${oneLine(f.script)} ${f.faults} (${faultKinds(f)})`);
  for (const b of s.brokenScripts ?? []) out += textLine("broken script", oneLine(describeBroken(b)));
  if (!full) return out;
  for (const w of s.processes) {
    out += "\n************************\n";
    for (const [label, value] of workerFields(w, now, clfTime)) {
      // PHP-FPM's text page alone spells it "request URI"; lines are one per field, so a
      // newline in a value (a URI can hold an encoded one only) is shown escaped.
      const shown = typeof value === "string" ? value.replace(/\r/g, "\\r").replace(/\n/g, "\\n") : value;
      out += textLine(label === "request uri" ? "request URI" : label, label === "last request cpu" ? (value as number).toFixed(2) : shown);
    }
  }
  return out;
}

const FAULT_LABELS = [
  ["exit", "exit"],
  ["uncaught", "uncaught"],
  ["rejection", "rejection"],
  ["runaway", "runaway"],
  ["death", "worker deaths"],
] as const;

/** "3 exit, 1 worker deaths": the kinds a script's faults were, leaving out the ones it had none of. */
function faultKinds(f: ScriptFaultCount): string {
  return FAULT_LABELS.filter(([kind]) => f[kind] > 0)
    .map(([kind, label]) => `${f[kind]} ${label}`)
    .join(", ");
}

/** "_lib/db.ts:3:9 Expected \";\" (last good version answers users.ts)": where, what, and what still works. */
function describeBroken(b: BrokenScript): string {
  const serving = b.lastGood.length > 0 ? `last good version answers ${b.lastGood.join(", ")}` : "no version answers";
  return `${b.file}:${b.line}:${b.column} ${b.message} (${serving})`;
}

/**
 * One list of broken files from every worker's: a file once, with every script any worker keeps
 * answering with its last good version.
 */
export function mergeBroken(lists: Iterable<BrokenScript[] | undefined>): BrokenScript[] {
  const byFile = new Map<string, BrokenScript>();
  for (const list of lists) {
    for (const b of list ?? []) {
      const known = byFile.get(b.file);
      if (known === undefined) byFile.set(b.file, { ...b, lastGood: [...b.lastGood] });
      else for (const script of b.lastGood) if (!known.lastGood.includes(script)) known.lastGood.push(script);
    }
  }
  return [...byFile.values()].sort((a, b) => a.file.localeCompare(b.file));
}

/** Lines are one per field: a newline in a value is shown escaped. */
function oneLine(value: string): string {
  return value.replace(/\r/g, "\\r").replace(/\n/g, "\\n");
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** strftime "%d/%b/%Y:%H:%M:%S %z" in local time, the format of PHP-FPM's text page. */
export function clfTime(ms: number): string {
  const d = new Date(ms);
  const offset = -d.getTimezoneOffset();
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  return (
    `${two(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${sign}${two(Math.floor(abs / 60))}${two(abs % 60)}`
  );
}
