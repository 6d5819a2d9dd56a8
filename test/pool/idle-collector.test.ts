// A worker idle for worker_idle_gc after its heap grew runs a full collection and a second on the
// next tick, and only then.
import t from "tap";
import { COLLECT_AFTER_GROWTH, IdleCollector } from "../../src/pool/idle-collector.ts";
import { getFresh } from "../helpers/http.ts";
import { repo, startTscgi } from "../helpers/tscgi.ts";

const MiB = 1024 * 1024;

/** A collector over a heap the test sets, counting its collections. */
function collector(delay = 1000, available = true) {
  const state = { heap: 10 * MiB, collections: 0, passes: [] as number[] };
  const idle = new IdleCollector({
    delay,
    heapBytes: () => state.heap,
    collect: (pass: 1 | 2) => {
      if (!available) return false;
      state.passes.push(pass);
      state.collections++;
      state.heap = 11 * MiB;
      return true;
    },
  });
  return { state, idle };
}

t.test("it collects once the worker has taken no request for the delay, and not while one runs", async (t) => {
  const { state, idle } = collector(1000);
  idle.tick(0, 5, 1);
  state.heap += 2 * COLLECT_AFTER_GROWTH;
  t.notOk(idle.tick(900, 5, 0), "not idle for long enough");
  t.notOk(idle.tick(2000, 5, 1), "a request still runs (a long upload, a stream)");
  t.ok(idle.tick(2000, 5, 0), "idle for the delay after growth: collected");
  t.equal(state.collections, 1);
  t.ok(idle.tick(2050, 5, 0), "a second collection on the next tick");
  t.notOk(idle.tick(5000, 5, 0), "once per idle spell");
  t.notOk(idle.tick(9000, 5, 0));
  t.same(state.passes, [1, 2]);
});

t.test("a request after the first collection calls the second off", async (t) => {
  const { state, idle } = collector(1000);
  idle.tick(0, 5, 0);
  state.heap += 2 * COLLECT_AFTER_GROWTH;
  t.ok(idle.tick(1000, 5, 0));
  t.notOk(idle.tick(1050, 5, 1), "not while a request runs");
  t.notOk(idle.tick(1100, 6, 0), "the request ended the idle spell");
  t.notOk(idle.tick(1150, 6, 0));
  t.same(state.passes, [1]);
});

t.test("each request starts the delay again", async (t) => {
  const { state, idle } = collector(1000);
  state.heap += 2 * COLLECT_AFTER_GROWTH;
  for (let now = 0, requests = 1; now < 10_000; now += 500, requests++) t.notOk(idle.tick(now, requests, 0));
  t.equal(state.collections, 0, "never idle for a whole second");
});

t.test("a heap that did not grow by COLLECT_AFTER_GROWTH since the last collection is left alone", async (t) => {
  const { state, idle } = collector(100);
  idle.tick(0, 1, 0);
  state.heap += COLLECT_AFTER_GROWTH - 1;
  t.notOk(idle.tick(200, 1, 0));
  state.heap += 2 * COLLECT_AFTER_GROWTH;
  idle.tick(300, 2, 0);
  t.ok(idle.tick(400, 2, 0), "grew since: collected");
  t.ok(idle.tick(450, 2, 0), "and again on the next tick");
  // The heap after the collections is read a tick later (its dead Buffers are freed on another thread).
  state.heap = 10 * MiB;
  idle.tick(500, 2, 0);
  state.heap += COLLECT_AFTER_GROWTH / 2;
  idle.tick(550, 3, 0);
  t.notOk(idle.tick(700, 3, 0), "measured from what the collections left");
  state.heap += COLLECT_AFTER_GROWTH;
  idle.tick(800, 4, 0);
  t.ok(idle.tick(900, 4, 0));
  t.same(state.passes, [1, 2, 1]);
});

t.test("where V8 offers no collection, nothing changes", async (t) => {
  const { state, idle } = collector(100, false);
  state.heap += 2 * COLLECT_AFTER_GROWTH;
  idle.tick(0, 1, 0);
  t.notOk(idle.tick(200, 1, 0));
  t.equal(state.collections, 0);
});

t.test("a worker gives a script's dead objects back once idle, health checks or not, and logs both collections at debug", async (t) => {
  const tscgi = await startTscgi([
    "--root",
    `${repo}test/fixtures/cgi-bin`,
    "--workers",
    "1",
    "--worker-idle-gc",
    "200ms",
    "--ping-path",
    "/ping",
    "--log-level",
    "debug",
  ]);
  t.teardown(() => tscgi.stop());
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  const left = Number((await getFresh(`${base}/garbage?mb=48`)).body);
  t.ok(left > 30, `48 MiB of objects made and dropped: ${left.toFixed(1)} MiB of heap still used`);
  // A ping after each answer, as a busy health checker would: it must not keep the worker from being idle.
  let pinging = true;
  let pings = 0;
  const pinger = (async () => {
    while (pinging) {
      const res = await getFresh(`${base}/ping`);
      if (res.status !== 200) throw new Error(`ping answered ${res.status}`);
      pings++;
    }
  })();
  await tscgi.waitFor(/idle for 200 ms: full garbage collection of a [\d.]+ MiB heap in [\d.]+ ms/);
  await tscgi.waitFor(/idle for 200 ms: a second full garbage collection of a [\d.]+ MiB heap in [\d.]+ ms/);
  pinging = false;
  await pinger;
  t.ok(pings > 0, `${pings} pings while it waited`);
  const after = Number((await getFresh(`${base}/garbage`)).body);
  t.ok(after < left / 2, `after the idle collection: ${after.toFixed(1)} MiB used`);
});
