// The keys of the worker pool: how many workers, when they are replaced, what memory and
// environment they start with.

import { availableParallelism } from "node:os";
import { cgroupCpuLimit } from "./cpu-quota.ts";
import { ValueRejected } from "./errors.ts";
import { parseDuration } from "./units.ts";
import { autoOrInteger, duration, integer, size, yesNo, type Schema } from "./value-kinds.ts";

const PROCESS_MANAGERS = ["static", "dynamic", "ondemand"] as const;

/** The most worker processes; "auto" is capped to it on machines with more CPUs. */
const MAX_WORKERS = 1024;

/** The CPU count, as `workers = auto` means: the cores this process may run on, fewer under a cgroup CPU quota (rounded up). */
function autoWorkers(): number {
  const quota = cgroupCpuLimit();
  const cpus = quota === null ? availableParallelism() : Math.min(availableParallelism(), Math.max(1, Math.ceil(quota)));
  return Math.min(MAX_WORKERS, cpus);
}

const workerCount = integer(0, MAX_WORKERS);

/**
 * glibc's default is 8 malloc arenas per core, each grown by whichever thread (libuv pool,
 * watchdog, V8's GC helpers) allocated in it at a load's peak and kept after: 2 serve a worker.
 */
const DEFAULT_WORKER_MALLOC_ARENA_MAX = 2;

/**
 * MiB per V8 semi-space in a worker; 0 is Node's default, which grows to 16 MiB under load (with
 * nginx opening a connection per request, 32 MiB of young generation, 27 of it resident, kept
 * after the load). 4 MiB: a worker after that load 87-88 MiB instead of 105-111, and the same CPU
 * per request (hello 32-34 µs, the template page 68-69 µs, best of 3 against 34 and 69); 1 MiB
 * cost the template row 7-12 % req/s.
 */
const DEFAULT_WORKER_SEMI_SPACE_SIZE = 4;

const JITTER = /^(\d+(?:\.\d+)?)(%?)$/;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `env`: "A, B=some value" -> [["A", null], ["B", "some value"]]; a value cannot hold a comma. */
function parseEnvList(raw: string): Array<[string, string | null]> {
  const out: Array<[string, string | null]> = [];
  for (const item of raw.split(",")) {
    const text = item.trim();
    if (text === "") continue;
    const equals = text.indexOf("=");
    const name = (equals === -1 ? text : text.slice(0, equals)).trim();
    if (!ENV_NAME.test(name)) throw new ValueRejected(`"${name}" is not a variable name (letters, digits and _, not first a digit)`);
    if (out.some(([seen]) => seen === name)) throw new ValueRejected(`${name} is named twice`);
    out.push([name, equals === -1 ? null : text.slice(equals + 1).trim()]);
  }
  return out;
}

