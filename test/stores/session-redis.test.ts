// The Redis session store against a real redis-server: the store contract, sessions shared by two
// tscgi instances, expiry left to Redis, a dead holder's lock expiring, a down Redis failing fast.
import t from "tap";
import { mock } from "node:test";
import { Redis } from "ioredis";
import { freePort } from "../helpers/ports.ts";
import { redisMissing, startRedis, type RedisServer } from "../helpers/redis.ts";
import { openSession } from "../../src/runtime/session.ts";
import { newSessionId } from "../../src/runtime/session-store.ts";
import { REDIS_KEY_PREFIX, RedisSessionStore } from "../../src/stores/session-redis.ts";
import { counter, counterProcess, increment, RULES, seeded, sessionStoreContract } from "./session-contract.ts";

const skip = redisMissing();
if (skip) {
  t.comment(skip);
  t.pass("skipped: " + skip);
} else {
  let server: RedisServer;
  t.before(async () => {
    server = await startRedis();
  });
  t.teardown(() => server?.stop());

  const make = (t: { teardown(fn: () => unknown): void }) => {
    const store = new RedisSessionStore({ url: server.url, staleLockMs: 60_000 });
    t.teardown(() => store.close());
    return store;
  };

  sessionStoreContract(t, make);

  t.test("two tscgi instances on one Redis share sessions and serialise their requests", async (t) => {
    const a = make(t);
    const b = make(t);
    const id = await seeded(a);
    await Promise.all(Array.from({ length: 40 }, (_, i) => increment(i % 2 ? a : b, id)));
    t.equal(await counter(b, id), 40);
    t.equal(await counter(a, id), 40);
  });

  t.test("a session written by one tscgi process is read and changed by another on the same Redis", async (t) => {
    const store = make(t);
    const id = await seeded(store);
    const other = counterProcess("redis", server.url, id, 20);
    for (let i = 0; i < 20; i++) await increment(store, id);
    t.equal(await other, "done\n");
    t.equal(await counter(store, id), 40, "no update lost between the two processes");
  });

  t.test(
    "Redis expires the session itself (PEXPIRE): after the idle timeout, or sooner when its absolute lifetime ends first",
    async (t) => {
      const store = make(t);
      const redis = new Redis(server.url);
      t.teardown(() => redis.quit());
      const rules = { ...RULES, idleTimeout: 3_600_000, maxLifetime: 3_000_000 };
      const opened = await openSession(store, undefined, rules);
      opened.session.set("user", "ada");
      const result = await opened.commit();
      const id = result.action === "set" ? result.id : "";
      const ttl = await redis.pttl(REDIS_KEY_PREFIX + id);
      t.ok(ttl > 2_990_000 && ttl <= 3_000_000, `PTTL ${ttl}: the absolute lifetime comes first`);
      t.equal(await redis.exists(`${REDIS_KEY_PREFIX}${id}:lock`), 0, "lock released");
      const late = Date.now() + 2_990_000;
      const again = await openSession(store, id, rules, { now: () => late });
      t.notOk(again.session.isNew);
      await again.commit();
      const left = await redis.pttl(REDIS_KEY_PREFIX + id);
      t.ok(left > 0 && left <= 10_000, `near the absolute limit the key lives only until it: PTTL ${left}`);
      t.equal(await store.gc(), 0, "nothing for gc to do");
    },
  );

  t.test("a lock whose holder died expires after the stale limit and is taken", async (t) => {
    const store = new RedisSessionStore({ url: server.url, staleLockMs: 60_000 });
    t.teardown(() => store.close());
    const redis = new Redis(server.url);
    t.teardown(() => redis.quit());
    const id = newSessionId();
    // What a crashed worker leaves: a lock with its own expiry and no one to release it.
    await redis.set(`${REDIS_KEY_PREFIX}${id}:lock`, "crashed", "PX", 300);
    const lock = await store.lock(id, 30_000);
    t.equal((await redis.get(`${REDIS_KEY_PREFIX}${id}:lock`)) === "crashed", false);
    await lock.release();
    t.equal(await redis.exists(`${REDIS_KEY_PREFIX}${id}:lock`), 0);
  });

  t.test("a released lock that was retaken by someone else is not deleted by the old holder", async (t) => {
    const store = new RedisSessionStore({ url: server.url, staleLockMs: 50 });
    t.teardown(() => store.close());
    const redis = new Redis(server.url);
    t.teardown(() => redis.quit());
    const id = newSessionId();
    const lockKey = `${REDIS_KEY_PREFIX}${id}:lock`;
    const slow = await store.lock(id, 1000);
    // The slow holder's lock expires and another request takes the session.
    await redis.del(lockKey);
    await redis.set(lockKey, "other", "PX", 60_000);
    await slow.release();
    t.equal(await redis.get(lockKey), "other", "compare-and-delete left the other's lock alone");
  });

  t.test("an unreachable Redis fails the request with TSCGI_E_API_SESSION_STORE, not a hang", async (t) => {
    const store = new RedisSessionStore({ url: `redis://127.0.0.1:${await freePort()}`, staleLockMs: 1000 });
    t.teardown(() => store.close());
    await t.rejects(store.lock(newSessionId(), 1000), {
      code: "TSCGI_E_API_SESSION_STORE",
      message: /redis session store could not take a lock/,
    });
  });

  t.test("a session request costs Redis two round trips: lock and read, then write and release", async (t) => {
    const store = make(t);
    const redis = new Redis(server.url);
    t.teardown(() => redis.quit());
    const id = await seeded(store);
    await increment(store, id);
    // MONITOR lists every command a client sends; those a script runs come from "lua".
    const monitor = await redis.monitor();
    t.teardown(() => monitor.disconnect());
    const sent: string[] = [];
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      if (source !== "lua") sent.push(String(args[0]).toLowerCase() + (args[0] === "echo" ? ` ${args[1]}` : ""));
    });
    await redis.echo("before");
    await increment(store, id);
    await redis.echo("after");
    for (let i = 0; i < 2000 && !sent.includes("echo after"); i++) await redis.ping();
    const between = sent.slice(sent.indexOf("echo before") + 1, sent.indexOf("echo after")).filter((command) => command !== "ping");
    t.same(between, ["evalsha", "evalsha"]);
    t.equal(await counter(store, id), 2);
  });

  t.test("a request of another process waiting for a session is woken by the release's message, not a timer", async (t) => {
    const holder = make(t);
    const waiter = make(t);
    const redis = new Redis(server.url);
    t.teardown(() => redis.quit());
    const id = await seeded(holder);
    await counter(waiter, id);
    const lockKey = `${REDIS_KEY_PREFIX}${id}:lock`;
    const held = await holder.lock(id, 30_000);
    let woken = false;
    const waiting = waiter.lock(id, 30_000).then((lock) => ((woken = true), lock));
    // Wait (by Redis's own count, no clock) until the waiter listens on the lock's key.
    let listening = 0;
    for (let i = 0; i < 2000 && listening === 0; i++) listening = Number(((await redis.pubsub("NUMSUB", lockKey)) as [string, number])[1]);
    t.equal(listening, 1, "the waiter subscribed to the lock's key");
    // From here on no timer fires: only the message can wake the waiter.
    mock.timers.enable({ apis: ["setTimeout"] });
    t.teardown(() => mock.timers.reset());
    t.equal(woken, false);
    await held.release();
    for (let i = 0; i < 2000 && !woken; i++) await redis.ping();
    mock.timers.reset();
    t.equal(woken, true, "the waiter holds the session");
    await (await waiting).release();
  });
}
