// Sessions as PHP users know them: a typed key-value object loaded under a lock when the script
// asks for it, saved (only if changed) when the response goes out, with expiry and regeneration.
import { serializeCookie, serializeCookieDeletion } from "./cookies.ts";
import { SessionClosedError, SessionDataError } from "./errors.ts";
import { isSessionId, newSessionId, type SessionData, type SessionLock, type SessionStore, type SessionValue } from "./session-store.ts";

export interface SessionRules {
  /** session_idle_timeout: a session unused this long is gone; 0 = never. */
  idleTimeout: number;
  /** session_max_lifetime: a session this old is gone however busy; 0 = never. */
  maxLifetime: number;
  /** session_lock_timeout: how long a request waits for another of the same session. */
  lockTimeout: number;
  /** session_gc_probability as a fraction: the chance a session start also sweeps expired sessions. */
  gcProbability: number;
}

/** What the session cookie must become when the response goes out. */
export type SessionCookie = { action: "keep" } | { action: "set"; id: string } | { action: "delete" };

/**
 * The shape a script may give its session: any object type, interfaces included, whose values
 * are JSON (optional keys allowed). `Session<{ user?: string; cart: number[] }>`.
 */
export type SessionShape<T> = { [K in keyof T]: SessionValue | undefined };

/** What openSession needs to see of a Session and the script must not: the live data and what happened to it. */
let internals: (session: Session<SessionData>) => { data: SessionData; dropStored: boolean; destroyed: boolean };

/** The object a script gets from `await cgi.session()`. */
export class Session<T extends SessionShape<T> = SessionData> {
  #data: SessionData;
  #id: string;
  #isNew: boolean;
  #closed = false;
  readonly #close: () => Promise<void>;
  /** Set by regenerate() and destroy(): the stored session under the old id must go. */
  #dropStored = false;
  /** Set by destroy(): the data went with it, and the cookie goes unless data is set again. */
  #destroyed = false;

