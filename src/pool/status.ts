// The pool status page: the numbers PHP-FPM's status page shows, and its renderings (text, JSON,
// Prometheus 0.0.4, OpenMetrics 1.0). Pure: the pool takes the snapshot, this only formats it.

/** PHP-FPM's pm setting, shown as "process manager". */
export type ProcessManager = "static" | "dynamic" | "ondemand";

/** A worker's request stage, named as PHP-FPM's fpm_request_get_stage_name() names them. */
export type WorkerState = "Idle" | "Running" | "Finishing" | "Starting";

/** One worker, as `?full` lists it (PHP-FPM's per-process fields). */
export interface WorkerStatus {
  pid: number;
  state: WorkerState;
  /** When the worker started, ms since the epoch. */
  startTime: number;
  /** Requests this worker has served. */
  requests: number;
  /** Microseconds: of the request running now, else of the last one (as PHP-FPM). */
  requestDuration: number;
  /** REQUEST_METHOD of the current or last request; "-" when there was none. */
  requestMethod: string;
  /** REQUEST_URI (with its query string) of the current or last request; "-" when none. */
  requestUri: string;
  /** CONTENT_LENGTH of the current or last request. */
  contentLength: number;
  /** REMOTE_USER, "-" when none. */
  user: string;
  /** The script file, "-" when none. */
  script: string;
  /** CPU % of the last request; 0 while a request runs (PHP-FPM reports it once it ends). */
  lastRequestCpu: number;
  /** Bytes of memory (worker RSS) at the end of the last request; 0 while a request runs. */
  lastRequestMemory: number;
}

/** One snapshot of the pool. */
export interface PoolStatus {
  /** Pool name; tscgi has one pool, "tscgi". */
  pool: string;
  processManager: ProcessManager;
  /** When the master started, ms since the epoch. */
  startTime: number;
  /** When this snapshot was taken, ms since the epoch; "start since" is counted to it. Default: now. */
  now?: number;
  /** Connections accepted since start ("accepted conn"). */
  acceptedConn: number;
  /** Connections waiting in the listen backlog now. */
  listenQueue: number;
  /** The most connections seen waiting in the backlog since start. */
  maxListenQueue: number;
  /** The size of the backlog (listen_backlog). */
  listenQueueLen: number;
  idleProcesses: number;
  activeProcesses: number;
  totalProcesses: number;
  /** The most active workers at once since start. */
  maxActiveProcesses: number;
  /** Times the pool wanted another worker but was at `workers` already. */
  maxChildrenReached: number;
  /** Requests that ran past request_slowlog_timeout. */
  slowRequests: number;
  /** Requests answered 503 because a worker was at max_inflight (tscgi's own). */
  rejectedRequests: number;
  /** Workers replaced: recycled or crashed (tscgi's own). */
  workerRestarts: number;
  /** Every worker, for `?full`. */
  processes: WorkerStatus[];
}

export interface RenderedStatus {
  contentType: string;
  body: string;
}

export type StatusFormat = "text" | "json" | "prometheus" | "openmetrics";

