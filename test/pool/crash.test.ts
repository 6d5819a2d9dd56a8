// A crash costs only the requests on the dead worker: the other worker loses none, and a slot
// that keeps crashing waits alone while the pool keeps its floor of live workers.
import t from "tap";
import { getFresh } from "../helpers/http.ts";
import { startLoad, type LoadBody } from "../helpers/load.ts";
import { nginxMissing } from "../helpers/nginx.ts";
import { poolBehindNginx } from "../helpers/pool.ts";
import { childPids, repo, until } from "../helpers/tscgi.ts";

const fixtures = `${repo}test/fixtures/cgi-bin`;
const missing = nginxMissing();
const form = Buffer.from("name=ada&message=" + "x".repeat(1000));
const post: LoadBody = { body: form, contentType: "application/x-www-form-urlencoded" };

t.test("kill -9 of one worker under POST load: only the requests on it fail, the other worker loses none", { skip: missing }, async (t) => {
  const { tscgi, nginx } = await poolBehindNginx(t, ["--root", fixtures, "--workers", "2"]);
  const master = tscgi.child.pid!;
  const before = childPids(master);
  const concurrency = 8;
  const load = startLoad(`${nginx.url}/hash`, { concurrency, total: 3000, maxMs: 60_000, post });
  await until(() => load.count() >= 500, 30_000, 5);
  process.kill(before[0], "SIGKILL");
  await tscgi.waitFor(`worker ${before[0]} was killed by SIGKILL`);
  const result = await load.done;
  const bad = result.sent - (result.statuses[200] ?? 0);
  // At most the requests in flight on the killed worker: one per client.
  t.ok(bad <= concurrency, `${bad} of ${result.sent} POSTs failed (${JSON.stringify(result.statuses)})`);
  t.ok((result.statuses[200] ?? 0) >= 2500, "the rest were answered");
});

t.test("a slot that keeps crashing backs off alone: the other worker serves throughout", { skip: missing }, async (t) => {
  const { tscgi, nginx } = await poolBehindNginx(t, ["--root", fixtures, "--workers", "2", "--respawn-backoff-max", "30s"]);
  const load = startLoad(`${nginx.url}/pid`, { concurrency: 4, total: 100_000, maxMs: 60_000 });
  t.teardown(() => load.stop());
  // Each GET of /selfkill kills the worker that runs it; nginx then tries it on the other one too.
  for (let i = 0; i < 6; i++) {
    const before = tscgi.output().length;
    await getFresh(`${nginx.url}/selfkill`).catch(() => null);
    // Wait until the pool has a worker serving again before the next kill.
    await until(async () => /^\d+$/.test((await getFresh(`${nginx.url}/pid`)).body), 30_000, 20);
    t.ok(tscgi.output().length > before, `kill ${i + 1} logged`);
  }
  load.stop();
  const result = await load.done;
  const ok = result.statuses[200] ?? 0;
  t.ok(ok > 0, `${ok} requests answered during the crashes`);
  // Every failure is a request that was on a worker at the moment it died.
  const bad = result.sent - ok;
  t.ok(bad <= 12 * 4, `${bad} of ${result.sent} failed, all on dying workers (${JSON.stringify(result.statuses)})`);
  t.match(tscgi.output(), /worker slot \d+ keeps crashing/, "the back-off names the slot");
  t.notMatch(tscgi.output(), /next start in [1-9]\d{4,} ms/, "never a long wait while below the floor");
});
