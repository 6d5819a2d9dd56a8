// Readiness, for a load balancer or Kubernetes: may this tscgi be sent new requests now?
// Liveness (ping) says the master is alive; readiness says new requests would be taken at once.

/** What the master knows when asked; each field is cheap to read. */
export interface PoolState {
  /** SIGTERM/SIGINT/SIGQUIT received: requests in flight finish, new ones are refused. */
  stopping: boolean;
  /** Workers serving now and staying (neither finishing nor replaced). */
  workers: ReadonlyArray<{ ready: boolean; inflight: number }>;
  /** The most workers the pool may run (`workers`). */
  maxWorkers: number;
  /** Requests a worker runs at once before answering 503 (`max_inflight`); 0 = no limit. */
  maxInflight: number;
  /** pm = ondemand: the master accepts, and starts a worker for a connection when none is free. */
  onDemand: boolean;
  /** Connections waiting in the kernel's backlog that no worker has taken (0 for a Unix socket). */
  listenQueue: number;
}

export type Readiness = { ready: true } | { ready: false; reason: "starting" | "draining" | "saturated"; detail: string };

export function readiness(state: PoolState): Readiness {
  if (state.stopping) return { ready: false, reason: "draining", detail: "stopping: requests in flight finish, new ones are refused" };
  const ready = state.workers.filter((w) => w.ready);
  if (ready.length === 0 && !state.onDemand) return { ready: false, reason: "starting", detail: "no worker is ready yet" };
  // Connections nobody accepts mean every worker is busy in synchronous code, stuck, or full.
  if (state.listenQueue > 0) {
    return { ready: false, reason: "saturated", detail: `${state.listenQueue} connection(s) wait in the listen queue` };
  }
  // Every worker the pool may run is running, and each would answer 503 to one more request.
  const max = state.maxInflight;
  if (max > 0 && ready.length >= state.maxWorkers && ready.every((w) => w.inflight >= max)) {
    return { ready: false, reason: "saturated", detail: `${ready.length} worker(s) each run max_inflight (${max}) requests` };
  }
  return { ready: true };
}
