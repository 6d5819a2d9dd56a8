// Restarts after crashes are planned per slot: one slot's crash loop does not hold back the others,
// and a pool below its floor of live workers restarts a slot at once.
import t from "tap";
import { HEALTHY_LIFETIME } from "../../src/pool/backoff.ts";
import { FLOOR_MAX_DELAY, liveFloor, Respawns } from "../../src/pool/respawn.ts";

t.test("the floor is half the pool, at least one worker", async (t) => {
  t.same([1, 2, 3, 4, 8].map(liveFloor), [1, 1, 2, 2, 4]);
});

t.test("each slot backs off on its own: a crash loop in slot 0 leaves slot 1 at no wait", async (t) => {
  const due: number[] = [];
  const r = new Respawns(30_000, (slot) => due.push(slot));
  t.teardown(() => r.clear());
  const delays = [0, 1, 2, 3, 4].map(() => r.crashed(0, 50, false));
  t.same(delays, [0, 100, 200, 400, 800], "slot 0 doubles its wait");
  t.equal(r.crashed(1, 50, false), 0, "slot 1's first crash restarts at once");
  t.equal(r.crashes(0), 5);
  t.equal(r.crashes(1), 1);
  t.ok(r.isWaiting(0) && r.isWaiting(1));
});

t.test("urgent (below the floor): a short wait at most, whatever the slot's history", async (t) => {
  const r = new Respawns(30_000, () => {});
  t.teardown(() => r.clear());
  for (let i = 0; i < 9; i++) r.crashed(0, 50, false);
  t.equal(r.crashed(0, 50, true), FLOOR_MAX_DELAY, "restarted within FLOOR_MAX_DELAY, not the slot's 25.6 s");
  t.equal(r.crashes(0), 10, "yet counted, so the slot's wait goes on growing once the pool is back above its floor");
});

t.test("a slot whose worker lived long enough starts its count over", async (t) => {
  const r = new Respawns(30_000, () => {});
  t.teardown(() => r.clear());
  r.crashed(2, 50, false);
  r.crashed(2, 50, false);
  t.equal(r.crashed(2, HEALTHY_LIFETIME, false), 0);
  r.healthy(2);
  t.equal(r.crashes(2), 0);
});

t.test("the slot is due once its wait is over, and clear() cancels what waits", async (t) => {
  const due: number[] = [];
  let wake: () => void = () => {};
  const woken = new Promise<void>((resolve) => (wake = resolve));
  const r = new Respawns(30_000, (slot) => {
    due.push(slot);
    wake();
  });
  r.crashed(3, 50, false);
  await woken;
  t.same(due, [3]);
  t.notOk(r.isWaiting(3));
  r.crashed(4, 50, false);
  r.crashed(4, 50, false);
  r.clear();
  t.equal(r.waiting, 0, "nothing waits after clear()");
});
