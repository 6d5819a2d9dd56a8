// The Redis session store: sessions shared by every tscgi that reaches the same Redis (several
// hosts behind one nginx). Each session is a hash that expires by itself (PEXPIRE); a request
// holds it with SET NX PX and a random token, released only by the token's owner. Two Lua
// scripts make a request two round trips: lock and read, then write and release; the release
// publishes on the lock's key, which wakes a request of another process waiting for it.
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { SessionStoreError } from "../runtime/errors.ts";
import { isSessionId, type SessionLock, type SessionRecord, type SessionStore } from "../runtime/session-store.ts";
import { pollLock } from "./poll-lock.ts";
import { SessionTurns } from "./session-turns.ts";

/** Keys are tscgi:sess:<id> and tscgi:sess:<id>:lock; a Redis shared by several sites separates them by database (redis://host/2). */
export const REDIS_KEY_PREFIX = "tscgi:sess:";

// Take the lock (KEYS[1]) with token ARGV[1] for ARGV[2] ms and, if taken, read the session
// (KEYS[2]): nil while another request holds it, else [data, created, touched], nil when absent.
const LOCK_AND_READ = `if not redis.call("set", KEYS[1], ARGV[1], "PX", ARGV[2], "NX") then return false end
return redis.call("hmget", KEYS[2], "data", "created", "touched")`;

// Write the session (KEYS[1]): ARGV[4] touched, and with ARGV[5] data and ARGV[6] created a full
// save, without them a touch (only of a session that exists: HSET alone would make one without
// data). Expire it after ARGV[3] ms (0: never). With ARGV[2] = "1", then release the lock
// (KEYS[2]) if it still holds our token ARGV[1]: a lock that expired and was taken by another
// request must not be released by us. Publishing on the lock's key wakes its waiters.
const WRITE_AND_RELEASE = `if ARGV[5] then
  redis.call("hset", KEYS[1], "data", ARGV[5], "created", ARGV[6], "touched", ARGV[4])
elseif redis.call("exists", KEYS[1]) == 1 then
  redis.call("hset", KEYS[1], "touched", ARGV[4])
end
if redis.call("exists", KEYS[1]) == 1 then
  if ARGV[3] == "0" then redis.call("persist", KEYS[1]) else redis.call("pexpire", KEYS[1], ARGV[3]) end
end
if ARGV[2] == "1" and redis.call("get", KEYS[2]) == ARGV[1] then
  redis.call("del", KEYS[2])
  redis.call("publish", KEYS[2], "")
end
return 1`;

// Release only: the same check of the token, and the same wake-up.
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then
  redis.call("del", KEYS[1])
  redis.call("publish", KEYS[1], "")
