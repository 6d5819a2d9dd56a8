// The Redis session store: sessions shared by every tscgi that reaches the same Redis (several
// hosts behind one nginx). Each session is a hash that expires by itself (PEXPIRE); a request
// holds it with SET NX PX and a random token, released only by the token's owner (a Lua script).
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { SessionStoreError } from "../runtime/errors.ts";
import { isSessionId, type SessionLock, type SessionRecord, type SessionStore } from "../runtime/session-store.ts";
import { pollLock } from "./poll-lock.ts";

/** Keys are tscgi:sess:<id> and tscgi:sess:<id>:lock; a Redis shared by several sites separates them by database (redis://host/2). */
export const REDIS_KEY_PREFIX = "tscgi:sess:";

// Delete the lock only if it still holds our token: a lock that expired and was taken by
// another request must not be released by us. The check and the delete are one atomic step.
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

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
      });
      // Errors reach each command's promise; without a listener ioredis would also print them.
      redis.on("error", () => {});
      return redis;
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
    const redis = await this.#redis();
    const key = REDIS_KEY_PREFIX + id;
    const lockKey = `${key}:lock`;
    const token = randomBytes(16).toString("hex");
    const stale = Math.max(1, Math.round(this.#staleLockMs));
    await pollLock(
      async () => ((await this.#call("take a lock", () => redis.set(lockKey, token, "PX", stale, "NX"))) === "OK" ? true : null),
      timeoutMs,
    );

    let record: SessionRecord | null = null;
    try {
      const hash = await this.#call("read a session", () => redis.hgetall(key));
      if (hash.data !== undefined) {
        const data = JSON.parse(hash.data) as SessionRecord["data"];
        record = { data, created: Number(hash.created), touched: Number(hash.touched) };
      }
    } catch (error) {
      await redis.eval(RELEASE, 1, lockKey, token).catch(() => {});
      // A value that is not ours or was damaged: the session starts afresh.
      if (!(error instanceof SyntaxError)) throw error;
    }

    let released = false;
    const expire = (ttlMs: number) => (ttlMs > 0 ? ["pexpire", key, Math.max(1, Math.round(ttlMs))] : ["persist", key]);
    return {
      record,
      save: async (saved, ttlMs) => {
        const fields = { data: JSON.stringify(saved.data), created: String(saved.created), touched: String(saved.touched) };
        await this.#call("save a session", () =>
          redis
            .multi()
            .hset(key, fields)
            .call(...(expire(ttlMs) as [string, ...string[]]))
            .exec(),
        );
      },
      touch: async (touched, ttlMs) => {
        // Only an existing session is touched: HSET on a missing key would create a session without data.
        await this.#call("touch a session", async () => {
          if ((await redis.exists(key)) === 1)
            await redis
              .multi()
              .hset(key, "touched", String(touched))
              .call(...(expire(ttlMs) as [string, ...string[]]))
              .exec();
        });
      },
      destroy: async () => {
        await this.#call("remove a session", () => redis.del(key));
      },
      release: async () => {
        if (released) return;
        released = true;
        // If Redis is unreachable the lock expires by itself after staleLockMs.
        await redis.eval(RELEASE, 1, lockKey, token).catch(() => {});
      },
    };
  }

  /** Redis expires idle sessions itself (PEXPIRE on every save and touch): nothing to sweep. */
  async gc(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {
    if (this.#client === null) return;
    const redis = await this.#client;
    await redis.quit().catch(() => redis.disconnect());
  }
}
