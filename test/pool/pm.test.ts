// The process manager's decisions (PHP-FPM's per-second maintenance), and the crash back-off.
import t from "tap";
import { Backoff, HEALTHY_LIFETIME } from "../../src/pool/backoff.ts";
import { adopterFor, initialWorkers, maintain, routeConnection, type PmSettings, type WorkerLoad } from "../../src/pool/pm.ts";

const base: PmSettings = { pm: "dynamic", maxChildren: 8, startServers: 3, minSpare: 2, maxSpare: 4, idleTimeout: 10_000 };
const now = 1_000_000;
const worker = (id: number, inflight: number, idleFor = 0, starting = false): WorkerLoad => ({
  id,
  inflight,
  starting,
  idleSince: now - idleFor,
});

t.test("initial workers per pm", async (t) => {
  t.equal(initialWorkers({ ...base, pm: "static" }), 8);
  t.equal(initialWorkers(base), 3);
  t.equal(initialWorkers({ ...base, pm: "ondemand" }), 0);
});

t.test("static keeps exactly max_children", async (t) => {
  const s = { ...base, pm: "static" as const };
  t.equal(maintain(s, [worker(1, 0)], now, 1).spawn, 7);
  t.equal(
    maintain(
      s,
      Array.from({ length: 8 }, (_, i) => worker(i, 3)),
      now,
      1,
    ).spawn,
    0,
  );
});

t.test("dynamic: spawns while spares are short, doubling the rate up to 32", async (t) => {
  const busy = [worker(1, 2), worker(2, 1), worker(3, 5)];
  const first = maintain(base, busy, now, 1);
  t.equal(first.spawn, 1, "one at first");
  t.equal(first.nextSpawnRate, 2);
  t.equal(maintain(base, busy, now, 2).spawn, 2, "then two (the shortfall)");
  const big = { ...base, maxChildren: 100, minSpare: 50, maxSpare: 60 };
  t.equal(maintain(big, busy, now, 32).spawn, 32, "at most the rate");
  t.equal(maintain(big, busy, now, 32).nextSpawnRate, 32, "the rate stops at 32");
  t.equal(maintain(base, [...busy, worker(4, 0), worker(5, 0)], now, 4).spawn, 0, "enough spares: nothing");
  t.equal(maintain(base, [...busy, worker(4, 0, 0, true)], now, 1).spawn, 1, "a starting worker counts as a spare");
});

t.test("dynamic: at max_children with no idle worker, max children reached", async (t) => {
  const full = Array.from({ length: 8 }, (_, i) => worker(i, 1));
  const d = maintain(base, full, now, 1);
  t.equal(d.spawn, 0);
  t.ok(d.maxChildrenReached);
});

t.test("dynamic: too many spares stops the longest idle, one per tick", async (t) => {
  const idle = [worker(1, 0, 100), worker(2, 0, 5000), worker(3, 0, 50), worker(4, 0, 10), worker(5, 0, 1), worker(6, 1)];
  t.same(maintain(base, idle, now, 1).retire, [2]);
});

t.test("ondemand: stops the longest idle worker past the idle timeout, one per tick", async (t) => {
  const s = { ...base, pm: "ondemand" as const };
  t.same(maintain(s, [worker(1, 0, 20_000), worker(2, 0, 30_000), worker(3, 0, 5000), worker(4, 2)], now, 1).retire, [2]);
  t.same(maintain(s, [worker(1, 0, 9_999)], now, 1).retire, []);
});

t.test("ondemand routing: idle first, then a new worker, then the least loaded", async (t) => {
  const s = { ...base, pm: "ondemand" as const, maxChildren: 2 };
  t.same(routeConnection(s, []), { to: "spawn", maxChildrenReached: false });
  t.same(routeConnection(s, [worker(1, 3), worker(2, 0)]), { to: 2, maxChildrenReached: false });
  t.same(routeConnection(s, [worker(1, 3)]), { to: "spawn", maxChildrenReached: false });
  t.same(routeConnection(s, [worker(1, 3), worker(2, 1)]), { to: 2, maxChildrenReached: true });
});

t.test("back-off: first crash at once, then doubling, capped, reset by a healthy worker", async (t) => {
  const b = new Backoff(1000);
  const delays = Array.from({ length: 8 }, () => b.crash(50));
  t.same(delays, [0, 100, 200, 400, 800, 1000, 1000, 1000]);
  t.equal(b.crash(HEALTHY_LIFETIME), 0, "a worker that lived long enough starts the count over");
  b.crash(1);
  b.healthy();
  t.equal(b.crash(1), 0);
});

t.test("adopterFor: a retiring worker's connections go to its slot's successor, else to whoever serves now", async (t) => {
  const w = (id: number, slot: number, ready: boolean, adopted = 0, retiring = false) => ({ id, slot, ready, retiring, adopted });
  t.equal(adopterFor(0, [w(1, 1, true), w(2, 0, true)]), 2, "the successor in the same slot");
  t.equal(adopterFor(0, [w(1, 1, true), w(2, 0, false)]), 1, "a successor still starting: a ready worker, not a wait");
  t.equal(adopterFor(0, [w(1, 1, true, 5), w(3, 2, true, 1)]), 3, "no successor: the ready worker handed the fewest");
  t.equal(adopterFor(0, [w(4, 0, true, 0, true), w(5, 0, false)]), 4, "a reload during a reload: the previous generation still serves");
  t.equal(adopterFor(0, [w(4, 0, true, 0, true), w(6, 1, true)]), 6, "a current worker before a retiring one");
  t.equal(adopterFor(0, [w(1, 1, false)]), "wait", "only a starting worker: wait for it");
  t.equal(adopterFor(0, []), "close", "nobody left to take it");
});
