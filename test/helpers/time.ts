// Bounds in tests are safety nets, never what a test waits for: each is multiplied by
// TEST_TIME_FACTOR (default 1), which a loaded machine (or `npm run test:stress`) raises.
import { setTimeout as sleepFor } from "node:timers/promises";
import t from "tap";

function readFactor(raw: string | undefined): number {
  if (raw === undefined || raw === "") return 1;
  const factor = Number(raw);
  if (!Number.isFinite(factor) || factor < 1) {
    throw new Error(`TEST_TIME_FACTOR=${JSON.stringify(raw)}: expected a number of at least 1 (e.g. 3 on a busy machine)`);
  }
  return factor;
}

const TIME_FACTOR = readFactor(process.env.TEST_TIME_FACTOR);

/** `ms` scaled by TEST_TIME_FACTOR, for a start-up bound or a timeout. */
export function scaled(ms: number): number {
  return Math.round(ms * TIME_FACTOR);
}

/** The runner's per-file timeout, `timeout` in .taprc. */
const TAPRC_TIMEOUT_MS = 120_000;
// A bound like the others: a file that imports this gets it scaled (t.setTimeout reaches the runner).
if (TIME_FACTOR > 1) t.setTimeout(scaled(TAPRC_TIMEOUT_MS));

/** Rejects with `what` when `promise` has not settled within scaled(ms): a bound, not a wait. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const ac = new AbortController();
  const timeout = sleepFor(scaled(ms), undefined, { signal: ac.signal }).then(
    () => Promise.reject(new Error(`timed out after ${scaled(ms)} ms waiting for ${what}`)),
    () => undefined as never,
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    ac.abort();
  }
}

const cleanups: Array<() => void> = [];
let hooked = false;

/**
 * Runs `cleanup` when this test process exits, also when a signal ends it (the default action
 * of SIGTERM skips "exit" handlers): the signal is raised again afterwards.
 */
export function onTestExit(cleanup: () => void): void {
  cleanups.push(cleanup);
  if (hooked) return;
  hooked = true;
  const runAll = () => {
    for (const run of cleanups.splice(0)) run();
  };
  process.once("exit", runAll);
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    process.once(signal, () => {
      runAll();
      process.kill(process.pid, signal);
    });
  }
}
