// Waiting for a lock that lives outside this process (a file, a Redis key): try, back off, try
// again until the deadline, then SessionLockTimeoutError.
import { setTimeout as sleep } from "node:timers/promises";
import { SessionLockTimeoutError } from "../runtime/errors.ts";

/** First and longest pause between attempts: short enough that a released lock is taken within tens of ms. */
const FIRST_PAUSE_MS = 2;
const LONGEST_PAUSE_MS = 50;

/** Calls `attempt` until it returns a value (not null), or throws SessionLockTimeoutError after `timeoutMs`. */
export async function pollLock<T>(attempt: () => Promise<T | null>, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let pause = FIRST_PAUSE_MS;
  for (;;) {
    const held = await attempt();
    if (held !== null) return held;
    const left = deadline - performance.now();
    if (left <= 0) throw new SessionLockTimeoutError(timeoutMs);
    await sleep(Math.min(pause, left));
    pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
  }
}
