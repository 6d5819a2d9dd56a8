// The file session store: PHP's sess_<id> files, a lock that holds across processes, stale locks
// broken, gc by modification time.
import t, { type Test } from "tap";
import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { newSessionId, type SessionLock } from "../../src/runtime/session-store.ts";
import { stat } from "node:fs/promises";
import { FileSessionStore, lockFileRemoved } from "../../src/stores/session-file.ts";
import { counter, counterProcess, increment, seeded, sessionStoreContract } from "./session-contract.ts";

function make(t: Test, staleLockMs = 60_000) {
  return new FileSessionStore({ dir: join(t.testdir(), "sessions"), staleLockMs });
}

sessionStoreContract(t, (t) => make(t));

t.test("one file per session, sess_<id>, mode 0600 in a 0700 directory; no lock left behind", async (t) => {
  const store = make(t);
  const id = await seeded(store);
  t.same(readdirSync(store.dir), [`sess_${id}`]);
  t.equal(statSync(join(store.dir, `sess_${id}`)).mode & 0o777, 0o600);
  t.equal(statSync(store.dir).mode & 0o777, 0o700);
});

t.test("an id that is not a session id never reaches the disk", async (t) => {
  const store = make(t);
  await t.rejects(store.lock("../../etc/passwd", 100), { code: "TSCGI_E_API_SESSION_STORE" });
  t.notOk(existsSync(store.dir));
});

t.test("a damaged session file reads as no session", async (t) => {
  const store = make(t);
  const id = await seeded(store);
  writeFileSync(join(store.dir, `sess_${id}`), "{not json");
  const lock = await store.lock(id, 1000);
  t.equal(lock.record, null);
  await lock.release();
});

