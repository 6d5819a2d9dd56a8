// What the status page reports: one snapshot of the pool and of each worker, as the master collects it.
import type { BrokenScript } from "../scripts/loader.ts";
import type { ScriptFaultCount } from "../server/fault-tally.ts";

/** PHP-FPM's pm setting, shown as "process manager". */
type ProcessManager = "static" | "dynamic" | "ondemand";

/** A worker's request stage, named as PHP-FPM's fpm_request_get_stage_name() names them. */
type WorkerState = "Idle" | "Running" | "Finishing" | "Starting";

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
  /** FastCGI connections that arrived with max_connections open in their worker (tscgi's own). */
  maxConnectionsReached: number;
  /** Scripts that faulted (process.exit, uncaught, unhandled rejection, runaway, a worker died running them), most first. */
  scriptFaults?: ScriptFaultCount[];
  /** Files whose last edit does not compile, from every worker's report; see mergeBroken. */
  brokenScripts?: BrokenScript[];
  /** Every worker, for `?full`. */
  processes: WorkerStatus[];
}
