// Requests of one session in one process take turns in arrival order, handed on by the one before.
import t from "tap";
import { SessionTurns } from "../../src/stores/session-turns.ts";

t.test("turns at one session are given in arrival order, each when the one before leaves", async (t) => {
  const turns = new SessionTurns();
  const order: string[] = [];
  const first = await turns.take("a", 10_000);
  const waiters = ["b", "c", "d"].map((name) => turns.take("a", 10_000).then((leave) => (order.push(name), leave)));
  const other = await turns.take("other", 10_000);
  t.same(order, [], "nobody passes the holder");
  first();
  first();
  const second = await waiters[0];
  t.same(order, ["b"], "the next in line is let in, and a second leave() of the same turn lets in nobody else");
  second();
  (await waiters[1])();
  (await waiters[2])();
  t.same(order, ["b", "c", "d"]);
  other();
  t.equal(turns.size, 0, "nothing kept once every turn is over");
});

t.test("a waiter that times out leaves the line with TSCGI_E_API_SESSION_LOCK_TIMEOUT; those behind it still get their turn", async (t) => {
  const turns = new SessionTurns();
  const holder = await turns.take("a", 10_000);
  const impatient = turns.take("a", 1);
  const patient = turns.take("a", 60_000);
  await t.rejects(impatient, { code: "TSCGI_E_API_SESSION_LOCK_TIMEOUT", status: 503 });
  holder();
  (await patient)();
  t.equal(turns.size, 0);
});
