// What a session store does for the runtime (load under a lock, save, touch, destroy, release, gc),
// and the session id format every store checks before it touches storage.

/** A value a session can hold: what survives JSON unchanged. */
export type SessionValue = string | number | boolean | null | SessionValue[] | { [key: string]: SessionValue };
export type SessionData = Record<string, SessionValue>;

/** A session as stored. Times are milliseconds since the epoch. */
export interface SessionRecord {
  data: SessionData;
  /** When the session was first saved: max_lifetime counts from here. */
  created: number;
  /** The last request that used it: idle timeout counts from here. */
  touched: number;
}

/** A session held exclusively by one request, from lock() to release(). */
export interface SessionLock {
  /** The stored session, or null when there is none. Expiry is the caller's to judge. */
  readonly record: SessionRecord | null;
  /**
   * Stores the record; `ttlMs` is how long a store that expires keys (Redis) keeps it unused.
   * `release`: release the lock too, in the same step (for Redis, the same round trip).
   */
  save(record: SessionRecord, ttlMs: number, release?: boolean): Promise<void>;
  /** Marks the session used at `touched` without rewriting its data; `release` as for save. */
  touch(touched: number, ttlMs: number, release?: boolean): Promise<void>;
  /** Removes the stored session (the lock stays held until release). */
  destroy(): Promise<void>;
  /** Lets the next request of this session in. Never throws; a second call does nothing. */
  release(): Promise<void>;
}

export interface SessionStore {
  /** "file", "redis" or "memory", for messages. */
  readonly kind: string;
  /**
   * Waits until no other request (in any process the store reaches) holds session `id`, then
   * holds it and reads it. Rejects with SessionLockTimeoutError after `timeoutMs`, with
   * SessionStoreError when storage fails. `id` is always a valid session id.
   */
  lock(id: string, timeoutMs: number): Promise<SessionLock>;
  /** Removes sessions unused for longer than `maxIdleMs` before `now`; resolves to how many. */
  gc(maxIdleMs: number, now: number): Promise<number>;
  /** Closes connections; the store is not used again. */
  close(): Promise<void>;
}

/** 32 random bytes in base64url: 43 characters, 256 bits, as the id of every store. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/** True for an id this module could have made: anything else (a path, a guess) is never looked up. */
export function isSessionId(id: unknown): id is string {
  return typeof id === "string" && SESSION_ID.test(id);
}

/** A new session id from the platform's CSPRNG (Web Crypto, so the runtime imports no node:*). */
export function newSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
