// What every session store must do, run against each (file, Redis, memory) by its own test file.
import type { Test } from "tap";
import { build } from "esbuild";
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { openSession, type SessionRules } from "../../src/runtime/session.ts";
import { newSessionId, type SessionStore } from "../../src/runtime/session-store.ts";

export const RULES: SessionRules = { idleTimeout: 3_600_000, maxLifetime: 0, lockTimeout: 30_000, gcProbability: 0 };

/** One "request" that adds 1 to the counter of session `id`. */
export async function increment(store: SessionStore, id: string): Promise<void> {
  const { session, commit } = await openSession<{ n: number }>(store, id, RULES);
  session.set("n", (session.get("n") ?? 0) + 1);
  await commit();
}

/** A stored session with {n: 0}; resolves to its id. */
export async function seeded(store: SessionStore): Promise<string> {
  const { session, commit } = await openSession(store, undefined, RULES);
  session.set("n", 0);
  const result = await commit();
  if (result.action !== "set") throw new Error("a new session with data must set its cookie");
  return result.id;
}

export async function counter(store: SessionStore, id: string): Promise<number | undefined> {
  const { session, release } = await openSession<{ n: number }>(store, id, RULES);
  await release();
  return session.get("n");
}

let counterScript: Promise<string> | undefined;

/**
 * fixtures/session-counter.ts bundled to plain JavaScript once, beside the tests (so it finds
 * node_modules): a child starts in a fraction of the time the TypeScript loader takes.
 */
function bundledCounter(): Promise<string> {
  return (counterScript ??= (async () => {
    const outfile = fileURLToPath(new URL(`../.tmp/session-counter-${process.pid}.mjs`, import.meta.url));
    await build({
      entryPoints: [fileURLToPath(new URL("./fixtures/session-counter.ts", import.meta.url))],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      packages: "external",
      logLevel: "warning",
    });
    process.once("exit", () => rmSync(outfile, { force: true }));
    return outfile;
  })());
}

/** Runs fixtures/session-counter.ts in a process of its own; resolves to what it printed. */
export async function counterProcess(kind: "file" | "redis", where: string, id: string, count: number): Promise<string> {
  const child = spawn(process.execPath, [await bundledCounter(), kind, where, id, String(count)], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve) => child.once("exit", () => resolve(out)));
}

export function sessionStoreContract(t: Test, make: (t: Test) => SessionStore | Promise<SessionStore>) {
  t.test("round trip: saved, read back, touched, destroyed", async (t) => {
    const store = await make(t);
    const id = newSessionId();
    const first = await store.lock(id, 1000);
    t.equal(first.record, null, "nothing stored yet");
    await first.save({ data: { user: "ada", cart: [1, { x: null }] }, created: 1000, touched: 2000 }, 60_000);
    await first.release();
    await first.release();
    const second = await store.lock(id, 1000);
    t.same(second.record, { data: { user: "ada", cart: [1, { x: null }] }, created: 1000, touched: 2000 });
    await second.touch(5000, 60_000);
    await second.release();
    const third = await store.lock(id, 1000);
    t.equal(third.record?.touched, 5000);
    t.same(third.record?.data, { user: "ada", cart: [1, { x: null }] }, "touch keeps the data");
    await third.destroy();
    await third.release();
    const fourth = await store.lock(id, 1000);
    t.equal(fourth.record, null, "destroyed");
    await fourth.touch(6000, 60_000);
    await fourth.release();
    const fifth = await store.lock(id, 1000);
    t.equal(fifth.record, null, "touching a missing session does not create one");
    await fifth.release();
  });

  t.test("the second request of a session waits for the first one's save", async (t) => {
    const store = await make(t);
    const id = await seeded(store);
    const first = await openSession(store, id, RULES);
    let secondIn = false;
    const second = openSession(store, id, RULES).then((opened) => ((secondIn = true), opened));
    first.session.set("n", 41);
    // Give the second request every chance to overtake: a turn of the event loop per await below.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    t.notOk(secondIn, "still waiting while the first holds the session");
    await first.commit();
    const opened = await second;
    t.equal(opened.session.get("n"), 41, "it reads what the first saved");
    await opened.release();
  });

  t.test("concurrent increments of one session lose nothing", async (t) => {
    const store = await make(t);
    const id = await seeded(store);
    await Promise.all(Array.from({ length: 30 }, () => increment(store, id)));
    t.equal(await counter(store, id), 30);
  });

  t.test("a lock held too long gives TSCGI_E_API_SESSION_LOCK_TIMEOUT (503), not a hang", async (t) => {
    const store = await make(t);
    const id = newSessionId();
    const holder = await store.lock(id, 1000);
    await t.rejects(store.lock(id, 100), {
      code: "TSCGI_E_API_SESSION_LOCK_TIMEOUT",
      status: 503,
      message: /session_lock_timeout \(100 ms\)/,
    });
    await holder.release();
    const next = await store.lock(id, 1000);
    t.pass("free again once released");
    await next.release();
  });

  t.test("regenerate: the old id is gone from the store", async (t) => {
    const store = await make(t);
    const old = await seeded(store);
    const { session, commit } = await openSession(store, old, RULES);
    session.regenerate();
    const result = await commit();
    t.equal(result.action, "set");
    const before = await store.lock(old, 1000);
    t.equal(before.record, null);
    await before.release();
    t.equal(await counter(store, session.id), 0, "the data moved to the new id");
  });
}