/** A pid that certainly belongs to no running process: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid!;
}

t.test("a lock whose owner died is broken at once", async (t) => {
  const store = make(t, 3_600_000);
  const id = await seeded(store);
  const owner = { token: "dead", host: hostname(), pid: await deadPid(), start: null, at: Date.now() };
  writeFileSync(join(store.dir, `sess_${id}.lock`), JSON.stringify(owner));
  const lock = await store.lock(id, 10_000);
  t.same(lock.record?.data, { n: 0 });
  await lock.release();
  t.same(readdirSync(store.dir), [`sess_${id}`], "neither the old lock nor ours is left");
});

t.test("a lock of another host, or an empty one, is broken once older than the stale limit", async (t) => {
  const store = make(t, 1000);
  const id = await seeded(store);
  const lockFile = join(store.dir, `sess_${id}.lock`);
  writeFileSync(lockFile, JSON.stringify({ token: "far", host: "another-host", pid: 1, start: null, at: Date.now() - 5000 }));
  const lock = await store.lock(id, 10_000);
  await lock.release();
  writeFileSync(lockFile, "");
  const old = (Date.now() - 5000) / 1000;
  utimesSync(lockFile, old, old);
  const again = await store.lock(id, 10_000);
  await again.release();
  t.pass("both broken");
  writeFileSync(lockFile, JSON.stringify({ token: "far", host: "another-host", pid: 1, start: null, at: Date.now() + 60_000 }));
  await t.rejects(store.lock(id, 100), { code: "TSCGI_E_API_SESSION_LOCK_TIMEOUT" }, "a fresh foreign lock is respected");
});

t.test("gc removes sessions unused for longer than the idle timeout, and leftover lock files", async (t) => {
  const store = make(t, 1000);
  const idle = await seeded(store);
  const busy = await seeded(store);
  const now = Date.now();
  const old = (now - 3_600_000) / 1000;
  utimesSync(join(store.dir, `sess_${idle}`), old, old);
  writeFileSync(join(store.dir, `sess_${idle}.lock`), "{}");
  utimesSync(join(store.dir, `sess_${idle}.lock`), old, old);
  writeFileSync(join(store.dir, "not-a-session"), "keep");
  utimesSync(join(store.dir, "not-a-session"), old, old);
  t.equal(await store.gc(1_800_000, now), 1);
  t.same(readdirSync(store.dir).sort(), ["not-a-session", `sess_${busy}`].sort());
  t.equal(await counter(store, busy), 0);
  t.equal(await new FileSessionStore({ dir: join(store.dir, "missing"), staleLockMs: 1 }).gc(1, now), 0, "no directory yet: nothing to do");
});

t.test("workers of one host share sessions: three processes increment one counter without losing an update", async (t) => {
  const store = make(t);
  const id = await seeded(store);
  const children = [1, 2].map(() => counterProcess("file", store.dir, id, 25));
  for (let i = 0; i < 25; i++) await increment(store, id);
  t.same(await Promise.all(children), ["done\n", "done\n"]);
  t.equal(await counter(store, id), 75);
  t.same(readdirSync(store.dir), [`sess_${id}`], "no lock or temporary file left");
});

t.test("a session written here is read by another store on the same directory (another worker)", async (t) => {
  const store = make(t);
  const id = await seeded(store);
  await increment(store, id);
  t.equal(await counter(new FileSessionStore({ dir: store.dir, staleLockMs: 60_000 }), id), 1);
  t.ok(newSessionId() !== id);
});

t.test("session_save_path removed while running (a tmp cleaner) is made again", async (t) => {
  const store = make(t);
  await seeded(store);
  rmSync(store.dir, { recursive: true });
  const id = await seeded(store);
  t.equal(await counter(store, id), 0);
});

t.test("a small session is rewritten in place (the same file) and reads back whether it grew or shrank", async (t) => {
  const store = make(t);
  const file = (id: string) => join(store.dir, `sess_${id}`);
  const id = await seeded(store);
  // Held open across the saves: a rename would leave it reading the old file.
  const before = openSync(file(id), "r");
  t.teardown(() => closeSync(before));
  const save = async (data: Record<string, string>) => {
    const lock = await store.lock(id, 1000);
    await lock.save({ data, created: 1, touched: Date.now() }, 0);
    await lock.release();
  };
  await save({ long: "x".repeat(1000) });
  await save({ short: "y" });
  const lock = await store.lock(id, 1000);
  t.same(lock.record?.data, { short: "y" });
  await lock.release();
  t.equal(readFileSync(before, "utf8"), JSON.stringify({ created: 1, data: { short: "y" } }), "the same file, not replaced by a rename");
  t.same(readdirSync(store.dir), [`sess_${id}`]);
});

t.test("a session larger than a page is written aside and renamed, and a small one after it reads back", async (t) => {
  const store = make(t);
  const id = await seeded(store);
  for (const data of [{ big: "z".repeat(10_000) }, { small: "s" }] as Record<string, string>[]) {
    const lock = await store.lock(id, 1000);
    await lock.save({ data, created: 1, touched: Date.now() }, 0);
    await lock.release();
    const again = await store.lock(id, 1000);
    t.same(again.record?.data, data);
    await again.release();
  }
  t.same(readdirSync(store.dir), [`sess_${id}`], "no temporary file left");
});

t.test("a request waiting for another of its session in the same process is let in by the release, not by a timer", async (t) => {
  const store = make(t);
  const id = await seeded(store);
  const first = await store.lock(id, 10_000);
  let second: SessionLock | null = null;
  const waiting = store.lock(id, 10_000).then((lock) => (second = lock));
  // Continue from an I/O callback: a timer could fire only in the event loop's next round, after setImmediate.
  await stat(store.dir);
  await first.release();
  await new Promise((resolve) => setImmediate(resolve));
  t.not(second, null, "the waiter holds the lock before any timer ran");
  await (await waiting).release();
  t.same(readdirSync(store.dir), [`sess_${id}`]);
});

t.test("a request of another worker waiting for a lock file wakes when it is removed, not at the end of its pause", async (t) => {
  const lockFile = join(t.testdir(), "sess_x.lock");
  writeFileSync(lockFile, "{}");
  let woken = false;
  // A pause far longer than the test may take: only the removal can end this wait.
  const waiting = lockFileRemoved(lockFile, 3_600_000).then(() => (woken = true));
  await stat(lockFile);
  t.equal(woken, false, "not while the lock file is there");
  unlinkSync(lockFile);
  await waiting;
  t.equal(woken, true);
  await lockFileRemoved(lockFile, 3_600_000);
  t.pass("a lock file already gone ends the wait at once");
});