  static {
    internals = (session) => ({ data: session.#data, dropStored: session.#dropStored, destroyed: session.#destroyed });
  }

  constructor(id: string, data: SessionData, isNew: boolean, close: () => Promise<void>) {
    this.#id = id;
    this.#data = data;
    this.#isNew = isNew;
    this.#close = close;
  }

  /** The session id: what the cookie carries. It changes with regenerate(). */
  get id(): string {
    return this.#id;
  }

  /** True when the request brought no valid, unexpired session: this one starts empty. */
  get isNew(): boolean {
    return this.#isNew;
  }

  get<K extends keyof T & string>(key: K): T[K] | undefined {
    return Object.hasOwn(this.#data, key) ? (this.#data[key] as T[K]) : undefined;
  }

  has(key: keyof T & string): boolean {
    return Object.hasOwn(this.#data, key);
  }

  /** Stores a JSON value; a value JSON cannot carry unchanged (undefined, a Date, a Map, NaN) throws TSCGI_E_API_SESSION_DATA. */
  set<K extends keyof T & string>(key: K, value: Exclude<T[K], undefined>): this {
    this.#open("set a session value");
    checkValue(key, value);
    this.#data[key] = value;
    return this;
  }

  delete(key: keyof T & string): this {
    this.#open("delete a session value");
    delete this.#data[key];
    return this;
  }

  /** Removes every value; the session itself (and its id) stays. */
  clear(): this {
    this.#open("clear the session");
    this.#data = Object.create(null) as SessionData;
    return this;
  }

  /** A copy of every value, as PHP's $_SESSION. */
  toJSON(): Partial<T> {
    return structuredClone(this.#data) as Partial<T>;
  }

  /**
   * A new id for the same data, the old one removed when the response goes out: call it right
   * after a login, so an id planted in the browser before it (session fixation) is worthless.
   */
  regenerate(): this {
    this.#open("regenerate the session");
    this.#id = newSessionId();
    this.#isNew = true;
    this.#dropStored = true;
    return this;
  }

  /**
   * Ends the session (logout): its data is cleared now, the stored session removed and the
   * cookie deleted when the response goes out. Values set afterwards start a fresh session.
   */
  destroy(): this {
    this.#open("destroy the session");
    this.#data = Object.create(null) as SessionData;
    this.#id = newSessionId();
    this.#isNew = true;
    this.#dropStored = true;
    this.#destroyed = true;
    return this;
  }

  /**
   * Saves now and lets other requests of this session in (PHP's session_write_close): for a
   * long request that no longer needs to change the session. Reading still works after it.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#close();
  }

  #open(action: string): void {
    if (this.#closed) throw new SessionClosedError(action);
  }
}

/** Throws SessionDataError unless `value` survives JSON.stringify and JSON.parse unchanged. */
function checkValue(key: string, value: unknown): void {
  const seen = new Set<object>();
  const check = (v: unknown): void => {
    if (v === null || typeof v === "string" || typeof v === "boolean") return;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) throw new SessionDataError(key, `${v} is not a finite number`);
      return;
    }
    if (typeof v !== "object") throw new SessionDataError(key, `a ${typeof v} cannot be stored`);
    if (seen.has(v)) throw new SessionDataError(key, "the value refers to itself");
    seen.add(v);
    if (Array.isArray(v)) v.forEach(check);
    else {
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null)
        throw new SessionDataError(key, `a ${v.constructor?.name ?? "class instance"} would not read back as one`);
      Object.values(v).forEach(check);
    }
    seen.delete(v);
  };
  check(value);
}

/** The session of one request: the script's Session, and the two ways the request can end it. */
export interface OpenedSession<T extends SessionShape<T> = SessionData> {
  session: Session<T>;
  /** Saves what changed, touches what did not, releases the lock; says what the cookie must become. */
  commit: () => Promise<SessionCookie>;
  /** Releases the lock without saving (the request failed). */
  release: () => Promise<void>;
}

function expired(record: { created: number; touched: number }, rules: SessionRules, now: number): boolean {
  return (
    (rules.idleTimeout > 0 && now - record.touched > rules.idleTimeout) ||
    (rules.maxLifetime > 0 && now - record.created > rules.maxLifetime)
  );
}

/** How long a store that expires keys keeps the session: until the first of its two deadlines. */
function ttl(created: number, rules: SessionRules, now: number): number {
  const idle = rules.idleTimeout > 0 ? rules.idleTimeout : Infinity;
  const left = rules.maxLifetime > 0 ? created + rules.maxLifetime - now : Infinity;
  const ms = Math.min(idle, left);
  return Number.isFinite(ms) ? Math.max(1, ms) : 0;
}

/**
 * Starts the session a request's cookie names (`cookieId`, possibly absent or forged): waits for
 * its lock, and gives a fresh, empty session when the id is unknown, expired or malformed, never
 * reusing an id the server did not make (PHP's session.use_strict_mode).
 */
export async function openSession<T extends SessionShape<T> = SessionData>(
  store: SessionStore,
  cookieId: string | undefined,
  rules: SessionRules,
  options: { now?: () => number; onGcError?: (error: unknown) => void } = {},
): Promise<OpenedSession<T>> {
  const now = options.now ?? Date.now;
  if (rules.gcProbability > 0 && Math.random() < rules.gcProbability) {
    store.gc(rules.idleTimeout > 0 ? rules.idleTimeout : Infinity, now()).catch((error) => options.onGcError?.(error));
  }
  let lock: SessionLock | null = null;
  let created = now();
  let loaded = "{}";
  let data: SessionData = Object.create(null) as SessionData;
  if (isSessionId(cookieId)) {
    lock = await store.lock(cookieId, rules.lockTimeout);
    const record = lock.record;
    if (record !== null && !expired(record, rules, now())) {
      created = record.created;
      data = Object.assign(Object.create(null) as SessionData, record.data);
      loaded = JSON.stringify(data);
    } else {
      if (record !== null) await lock.destroy().catch(() => {});
      await lock.release();
      lock = null;
    }
  }

  let result: Promise<SessionCookie> | null = null;
  const finish = (): Promise<SessionCookie> => (result ??= save());
  const session = new Session<T>(lock === null ? newSessionId() : cookieId!, data, lock === null, async () => void (await finish()));
  const cookieWas = lock === null ? null : cookieId!;

  async function save(): Promise<SessionCookie> {
    const at = now();
    const { data, dropStored, destroyed } = internals(session as unknown as Session<SessionData>);
    try {
      if (lock !== null && dropStored) await lock.destroy();
      if (lock !== null && session.id === cookieWas) {
        if (JSON.stringify(data) !== loaded) await lock.save({ data, created, touched: at }, ttl(created, rules, at), true);
        else await lock.touch(at, ttl(created, rules, at), true);
        return { action: "keep" };
      }
      // A new id (a new session, regenerate() or destroy()): stored only once it holds something,
      // so a visitor who never logs in costs no storage and gets no cookie.
      if (Object.keys(data).length === 0) return dropStored ? { action: "delete" } : { action: "keep" };
      if (destroyed) created = at;
      const fresh = await store.lock(session.id, rules.lockTimeout);
      try {
        await fresh.save({ data, created, touched: at }, ttl(created, rules, at), true);
      } finally {
        await fresh.release();
      }
      return { action: "set", id: session.id };
    } finally {
      await lock?.release();
    }
  }

  return {
    session,
    commit: finish,
    release: async () => {
      result ??= Promise.resolve({ action: "keep" });
      await lock?.release();
    },
  };
}

/**
 * The Set-Cookie value a commit asks for (null: none). The cookie has no Max-Age, so it ends with
 * the browser session as PHP's does; the server's idle and absolute timeouts end the session
 * itself. `secure`: whether the request came over HTTPS.
 */
export function sessionCookieHeader(name: string, result: SessionCookie, options: { secure: boolean }): string | null {
  const attributes = { secure: options.secure, httpOnly: true, sameSite: "Lax", path: "/" } as const;
  if (result.action === "set") return serializeCookie(name, result.id, { ...attributes, raw: true });
  if (result.action === "delete") return serializeCookieDeletion(name, attributes);
  return null;
}
