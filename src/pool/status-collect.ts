// The pool's numbers over time, and one status snapshot built from them and the workers' reports.
import type { Config } from "../config/types.ts";
import type { ScriptFaultCount } from "../server/fault-tally.ts";
import type { WorkerReport } from "./protocol.ts";
import { mergeBroken, renderStatus } from "./status.ts";
import type { PoolStatus, WorkerStatus } from "./status-snapshot.ts";
import type { WorkerProcess } from "./worker-process.ts";

/** Counters kept by the master (or the single process) since start. */
export class PoolCounters {
  readonly startTime = Date.now();
  #accepted = 0;
  readonly #seen = new Map<number, number>();
  maxListenQueue = 0;
  maxActive = 0;
  maxChildrenReached = 0;
  slow = 0;
  restarts = 0;
  rejected = 0;

  /** A worker's cumulative request count; only the growth is added (workers come and go). */
  requests(worker: number, total: number): void {
    this.#accepted += Math.max(0, total - (this.#seen.get(worker) ?? 0));
    this.#seen.set(worker, total);
  }

  forget(worker: number): void {
    this.#seen.delete(worker);
  }

  get accepted(): number {
    return this.#accepted;
  }

  queue(length: number): void {
    if (length > this.maxListenQueue) this.maxListenQueue = length;
  }

  active(count: number): void {
    if (count > this.maxActive) this.maxActive = count;
  }
}

/** How long a worker has to send its report before the status page shows what is known of it. */
const REPORT_TIMEOUT = 500;

/** Asks workers for their reports over IPC and matches the answers to the questions. */
export class ReportCollector {
  readonly #waiters = new Map<number, (report: WorkerReport | null) => void>();
  #ids = 0;

  answer(id: number, report: WorkerReport): void {
    this.#waiters.get(id)?.(report);
  }

  collect(workers: WorkerProcess[]): Promise<Array<{ worker: WorkerProcess; report: WorkerReport | null }>> {
    return Promise.all(
      workers.map(async (worker) => {
        const id = ++this.#ids;
        const report = await new Promise<WorkerReport | null>((resolve) => {
          const timer = setTimeout(() => resolve(null), REPORT_TIMEOUT);
          this.#waiters.set(id, (r) => {
            clearTimeout(timer);
            resolve(r);
          });
          if (!worker.send({ type: "report", id })) resolve(null);
        });
        this.#waiters.delete(id);
        if (report) worker.lastReport = report;
        return { worker, report };
      }),
    );
  }
}

export function workerStatus(pid: number, startTime: number, state: WorkerStatus["state"], r: WorkerReport | null): WorkerStatus {
  const current = r?.current ?? null;
  return {
    pid,
    state: current && state === "Idle" ? "Running" : state,
    startTime,
    requests: r?.requests ?? 0,
    requestDuration: Math.round((current ? current.elapsed : (r?.lastDuration ?? 0)) * 1000),
    requestMethod: current ? current.method : (r?.lastMethod ?? "-"),
    requestUri: current ? current.uri : (r?.lastUri ?? "-"),
    contentLength: current ? current.contentLength : (r?.lastContentLength ?? 0),
    user: "-",
    script: current ? "-" : (r?.lastScript ?? "-"),
    lastRequestCpu: 0,
    lastRequestMemory: current ? 0 : (r?.rss ?? 0),
  };
}

export function renderPoolStatus(
  config: Config,
  counters: PoolCounters,
  reports: Array<{ worker: WorkerProcess; report: WorkerReport | null }>,
  listenQueue: number,
  query: string,
  accept: string,
  scriptFaults: ScriptFaultCount[] = [],
): { ok: boolean; body: string; contentType: string } {
  const processes = reports.map(({ worker, report }) => {
    const r = report ?? worker.lastReport;
    const state =
      worker.state === "starting" ? "Starting" : worker.state === "finishing" ? "Finishing" : r && r.inflight > 0 ? "Running" : "Idle";
    return workerStatus(worker.pid, worker.startedAt, state, r);
  });
  let rejected = counters.rejected;
  for (const { report } of reports) rejected += report?.rejected ?? 0;
  let maxConnectionsReached = 0;
  for (const { report } of reports) maxConnectionsReached += report?.maxConnectionsReached ?? 0;
  const active = processes.filter((p) => p.state === "Running").length;
  counters.active(active);
  const status: PoolStatus = {
    pool: "tscgi",
    processManager: config.pm,
    startTime: counters.startTime,
    acceptedConn: counters.accepted,
    listenQueue,
    maxListenQueue: counters.maxListenQueue,
    listenQueueLen: config.listen_backlog,
    idleProcesses: processes.filter((p) => p.state === "Idle").length,
    activeProcesses: active,
    totalProcesses: processes.length,
    maxActiveProcesses: counters.maxActive,
    // A request refused at max_inflight is this model's "max children reached": no capacity left.
    maxChildrenReached: counters.maxChildrenReached + rejected,
    slowRequests: counters.slow,
    rejectedRequests: rejected,
    workerRestarts: counters.restarts,
    maxConnectionsReached,
    scriptFaults,
    brokenScripts: mergeBroken(reports.map(({ worker, report }) => (report ?? worker.lastReport)?.broken)),
    processes,
  };
  return { ok: true, ...renderStatus(status, query, accept) };
}