export const poolKeys = {
  workers: {
    default: "auto",
    allowed: `auto (one per CPU) or a whole number from 0 to ${MAX_WORKERS}`,
    metavar: "N",
    description: "worker processes, the most the pool runs at once; auto is one per CPU, 0 serves everything from a single process",
    parse: (raw, ctx) => (raw.trim().toLowerCase() === "auto" ? autoWorkers() : workerCount.parse(raw, ctx)),
  },
  pm: {
    default: "static",
    metavar: "MODE",
    allowed: `one of ${PROCESS_MANAGERS.join(", ")}`,
    description:
      "how workers are managed: static runs all of them, dynamic keeps between pm_min_spare_servers and pm_max_spare_servers idle, ondemand starts them as requests arrive",
    parse(raw) {
      const mode = raw.trim().toLowerCase();
      const found = PROCESS_MANAGERS.find((candidate) => candidate === mode);
      if (found === undefined) throw new ValueRejected();
      return found;
    },
  },
  pm_start_servers: {
    default: "auto",
    ...autoOrInteger(1, MAX_WORKERS),
    description: "workers started at first when pm is dynamic; auto is halfway from pm_min_spare_servers to pm_max_spare_servers",
  },
  pm_min_spare_servers: {
    default: "1",
    ...integer(1, MAX_WORKERS),
    description: "fewest idle workers when pm is dynamic; fewer idle start more",
  },
  pm_max_spare_servers: {
    default: "auto",
    ...autoOrInteger(1, MAX_WORKERS),
    description: "most idle workers when pm is dynamic; more idle are stopped; auto is half of workers, at least pm_min_spare_servers",
  },
  pm_process_idle_timeout: {
    default: "10s",
    ...duration,
    description: "how long a worker may idle before it is stopped, when pm is ondemand",
    parse(raw) {
      const ms = parseDuration(raw);
      if (ms === 0) throw new ValueRejected("it must be more than 0");
      return ms;
    },
  },
  max_requests: {
    default: "0",
    ...integer(0, Number.MAX_SAFE_INTEGER),
    description: "requests a worker serves before it is replaced; 0 = never",
  },
  max_requests_jitter: {
    default: "10%",
    metavar: "N|N%",
    allowed: "a number of requests like 50, or a percentage of max_requests from 0% to 100%, like 10%",
    description: "a random 0 to this many requests added to each worker's max_requests, so workers are not all replaced at once",
    parse(raw) {
      const match = JITTER.exec(raw.trim());
      if (match === null) throw new ValueRejected();
      const amount = Number(match[1]);
      const percent = match[2] === "%";
      if (percent && amount > 100) throw new ValueRejected("a percentage is at most 100%");
      if (!percent && !Number.isSafeInteger(amount)) throw new ValueRejected("a number of requests is a whole number");
      return { amount, percent };
    },
  },
  worker_memory_limit: {
    default: "1g",
    ...size(0),
    description: "resident memory (RSS) above which a worker is replaced once its requests finish; 0 = no limit",
  },
  worker_malloc_arena_max: {
    default: String(DEFAULT_WORKER_MALLOC_ARENA_MAX),
    ...integer(0, 1024),
    description: "MALLOC_ARENA_MAX workers start with, unless tscgi's environment or env sets it; 0 = glibc's default (8 per core)",
  },
  worker_semi_space_size: {
    default: String(DEFAULT_WORKER_SEMI_SPACE_SIZE),
    ...integer(0, 1024),
    description:
      "MiB per V8 semi-space in workers (Node's --max-semi-space-size), unless NODE_OPTIONS sets it; 0 = Node's default (up to 16)",
  },
  worker_idle_gc: {
    default: "6s",
    ...duration,
    description:
      "time without a request to a script (pings, status pages and 404s do not count) after which a worker whose heap grew by 4 MiB since its last collection runs a full garbage collection, giving a load's memory back; 0 = leave it to V8",
  },
  worker_max_age: {
    default: "0",
    ...duration,
    description: "age after which a worker is replaced once its requests finish; 0 = no limit",
  },
  max_inflight: {
    default: "1024",
    ...integer(1, Number.MAX_SAFE_INTEGER),
    description: "most requests one worker runs at once; more are answered 503 with Retry-After",
  },
  overload_retry_after: {
    default: "1s",
    ...duration,
    description: "Retry-After of the 503 answers max_inflight causes, in whole seconds rounded up",
  },
  respawn_backoff_max: {
    default: "30s",
    ...duration,
    description: "longest wait before a worker that keeps crashing is started again",
  },
  clear_env: {
    default: "yes",
    ...yesNo,
    description:
      "scripts see only the variables env names (and PATH, HOME, LANG, TZ, TMPDIR, NODE_*, glibc's MALLOC_*), not tscgi's whole environment; no = all of it",
  },
  env: {
    default: "",
    metavar: "LIST",
    allowed: 'variable names to pass on from tscgi\'s environment, or NAME=value to set one, separated by commas, or "" for none',
    description:
      "environment variables scripts get, like PHP-FPM's env[NAME]: DATABASE_URL passes tscgi's own value on, MODE=live sets one",
    parse: parseEnvList,
  },
} satisfies Partial<Schema>;
