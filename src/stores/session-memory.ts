// The memory session store: sessions in this process's heap. For development and single-process
// pools only: another worker would not see them (config refuses it with more than one worker).
import { SessionLockTimeoutError } from "../runtime/errors.ts";
import type { SessionLock, SessionRecord, SessionStore } from "../runtime/session-store.ts";

interface Entry {
  record: SessionRecord;
  /** Date.now() after which it is gone; Infinity when it never expires. */
  expires: number;
}

export class MemorySessionStore implements SessionStore {
  readonly kind = "memory";
  readonly #sessions = new Map<string, Entry>();
  /** The tail of each session's queue of lock holders: resolves when the last one releases. */
  readonly #locks = new Map<string, Promise<void>>();

  async lock(id: string, timeoutMs: number): Promise<SessionLock> {
    const previous = this.#locks.get(id) ?? Promise.resolve();
    let unlock!: () => void;
    const mine = new Promise<void>((resolve) => (unlock = resolve));
    // Queue behind the current holder (and anyone already waiting), in arrival order.
    const tail = previous.then(() => mine);
    this.#locks.set(id, tail);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
    const won = await Promise.race([previous.then(() => "held" as const), timedOut]);
    clearTimeout(timer);
    if (won === "timeout") {
      // Leave the queue without blocking those behind: our turn, when it comes, passes straight on.
      unlock();
      if (this.#locks.get(id) === tail) void tail.then(() => this.#locks.get(id) === tail && this.#locks.delete(id));
      throw new SessionLockTimeoutError(timeoutMs);
    }
    const sessions = this.#sessions;
    const entry = sessions.get(id);
    const live = entry !== undefined && entry.expires > Date.now() ? entry : undefined;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      unlock();
      if (this.#locks.get(id) === tail) this.#locks.delete(id);
    };
    return {
      record: live === undefined ? null : structuredClone(live.record),
      async save(record, ttlMs, andRelease) {
        sessions.set(id, { record: structuredClone(record), expires: ttlMs > 0 ? Date.now() + ttlMs : Infinity });
        if (andRelease === true) release();
      },
      async touch(touched, ttlMs, andRelease) {
        const current = sessions.get(id);
        if (current) sessions.set(id, { record: { ...current.record, touched }, expires: ttlMs > 0 ? Date.now() + ttlMs : Infinity });
        if (andRelease === true) release();
      },
      async destroy() {
        sessions.delete(id);
      },
      release: async () => release(),
    };
  }

  async gc(maxIdleMs: number, now: number): Promise<number> {
    let removed = 0;
    for (const [id, entry] of this.#sessions) {
      if (entry.expires <= now || now - entry.record.touched > maxIdleMs) {
        this.#sessions.delete(id);
        removed++;
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    this.#sessions.clear();
  }
}
