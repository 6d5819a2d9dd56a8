// The Session a script sees and the rules around it: saved only when changed, new ids for new
// sessions, regenerate, destroy, idle and absolute expiry, close(), JSON-only values.
import t from "tap";
import { openSession, sessionCookieHeader, type SessionRules } from "../../src/runtime/session.ts";
import { isSessionId, type SessionLock, type SessionStore } from "../../src/runtime/session-store.ts";
import { MemorySessionStore } from "../../src/stores/session-memory.ts";

const MIN = 60_000;
const RULES: SessionRules = { idleTimeout: 24 * MIN, maxLifetime: 8 * 60 * MIN, lockTimeout: 1000, gcProbability: 0 };

/** A memory store that counts what each request did to it. */
function counting() {
  const store = new MemorySessionStore();
  const calls = { save: 0, touch: 0, destroy: 0 };
  const lock = store.lock.bind(store);
  store.lock = async (id, timeout) => {
    const held = await lock(id, timeout);
    return {
      record: held.record,
      save: (r, ttl) => (calls.save++, held.save(r, ttl)),
      touch: (at, ttl) => (calls.touch++, held.touch(at, ttl)),
      destroy: () => (calls.destroy++, held.destroy()),
      release: () => held.release(),
    } satisfies SessionLock;
  };
  return { store, calls };
}

/** One request: open with the cookie's id, run the script's part, commit; the new cookie id. */
async function request(
  store: SessionStore,
  cookie: string | undefined,
  script: (s: Awaited<ReturnType<typeof openSession>>["session"]) => void,
  now = 0,
  rules = RULES,
) {
  const opened = await openSession(store, cookie, rules, { now: () => now });
  script(opened.session);
  const result = await opened.commit();
  return { result, session: opened.session, cookie: result.action === "set" ? result.id : result.action === "delete" ? undefined : cookie };
}

t.test("a visitor who stores nothing gets no session and no cookie", async (t) => {
  const { store, calls } = counting();
  const { result, session } = await request(store, undefined, (s) => t.equal(s.get("user"), undefined));
  t.same(result, { action: "keep" });
  t.ok(session.isNew);
  t.same(calls, { save: 0, touch: 0, destroy: 0 });
});

t.test("a value set is saved under a new id and read back by the next request", async (t) => {
  const { store } = counting();
  const first = await request(store, undefined, (s) => s.set("user", "ada").set("cart", [1, 2]));
  t.equal(first.result.action, "set");
  t.ok(isSessionId(first.cookie));
  const second = await request(store, first.cookie, (s) => {
    t.notOk(s.isNew);
    t.equal(s.id, first.cookie);
    t.equal(s.get("user"), "ada");
    t.same(s.get("cart"), [1, 2]);
    t.ok(s.has("user"));
    t.notOk(s.has("nope"));
    t.same(s.toJSON(), { user: "ada", cart: [1, 2] });
  });
  t.same(second.result, { action: "keep" });
});

t.test("saved only when changed, including a change inside a stored object; otherwise only touched", async (t) => {
  const { store, calls } = counting();
  const { cookie } = await request(store, undefined, (s) => s.set("cart", { items: ["a"] }));
  t.equal(calls.save, 1);
  await request(store, cookie, (s) => s.get("user"));
  t.same(calls, { save: 1, touch: 1, destroy: 0 }, "read only: touched, not rewritten");
  await request(store, cookie, (s) => s.set("cart", { items: ["a"] }));
  t.equal(calls.save, 1, "the same value again is no change");
  await request(store, cookie, (s) => (s.get("cart") as { items: string[] }).items.push("b"));
  t.equal(calls.save, 2, "a nested change is noticed (PHP's $_SESSION['cart'][] = ...)");
  await request(store, cookie, (s) => t.same(s.get("cart"), { items: ["a", "b"] }));
  await request(store, cookie, (s) => s.delete("cart"));
  await request(store, cookie, (s) => t.notOk(s.has("cart")));
});

