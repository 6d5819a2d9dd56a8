// The connections a web server keeps open, evened out between workers. Workers share one
// listening socket, and the one awake first takes the burst a web server opens at start: behind
// nginx with `keepalive 256`, 256 connections were held 169/28 and 162/94 by 2 workers, and the
// one holding more ran more of the requests, for as long as nginx kept them.

/** A worker as the balance sees it. */
export interface Holder {
  id: number;
  /** FastCGI connections it holds, from its last load report (plus those sent to it since). */
  connections: number;
}

import type { WorkerProcess } from "./worker-process.ts";

/** Fewer connections over the mean than this are left where they are: not worth a hand-over. */
const SLACK = 8;

/** Least time between two asks to the same worker, so that its counts settle in between. */
const SHED_EVERY = 1000;

/**
 * How many idle connections each worker should hand to the others: all it holds over the mean,
 * when that is at least SLACK and more than a tenth of the mean. The others take them (see takerFor).
 */
export function shedCounts(holders: readonly Holder[]): Array<{ id: number; count: number }> {
  if (holders.length < 2) return [];
  const mean = holders.reduce((sum, h) => sum + h.connections, 0) / holders.length;
  const out: Array<{ id: number; count: number }> = [];
  for (const h of holders) {
    const over = Math.floor(h.connections - mean);
    if (over >= SLACK && over > mean / 10) out.push({ id: h.id, count: over });
  }
  return out;
}

/** Where a shed connection goes: the worker holding the fewest, never back to `from`; null when there is none. */
export function takerFor(from: number, holders: readonly Holder[]): number | null {
  let best: Holder | null = null;
  for (const h of holders) {
    if (h.id !== from && (best === null || h.connections < best.connections)) best = h;
  }
  return best?.id ?? null;
}

/**
 * Asks each ready worker of `current` holding well over its share (shedCounts) to hand idle
 * connections to the others, at most once per SHED_EVERY; returns the asks made.
 */
export function askToShed(current: readonly WorkerProcess[], now: number): Array<{ worker: WorkerProcess; count: number }> {
  const serving = current.filter((w) => w.state === "ready");
  const asks: Array<{ worker: WorkerProcess; count: number }> = [];
  for (const { id, count } of shedCounts(serving)) {
    const worker = serving.find((w) => w.id === id)!;
    if (now - worker.shedAskedAt < SHED_EVERY) continue;
    worker.shedAskedAt = now;
    if (worker.send({ type: "shed", count })) asks.push({ worker, count });
  }
  return asks;
}
