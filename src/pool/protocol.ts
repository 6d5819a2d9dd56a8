// What the master and its workers say to each other. Two channels: Node's IPC channel (structured
// clone, carries the listening handles) for the worker's main thread, and a pipe on fd 4 that the
// worker's watchdog thread writes to even while the main thread is stuck in a script.
import type { Config } from "../config/types.ts";
import type { CompileOptions } from "../scripts/compile.ts";
import type { BrokenScript } from "../scripts/loader.ts";
import type { FaultKind } from "../server/fault-tally.ts";

/** fd of the report pipe in a worker. */
export const REPORT_FD = 4;

/** A worker's own account of itself, for the status page and the process manager. */
export interface WorkerReport {
  pid: number;
  requests: number;
  inflight: number;
  connections: number;
  accepted: number;
  rejected: number;
  /** FastCGI connections that arrived with max_connections open. */
  maxConnectionsReached: number;
  slow: number;
  lastMethod: string;
  lastUri: string;
  lastScript: string;
  /** Milliseconds. */
  lastDuration: number;
  lastContentLength: number;
  /** The longest-running request in flight, if any. */
  current: { method: string; uri: string; contentLength: number; elapsed: number } | null;
  rss: number;
  /** CPU seconds used by the worker so far (user + system). */
  cpu: number;
  /** Files whose last edit does not compile, as this worker found them. */
  broken: BrokenScript[];
}

export type ToWorker =
  | { type: "init"; config: Config; id: number; ondemand: boolean }
  /** Sent with a listening handle. */
  | { type: "listen"; which: "fastcgi" | "http" }
  /**
   * Sent with one connection: accepted by the master (ondemand), or handed over by a retiring worker
   * (a raw handle, nobody has read from it since; `unread` holds bytes the old worker read but did not parse).
   */
  | { type: "conn"; which: "fastcgi" | "http"; unread?: Uint8Array | null }
  /** Stop taking work and exit once in-flight requests are done; `handOver`: pass idle connections on instead of closing them. */
  | { type: "stop"; handOver: boolean }
  /** Hand up to `count` idle kept-alive connections to the master for other workers (see shedCounts). */
  | { type: "shed"; count: number }
  | { type: "reopen" }
  | { type: "report"; id: number }
  | { type: "status"; id: number; body: string; contentType: string; ok: boolean }
  /** The compiled code, or null when the master could not compile it (the worker then does, for the error). */
  | { type: "compiled"; id: number; code: string | null };

export type FromWorker =
  | { type: "ready" }
  /** The busy/idle picture changed (sent at most every few ms). */
  | { type: "load"; inflight: number; requests: number; connections: number }
  /** The worker reached max_requests, worker_memory_limit or worker_max_age. */
  | { type: "retire"; reason: string }
  | { type: "report"; id: number; report: WorkerReport }
  /** A status request came in: the master renders the pool's status. */
  | { type: "status"; id: number; query: string; accept: string }
  /** Sent with the raw handle of an idle kept-alive connection, for another worker to serve (see FastCgiServer.handOver). */
  | { type: "handoff"; which: "fastcgi"; unread: Uint8Array | null; shed?: boolean }
  /** Compile a script for me: the master compiles each source once for all workers. */
  | { type: "compile"; id: number; file: string; source: string; options: CompileOptions }
  /** A script faulted (it was answered and logged here); the master counts the pool's faults. */
  | { type: "fault"; script: string; kind: FaultKind };

/** Lines on the report pipe (JSON, one per line). */
export type WatchdogReport =
  | {
      type: "slow";
      script: string;
      method: string;
      uri: string;
      elapsed: number;
      stack: string | null;
    }
  | {
      type: "stuck";
      requests: Array<{ script: string; method: string; uri: string; elapsed: number; answered: boolean }>;
      blocked: number;
      stack: string | null;
    }
  | {
      type: "exiting";
      code: number;
      reason: string;
      requests: Array<{ script: string; method: string; uri: string }>;
      /** The worker could not listen on a socket the master bound (a ListenError's message): no restart can fix that. */
      cannotListen?: string;
    };
