// Waiting for a lock that lives outside this process (a file, a Redis key): try, wait for a sign
// of its release or a pause, try again until the deadline, then SessionLockTimeoutError.
import { setTimeout as sleep } from "node:timers/promises";
import { SessionLockTimeoutError } from "../runtime/errors.ts";

/** First and longest pause between attempts: short enough that a released lock is taken within tens of ms. */
const FIRST_PAUSE_MS = 2;
const LONGEST_PAUSE_MS = 50;

/**
 * Resolves after at most `pauseMs`, earlier when the store sees the lock released (a file
 * removed, a message from Redis). The pause still bounds the wait: a holder that died releases
 * nothing, and its lock is judged stale by the next attempt.
 */
export type WaitForRelease = (pauseMs: number) => Promise<void>;

/**
 * Calls `attempt` until it returns a value (not null), waiting between attempts with `wait`; throws
 * SessionLockTimeoutError once `timeoutMs` has passed since `startedAt` (a performance.now() time).
 */
export async function pollLock<T>(
  attempt: () => Promise<T | null>,
  timeoutMs: number,
  options: { startedAt?: number; wait?: WaitForRelease } = {},
): Promise<T> {
  const deadline = (options.startedAt ?? performance.now()) + timeoutMs;
  const wait = options.wait ?? ((pauseMs: number) => sleep(pauseMs));
  let pause = FIRST_PAUSE_MS;
  for (;;) {
    const held = await attempt();
    if (held !== null) return held;
    const left = deadline - performance.now();
    if (left <= 0) throw new SessionLockTimeoutError(timeoutMs);
    await wait(Math.min(pause, left));
    pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
  }
}