end
return 1`;

/** The scripts as ioredis commands: sent by EVALSHA, loaded again by ioredis if Redis lost them. */
interface SessionCommands {
  tscgiLockAndRead(lockKey: string, key: string, token: string, staleMs: number): Promise<(string | null)[] | null>;
  tscgiWriteAndRelease(
    key: string,
    lockKey: string,
    token: string,
    release: "0" | "1",
    ttlMs: number,
    ...fields: string[]
  ): Promise<number>;
  tscgiRelease(lockKey: string, token: string): Promise<number>;
}

/** Lock tokens: a random prefix per process and a count, unique without a CSPRNG call per request. */
const TOKEN_PREFIX = randomBytes(8).toString("hex");
let tokenCount = 0;

/** How long a command may wait for Redis to (re)connect before the request fails: not forever. */
const CONNECT_TIMEOUT_MS = 5000;

export interface RedisStoreOptions {
  /** session_redis_url: redis://[user:password@]host:port[/db] or rediss:// for TLS. */
  url: string;
  /** The lock's expiry (PX): a holder that died frees it after this (request_timeout). */
  staleLockMs: number;
}

export class RedisSessionStore implements SessionStore {
  readonly kind = "redis";
  readonly #url: string;
  readonly #staleLockMs: number;
  #client: Promise<Redis> | null = null;
  /** A second connection, in subscriber mode: made when a request first waits for another process's lock. */
  #subscriber: Promise<Redis> | null = null;
  /** Wakes the request of this process waiting for each lock key (one each: SessionTurns queues the rest). */
  readonly #waiters = new Map<string, () => void>();
  /** Lock keys a request of this process is subscribed to, between its attempts and its waits. */
  readonly #watched = new Set<string>();
  /**
   * Watched keys whose release message came while no wait was set: between a failed attempt's
   * reply and the wait after it. The next wait ends at once instead of sitting out its pause.
   */
  readonly #released = new Set<string>();
  /** Requests of one session in this process queue here, so only one at a time waits on Redis. */
  readonly #turns = new SessionTurns();

  constructor(options: RedisStoreOptions) {
    this.#url = options.url;
    this.#staleLockMs = options.staleLockMs;
  }

  /** The connection, made on first use: ioredis costs a worker about 24 MiB, so only sites with sessions in Redis load it. */
  #redis(): Promise<Redis> {
    return (this.#client ??= import("ioredis").then(({ Redis }) => {
      const redis = new Redis(this.#url, {
        lazyConnect: true,
        connectTimeout: CONNECT_TIMEOUT_MS,
        // Fail a command after one reconnect attempt instead of queueing it while Redis is down.
        maxRetriesPerRequest: 1,
        // Commands of concurrent requests issued in one tick go out in one write: Redis spends
        // half the CPU per request at 16 connections.
        enableAutoPipelining: true,
      });
      // Errors reach each command's promise; without a listener ioredis would also print them.
      redis.on("error", () => {});
      redis.defineCommand("tscgiLockAndRead", { numberOfKeys: 2, lua: LOCK_AND_READ });
      redis.defineCommand("tscgiWriteAndRelease", { numberOfKeys: 2, lua: WRITE_AND_RELEASE });
      redis.defineCommand("tscgiRelease", { numberOfKeys: 1, lua: RELEASE });
      return redis;
    }));
  }

  #subscribed(): Promise<Redis> {
    return (this.#subscriber ??= this.#redis().then((redis) => {
      const subscriber = redis.duplicate();
      subscriber.on("error", () => {});
      subscriber.on("message", (channel: string) => {
        const wake = this.#waiters.get(channel);
        if (wake !== undefined) wake();
        else if (this.#watched.has(channel)) this.#released.add(channel);
      });
      return subscriber;
    }));
  }

  async #call<T>(action: string, command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw new SessionStoreError(this.kind, action, error);
    }
  }

  async lock(id: string, timeoutMs: number): Promise<SessionLock> {
    if (!isSessionId(id)) throw new SessionStoreError(this.kind, "lock a session", new Error("not a session id"));
    const startedAt = performance.now();
    const key = REDIS_KEY_PREFIX + id;
    const lockKey = `${key}:lock`;
    const token = TOKEN_PREFIX + (tokenCount++).toString(36);
    const leaveTurn = await this.#turns.take(id, timeoutMs);
    let redis: Redis;
    let hash: (string | null)[];
    try {
      redis = await this.#redis();
      hash = await this.#lockAndRead(redis as Redis & SessionCommands, key, lockKey, token, timeoutMs, startedAt);
    } catch (error) {
      leaveTurn();
      throw error;
    }
    const commands = redis as Redis & SessionCommands;

    let record: SessionRecord | null = null;
    if (typeof hash[0] === "string") {
      try {
        record = { data: JSON.parse(hash[0]) as SessionRecord["data"], created: Number(hash[1]), touched: Number(hash[2]) };
      } catch {
        // A value that is not ours or was damaged: the session starts afresh.
      }
    }

    let released = false;
    const write = async (action: string, release: boolean | undefined, ttlMs: number, fields: string[]) => {
      const ttl = ttlMs > 0 ? Math.max(1, Math.round(ttlMs)) : 0;
      await this.#call(action, () => commands.tscgiWriteAndRelease(key, lockKey, token, release === true ? "1" : "0", ttl, ...fields));
      if (release === true && !released) {
        released = true;
        leaveTurn();
      }
    };
    return {
      record,
      save: (saved, ttlMs, release) =>
        write("save a session", release, ttlMs, [String(saved.touched), JSON.stringify(saved.data), String(saved.created)]),
      touch: (touched, ttlMs, release) => write("touch a session", release, ttlMs, [String(touched)]),
      destroy: async () => {
        await this.#call("remove a session", () => redis.del(key));
      },
      release: async () => {
        if (released) return;
        released = true;
        // If Redis is unreachable the lock expires by itself after staleLockMs.
        await commands.tscgiRelease(lockKey, token).catch(() => {});
        leaveTurn();
      },
    };
  }

  /**
   * Takes the lock and reads the session in one round trip, waiting while another process holds
   * it. After the first miss it subscribes to the lock's key and tries once more (a release in
   * between is not missed); then each release it publishes wakes it, with the growing pause of
   * pollLock as the bound for a holder that died (its lock expires without a message).
   */
  async #lockAndRead(
    redis: Redis & SessionCommands,
    key: string,
    lockKey: string,
    token: string,
    timeoutMs: number,
    startedAt: number,
  ): Promise<(string | null)[]> {
    const stale = Math.max(1, Math.round(this.#staleLockMs));
    let subscriber: Redis | null = null;
    try {
      return await pollLock(() => this.#call("take a lock", () => redis.tscgiLockAndRead(lockKey, key, token, stale)), timeoutMs, {
        startedAt,
        wait: async (pauseMs) => {
          if (subscriber === null) {
            subscriber = await this.#subscribed();
            this.#watched.add(lockKey);
            // Unreachable for now: the pauses alone will do.
            await subscriber.subscribe(lockKey).catch(() => {});
            return;
          }
          if (this.#released.delete(lockKey)) return;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, pauseMs);
            function done() {
              clearTimeout(timer);
              resolve();
            }
            this.#waiters.set(lockKey, done);
          });
          this.#waiters.delete(lockKey);
        },
      });
    } finally {
      if (subscriber !== null) {
        this.#watched.delete(lockKey);
        this.#released.delete(lockKey);
        (subscriber as Redis).unsubscribe(lockKey).catch(() => {});
      }
    }
  }

  /** Redis expires idle sessions itself (PEXPIRE on every save and touch): nothing to sweep. */
  async gc(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {
    if (this.#subscriber !== null) {
      const subscriber = await this.#subscriber;
      await subscriber.quit().catch(() => subscriber.disconnect());
    }
    if (this.#client === null) return;
    const redis = await this.#client;
    await redis.quit().catch(() => redis.disconnect());
  }
}