t.test("an unknown, forged or malformed id starts a new session with an id of its own", async (t) => {
  const { store } = counting();
  for (const forged of ["A".repeat(43), "../../etc/passwd", "short", "x".repeat(44)]) {
    const { result, session } = await request(store, forged, (s) => s.set("n", 1));
    t.ok(session.isNew);
    t.not(session.id, forged, "the planted id is never adopted (strict mode)");
    t.equal(result.action, "set");
  }
});

t.test("regenerate: a new id for the same data; the old id is gone", async (t) => {
  const { store } = counting();
  const { cookie: before } = await request(store, undefined, (s) => s.set("cart", ["x"]));
  const login = await request(store, before, (s) => s.regenerate().set("user", "ada"));
  t.equal(login.result.action, "set");
  t.not(login.cookie, before);
  await request(store, login.cookie, (s) => t.same(s.toJSON(), { cart: ["x"], user: "ada" }));
  await request(store, before, (s) => {
    t.ok(s.isNew, "the old id reads as no session");
    t.equal(s.get("user"), undefined);
  });
});

t.test("destroy: data gone, stored session gone, cookie deleted; a value set afterwards starts a fresh session", async (t) => {
  const { store } = counting();
  const { cookie } = await request(store, undefined, (s) => s.set("user", "ada"));
  const logout = await request(store, cookie, (s) => {
    s.destroy();
    t.equal(s.get("user"), undefined);
  });
  t.same(logout.result, { action: "delete" });
  await request(store, cookie, (s) => t.ok(s.isNew));

  const { cookie: second } = await request(store, undefined, (s) => s.set("user", "bob"));
  const flash = await request(store, second, (s) => s.destroy().set("flash", "logged out"));
  t.equal(flash.result.action, "set");
  t.not(flash.cookie, second);
  await request(store, flash.cookie, (s) => t.same(s.toJSON(), { flash: "logged out" }));
});

t.test("idle timeout: unused for longer than session_idle_timeout, the session is gone; each use extends it", async (t) => {
  const { store } = counting();
  const { cookie } = await request(store, undefined, (s) => s.set("user", "ada"), 0);
  await request(store, cookie, (s) => t.notOk(s.isNew, "20 min later"), 20 * MIN);
  await request(store, cookie, (s) => t.notOk(s.isNew, "another 20 min later: the last use counts"), 40 * MIN);
  const late = await request(store, cookie, (s) => t.ok(s.isNew, "25 min idle: expired"), 65 * MIN);
  t.not(late.session.id, cookie);
});

t.test("absolute lifetime: past session_max_lifetime the session is gone however busy", async (t) => {
  const { store } = counting();
  const rules = { ...RULES, maxLifetime: 60 * MIN };
  const { cookie } = await request(store, undefined, (s) => s.set("user", "ada"), 0, rules);
  for (let at = 10; at <= 60; at += 10) await request(store, cookie, (s) => t.notOk(s.isNew, `${at} min`), at * MIN, rules);
  await request(store, cookie, (s) => t.ok(s.isNew, "61 min after creation"), 61 * MIN, rules);
});

t.test("regenerate keeps the creation time: it does not extend the absolute lifetime", async (t) => {
  const { store } = counting();
  const rules = { ...RULES, maxLifetime: 60 * MIN };
  const { cookie } = await request(store, undefined, (s) => s.set("user", "ada"), 0, rules);
  const next = await request(store, cookie, (s) => s.regenerate(), 30 * MIN, rules);
  await request(store, next.cookie, (s) => t.ok(s.isNew), 61 * MIN, rules);
});

