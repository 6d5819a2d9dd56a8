// The status page's numbers as Prometheus 0.0.4 or OpenMetrics 1.0 text: `?prometheus` (upgraded
// to OpenMetrics when the Accept header prefers it) or `?openmetrics`.
import { FAULT_KINDS } from "../server/fault-tally.ts";
import type { PoolStatus, WorkerStatus } from "./status-snapshot.ts";

/** Whole seconds from `from` to `now`, never negative. */
export function secondsSince(from: number, now: number): number {
  return Math.max(0, Math.floor((now - from) / 1000));
}

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
    {
      name: "tscgi_max_connections_reached",
      type: "counter",
      help: "FastCGI connections that arrived while their worker had max_connections open.",
      samples: one(s.maxConnectionsReached),
    },
    {
      name: "tscgi_script_faults",
      type: "counter",
      help: "Faults of a script by kind: exit, uncaught, rejection, runaway, death (a worker died running it).",
      samples: (s.scriptFaults ?? []).flatMap((f) =>
        FAULT_KINDS.filter((kind) => f[kind] > 0).map((kind) => ({ labels: { script: f.script, kind }, value: f[kind] })),
      ),
    },
    {
      name: "tscgi_broken_script",
      type: "gauge",
      help: "A file whose last edit does not compile (1); last_good says whether scripts it breaks still answer with their last good version.",
      samples: (s.brokenScripts ?? []).map((b) => ({
        labels: { file: b.file, last_good: b.lastGood.length > 0 ? "yes" : "no" },
        value: 1,
      })),
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