export const TEXT_CONTENT_TYPE = "text/plain; charset=utf-8";
export const JSON_CONTENT_TYPE = "application/json";
/** Prometheus text exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
/** OpenMetrics 1.0 text format. */
export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** PHP-FPM sends these with every status and ping answer: a cached status is a wrong one. */
export const NO_CACHE_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ["Expires", "Thu, 01 Jan 1970 00:00:00 GMT"],
  ["Cache-Control", "no-cache, no-store, must-revalidate, max-age=0"],
];

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
export function prefersOpenMetrics(accept: string | undefined): boolean {
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

function secondsSince(from: number, now: number): number {
  return Math.max(0, Math.floor((now - from) / 1000));
}

/** The pool-wide fields in PHP-FPM's order, under PHP-FPM's names, then tscgi's own two. */
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
export function renderJson(s: PoolStatus, full: boolean): string {
  const now = s.now ?? Date.now();
  const epoch = (ms: number) => Math.floor(ms / 1000);
  const out: Record<string, unknown> = Object.fromEntries(poolFields(s, now, epoch));
  if (full) out.processes = s.processes.map((w) => Object.fromEntries(workerFields(w, now, epoch)));
  return JSON.stringify(out);
}

/** Label column width of PHP-FPM's text page: "max active processes: " is the longest label. */
const TEXT_COLUMN = 22;

function textLine(label: string, value: string | number): string {
  return `${`${label}:`.padEnd(TEXT_COLUMN)}${value}\n`;
}

/** Text as PHP-FPM's default page; per-process blocks after a row of stars (as `?full`). */
export function renderText(s: PoolStatus, full: boolean): string {
  const now = s.now ?? Date.now();
  let out = "";
  for (const [label, value] of poolFields(s, now, clfTime)) out += textLine(label, value);
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

// ---- Prometheus 0.0.4 and OpenMetrics 1.0 ----

type MetricType = "gauge" | "counter" | "info";
type Labels = Record<string, string>;

interface Family {
  /** The family name; counters without "_total", info families without "_info". */
  name: string;
  type: MetricType;
  help: string;
  samples: { labels?: Labels; value: number }[];
}

/**
 * Label values escape backslash, double quote and line feed, the same in both formats
 * (exposition formats doc; OpenMetrics 1.0, "Escaping").
 */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text: Prometheus 0.0.4 escapes backslash and line feed; OpenMetrics also the double quote. */
function escapeHelp(text: string, openMetrics: boolean): string {
  const out = text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
  return openMetrics ? out.replace(/"/g, '\\"') : out;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function formatLabels(labels: Labels | undefined): string {
  if (labels === undefined) return "";
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
  return pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
}

/**
 * The sample name of a family in each format. OpenMetrics names the counter family without
 * "_total" in TYPE and gives samples the suffix; 0.0.4 has no such split, so TYPE names the
 * sample. Info families are OpenMetrics-only; 0.0.4 gets the conventional "_info" gauge.
 */
function sampleName(family: Family): string {
  if (family.type === "counter") return `${family.name}_total`;
  if (family.type === "info") return `${family.name}_info`;
  return family.name;
}

function families(s: PoolStatus, full: boolean): Family[] {
  const now = s.now ?? Date.now();
  const one = (value: number) => [{ value }];
  const out: Family[] = [
    { name: "tscgi_up", type: "gauge", help: "Whether the tscgi pool answered the status request.", samples: one(1) },
    {
      name: "tscgi_pool",
      type: "info",
      help: "The pool and its process manager (pm).",
      samples: [{ labels: { pool: s.pool, process_manager: s.processManager }, value: 1 }],
    },
    {
      name: "tscgi_start_time_seconds",
      type: "gauge",
      help: "When the pool started, in seconds since the Unix epoch.",
      samples: one(Math.floor(s.startTime / 1000)),
    },
    {
      name: "tscgi_start_since_seconds",
      type: "gauge",
      help: "Seconds since the pool started.",
      samples: one(secondsSince(s.startTime, now)),
    },
    { name: "tscgi_accepted_connections", type: "counter", help: "Connections accepted by the pool.", samples: one(s.acceptedConn) },
    { name: "tscgi_listen_queue", type: "gauge", help: "Connections waiting in the listen backlog.", samples: one(s.listenQueue) },
    {
      name: "tscgi_max_listen_queue",
      type: "gauge",
      help: "The most connections waiting in the listen backlog since the pool started.",
      samples: one(s.maxListenQueue),
    },
    {
      name: "tscgi_listen_queue_length",
      type: "gauge",
      help: "The size of the listen backlog (listen_backlog).",
      samples: one(s.listenQueueLen),
    },
    {
      name: "tscgi_processes",
      type: "gauge",
      help: "Worker processes by state: idle or active (running a request).",
      samples: [
        { labels: { state: "idle" }, value: s.idleProcesses },
        { labels: { state: "active" }, value: s.activeProcesses },
      ],
    },
    { name: "tscgi_total_processes", type: "gauge", help: "Worker processes, idle and active.", samples: one(s.totalProcesses) },
    {
      name: "tscgi_max_active_processes",
      type: "gauge",
      help: "The most active workers at once since the pool started.",
      samples: one(s.maxActiveProcesses),
    },
    {
      name: "tscgi_max_children_reached",
      type: "counter",
      help: "Times the pool needed another worker but already ran `workers` of them.",
      samples: one(s.maxChildrenReached),
    },
    {
      name: "tscgi_slow_requests",
      type: "counter",
      help: "Requests that ran longer than request_slowlog_timeout.",
      samples: one(s.slowRequests),
    },
    {
      name: "tscgi_rejected_requests",
      type: "counter",
      help: "Requests answered 503 because the worker already ran max_inflight requests.",
      samples: one(s.rejectedRequests),
    },
    {
      name: "tscgi_worker_restarts",
      type: "counter",
      help: "Workers replaced after being recycled or crashing.",
      samples: one(s.workerRestarts),
    },
  ];
  if (!full) return out;
  const per = (value: (w: WorkerStatus) => number) => s.processes.map((w) => ({ labels: { pid: String(w.pid) }, value: value(w) }));
  out.push(
    {
      name: "tscgi_process",
      type: "info",
      help: "One worker process: its state and its current or last request.",
      samples: s.processes.map((w) => ({
        labels: {
          pid: String(w.pid),
          state: w.state,
          request_method: w.requestMethod || "-",
          request_uri: w.requestUri || "-",
          user: w.user || "-",
          script: w.script || "-",
        },
        value: 1,
      })),
    },
    {
      name: "tscgi_process_start_time_seconds",
      type: "gauge",
      help: "When the worker started, in seconds since the Unix epoch.",
      samples: per((w) => Math.floor(w.startTime / 1000)),
    },
    { name: "tscgi_process_requests", type: "counter", help: "Requests the worker has served.", samples: per((w) => w.requests) },
    {
      name: "tscgi_process_request_duration_seconds",
      type: "gauge",
      help: "Duration of the worker's current request, else of its last one.",
      samples: per((w) => w.requestDuration / 1e6),
    },
    {
      name: "tscgi_process_request_content_length_bytes",
      type: "gauge",
      help: "CONTENT_LENGTH of the worker's current or last request.",
      samples: per((w) => w.contentLength),
    },
    {
      name: "tscgi_process_last_request_cpu_percent",
      type: "gauge",
      help: "CPU used by the worker's last request, in percent.",
      samples: per((w) => w.lastRequestCpu),
    },
    {
      name: "tscgi_process_last_request_memory_bytes",
      type: "gauge",
      help: "Worker memory (RSS) at the end of its last request.",
      samples: per((w) => w.lastRequestMemory),
    },
  );
  return out;
}

/** Prometheus 0.0.4 text (openMetrics false) or OpenMetrics 1.0 text (true, ends with "# EOF"). */
export function renderMetrics(s: PoolStatus, full: boolean, openMetrics: boolean): string {
  let out = "";
  for (const family of families(s, full)) {
    const sample = sampleName(family);
    const typeName = openMetrics ? family.name : sample;
    const type = !openMetrics && family.type === "info" ? "gauge" : family.type;
    out += `# HELP ${typeName} ${escapeHelp(family.help, openMetrics)}\n# TYPE ${typeName} ${type}\n`;
    for (const { labels, value } of family.samples) out += `${sample}${formatLabels(labels)} ${formatValue(value)}\n`;
  }
  return openMetrics ? `${out}# EOF\n` : out;
}