t.test("only JSON values are stored; anything else throws a coded error naming the key", async (t) => {
  const { store } = counting();
  const opened = await openSession(store, undefined, RULES);
  const s = opened.session;
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  for (const [value, why] of [
    [undefined, /undefined/],
    [NaN, /finite/],
    [Infinity, /finite/],
    [10n, /bigint/],
    [() => 1, /function/],
    [new Date(0), /Date/],
    [new Map(), /Map/],
    [{ deep: [{ at: new Set() }] }, /Set/],
    [cyclic, /refers to itself/],
  ] as const) {
    t.throws(() => s.set("k", value as never), { code: "TSCGI_E_API_SESSION_DATA", message: why });
  }
  const shared = { a: 1 };
  s.set("ok", { x: [1, "two", true, null, { y: shared, z: shared }] });
  await opened.commit();
});

t.test("close() saves at once and lets the next request in; changes after it throw", async (t) => {
  const { store } = counting();
  const { cookie } = await request(store, undefined, (s) => s.set("n", 1));
  const slow = await openSession(store, cookie, RULES, { now: () => 0 });
  slow.session.set("n", 2);
  await slow.session.close();
  // The lock is free: another request of the same session gets in while "slow" still runs.
  await request(store, cookie, (s) => t.equal(s.get("n"), 2));
  t.equal(slow.session.get("n"), 2, "reading still works");
  t.throws(() => slow.session.set("n", 3), { code: "TSCGI_E_API_SESSION_CLOSED" });
  t.same(await slow.commit(), { action: "keep" }, "commit after close changes nothing");
});

t.test("a failed request releases the lock without saving", async (t) => {
  const { store } = counting();
  const { cookie } = await request(store, undefined, (s) => s.set("n", 1));
  const failed = await openSession(store, cookie, RULES, { now: () => 0 });
  failed.session.set("n", 99);
  await failed.release();
  await request(store, cookie, (s) => t.equal(s.get("n"), 1));
});

t.test("gc runs on a session start with session_gc_probability, and its failure is reported, not thrown", async (t) => {
  const { store } = counting();
  let swept = 0;
  store.gc = async () => {
    swept++;
    throw new Error("disk gone");
  };
  const errors: unknown[] = [];
  const opened = await openSession(store, undefined, { ...RULES, gcProbability: 1 }, { onGcError: (e) => errors.push(e) });
  await opened.commit();
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(swept, 1);
  t.match(errors, [{ message: "disk gone" }]);
  await (await openSession(store, undefined, RULES)).commit();
  t.equal(swept, 1, "probability 0: never");
});

t.test("the session cookie: HttpOnly, SameSite=Lax, Path=/, Secure over HTTPS, no Max-Age", async (t) => {
  const id = "A".repeat(43);
  t.equal(
    sessionCookieHeader("TSCGISESSID", { action: "set", id }, { secure: false }),
    `TSCGISESSID=${id}; Path=/; HttpOnly; SameSite=Lax`,
  );
  t.equal(
    sessionCookieHeader("__Host-sid", { action: "set", id }, { secure: true }),
    `__Host-sid=${id}; Path=/; Secure; HttpOnly; SameSite=Lax`,
  );
  t.equal(
    sessionCookieHeader("TSCGISESSID", { action: "delete" }, { secure: false }),
    "TSCGISESSID=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; SameSite=Lax",
  );
  t.equal(sessionCookieHeader("TSCGISESSID", { action: "keep" }, { secure: false }), null);
});

t.test("a script types its session with an interface; keys and value types are checked by tsc", async (t) => {
  interface Shop {
    user?: string;
    cart: number[];
  }
  const { session, commit } = await openSession<Shop>(new MemorySessionStore(), undefined, RULES);
  session.set("cart", [1, 2]);
  const user: string | undefined = session.get("user");
  // @ts-expect-error: not a key of Shop
  t.equal(session.get("nope"), undefined);
  // @ts-expect-error: cart holds numbers
  session.set("cart", "x");
  // @ts-expect-error: undefined is not stored; delete() removes a key
  t.throws(() => session.set("user", undefined), { code: "TSCGI_E_API_SESSION_DATA" });
  t.equal(user, undefined);
  t.equal((await commit()).action, "set");
});
