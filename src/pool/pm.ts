// The process manager's decisions, as PHP-FPM makes them once a second (fpm_process_ctl.c), kept
// pure so they can be tested without processes: how many workers to start, which idle ones to stop.
import type { Config } from "../config/types.ts";

type PmMode = "static" | "dynamic" | "ondemand";

export interface PmSettings {
  pm: PmMode;
  /** pm.max_children (our `workers`). */
  maxChildren: number;
  startServers: number;
  minSpare: number;
  maxSpare: number;
  /** Milliseconds (ondemand). */
  idleTimeout: number;
}

/** The pm keys of `config`, under PHP-FPM's names. */
export function pmSettings(c: Config): PmSettings {
  return {
    pm: c.pm,
    maxChildren: c.workers,
    startServers: c.pm_start_servers,
    minSpare: c.pm_min_spare_servers,
    maxSpare: c.pm_max_spare_servers,
    idleTimeout: c.pm_process_idle_timeout,
  };
}

export interface WorkerLoad {
  id: number;
  /** Starting workers count as idle capacity that is on its way. */
  starting: boolean;
  inflight: number;
  /** When it last became idle (ms since the epoch); meaningful when inflight is 0. */
  idleSince: number;
}

export interface PmDecision {
  spawn: number;
  /** Idle workers to stop gracefully. */
  retire: number[];
  /** Every worker is busy and no more may be started (PHP-FPM's "max children reached"). */
  maxChildrenReached: boolean;
  /** For dynamic: the spawn rate to use next time (doubles while spares are short, up to 32). */
  nextSpawnRate: number;
}

/** How many workers a pool starts with. */
export function initialWorkers(s: PmSettings): number {
  if (s.pm === "static") return s.maxChildren;
  if (s.pm === "dynamic") return s.startServers;
  return 0;
}

export function maintain(s: PmSettings, workers: readonly WorkerLoad[], now: number, spawnRate: number): PmDecision {
  const total = workers.length;
  const idle = workers.filter((w) => w.starting || w.inflight === 0);
  const none: PmDecision = { spawn: 0, retire: [], maxChildrenReached: false, nextSpawnRate: 1 };
  if (s.pm === "static") {
    return { ...none, spawn: Math.max(0, s.maxChildren - total) };
  }
  if (s.pm === "ondemand") {
    const expired = idle.filter((w) => !w.starting && now - w.idleSince >= s.idleTimeout).sort((a, b) => a.idleSince - b.idleSince);
    // PHP-FPM stops one idle child per tick: scaling down is gradual.
    return { ...none, retire: expired.slice(0, 1).map((w) => w.id) };
  }
  if (idle.length > s.maxSpare) {
    const oldest = idle.filter((w) => !w.starting).sort((a, b) => a.idleSince - b.idleSince);
    return { ...none, retire: oldest.slice(0, 1).map((w) => w.id) };
  }
  if (idle.length < s.minSpare) {
    if (total >= s.maxChildren) return { ...none, maxChildrenReached: idle.length === 0 };
    const wanted = Math.min(spawnRate, s.minSpare - idle.length, s.maxChildren - total);
    return { ...none, spawn: Math.max(1, wanted), nextSpawnRate: Math.min(32, spawnRate * 2) };
  }
  return none;
}

/**
 * Ondemand: where a new connection goes (inflight counts the connections just handed over, so a
 * burst spreads over new workers). Returns the id of an idle worker (least loaded first),
 * "spawn" when every worker is busy and another may start, or the least loaded busy worker when the
 * pool is full (and then the caller counts max children reached).
 */
export function routeConnection(s: PmSettings, workers: readonly WorkerLoad[]): { to: number | "spawn"; maxChildrenReached: boolean } {
  let best: WorkerLoad | null = null;
  for (const w of workers) if (best === null || w.inflight < best.inflight) best = w;
  if (best !== null && best.inflight === 0) return { to: best.id, maxChildrenReached: false };
  if (workers.length < s.maxChildren) return { to: "spawn", maxChildrenReached: false };
  return { to: best!.id, maxChildrenReached: true };
}

/** A worker that may adopt a retiring worker's kept-alive connections. */
export interface Adopter {
  id: number;
  slot: number;
  ready: boolean;
  /** Replaced by a worker still starting, but serving until then: it hands the connection on when it stops. */
  retiring: boolean;
  /** Connections it was handed so far, to spread them out. */
  adopted: number;
}

/**
 * Where an idle connection of a retiring worker in `fromSlot` goes: to the worker that replaces it
 * in the same slot (so the web server's connections stay spread as they were), else to the ready
 * worker that was handed the fewest, else to a retiring worker that still serves (a reload during a
 * reload); "wait" only while every taker is starting, "close" when there is none. A connection
 * held here is read by nobody, and a worker can take seconds to start on a busy machine.
 */
export function adopterFor(fromSlot: number, workers: readonly Adopter[]): number | "wait" | "close" {
  let best: Adopter | null = null;
  let serving: Adopter | null = null;
  let starting = false;
  for (const w of workers) {
    if (!w.ready) {
      starting = true;
    } else if (w.retiring) {
      if (serving === null || w.adopted < serving.adopted) serving = w;
    } else {
      if (w.slot === fromSlot) return w.id;
      if (best === null || w.adopted < best.adopted) best = w;
    }
  }
  if (best !== null) return best.id;
  if (serving !== null) return serving.id;
  return starting ? "wait" : "close";
}
