// A retiring worker hands its idle kept-alive connections to the worker replacing it instead of
// closing them under the web server, so reloads and recycling lose no request through nginx, not
// even a POST (which nginx never sends again); a crash costs only the requests on the dead worker,
// and a stop behind Apache's connection pool ends as soon as the last request is answered.
import t, { type Test } from "tap";
import { createHash } from "node:crypto";
import { apacheMissing, startApache } from "../helpers/apache.ts";
import { getFresh } from "../helpers/http.ts";
import { startLoad, type LoadBody } from "../helpers/load.ts";
import { nginxMissing } from "../helpers/nginx.ts";
import { poolBehindNginx } from "../helpers/pool.ts";
import { childPids, repo, startTscgi, until } from "../helpers/tscgi.ts";

const fixtures = `${repo}test/fixtures/cgi-bin`;
const missing = nginxMissing();
const apache = apacheMissing();

const form = Buffer.from("name=ada&message=" + "x".repeat(1000));
const post: LoadBody = { body: form, contentType: "application/x-www-form-urlencoded" };
const digest = createHash("sha256").update(form).digest("hex");

/** Every answer was a 200 with the body's own hash: nothing lost, nothing cut, nothing mixed up. */
function allAnswered(t: Test, result: Awaited<ReturnType<typeof startLoad>["done"]>, what: string): void {
  const ok = result.statuses[200] ?? 0;
  t.equal(result.failed, 0, `${what}: no POST without an answer (${result.errors.join("; ")})`);
  t.equal(ok, result.sent, `${what}: all ${result.sent} POSTs answered 200 (${JSON.stringify(result.statuses)})`);
  t.ok(
    [...result.bodies].every((b) => b.includes(digest)),
    `${what}: every answer carries the body's hash`,
  );
}

t.test("SIGHUP under POST load through nginx: 0 failed POSTs", { skip: missing }, async (t) => {
  const { tscgi, nginx } = await poolBehindNginx(t, ["--root", fixtures, "--workers", "2"]);
  const master = tscgi.child.pid!;
  const first = childPids(master);
  const load = startLoad(`${nginx.url}/hash`, { concurrency: 16, total: 6000, maxMs: 60_000, post });
  for (let i = 0; i < 3; i++) {
    await until(() => load.count() >= 1200 * (i + 1), 30_000, 5);
    process.kill(master, "SIGHUP");
    await tscgi.waitFor(`reloaded: generation ${i + 2}`, 20_000);
  }
  allAnswered(t, await load.done, "3 reloads");
  const errors = nginx.errorLog().split("\n").filter((l) => l.includes("[error]"));
  if (errors.length > 0) t.comment(`nginx errors: ${errors.length}\n${errors.slice(0, 5).join("\n")}`);
  t.ok(
    childPids(master).every((pid) => !first.includes(pid)),
    "every first worker was replaced",
  );
  t.match(tscgi.output(), /finished \(reload\), [1-9]\d* idle connection\(s\) handed over/, "idle connections were handed over, not closed");
  t.notMatch(nginx.errorLog(), /prematurely closed/, "nginx never saw a connection closed under it");
});

t.test("max_requests recycling under POST load through nginx: 0 failed POSTs", { skip: missing }, async (t) => {
  const { tscgi, nginx } = await poolBehindNginx(t, ["--root", fixtures, "--workers", "2", "--max-requests", "700", "--log-level", "info"]);
  const load = startLoad(`${nginx.url}/hash`, { concurrency: 16, total: 6000, maxMs: 60_000, post });
  const result = await load.done;
  allAnswered(t, result, "recycling");
  const recycled = tscgi.output().match(/recycled: max_requests/g)?.length ?? 0;
  t.ok(recycled >= 4, `${recycled} workers recycled during the load`);
  t.notMatch(nginx.errorLog(), /prematurely closed/, "nginx never saw a connection closed under it");
});

t.test("kill -9 of one worker under POST load: only the requests on it fail, the other worker loses none", { skip: missing }, async (t) => {
  const { tscgi, nginx } = await poolBehindNginx(t, ["--root", fixtures, "--workers", "2"]);
  const master = tscgi.child.pid!;
  const before = childPids(master);
  const concurrency = 8;
  const load = startLoad(`${nginx.url}/hash`, { concurrency, total: 3000, maxMs: 60_000, post });
  await until(() => load.count() >= 500, 30_000, 5);
  process.kill(before[0]!, "SIGKILL");
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

t.test("a stop behind Apache (enablereuse=on) ends right after the last request, not at shutdown_timeout", { skip: apache }, async (t) => {
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "2", "--shutdown-timeout", "60s"]);
  t.teardown(() => tscgi.stop("SIGKILL"));
  const httpd = await startApache(`ProxyPass "/" "fcgi://127.0.0.1:${tscgi.fastcgiPort}/" enablereuse=on`);
  t.teardown(() => httpd.stop());
  for (let i = 0; i < 20; i++) t.equal((await getFresh(`${httpd.url}/pid`)).status, 200);
  const stoppedAt = Date.now();
  const code = await tscgi.stop("SIGTERM");
  const took = Date.now() - stoppedAt;
  t.equal(code, 0, "stopped cleanly");
  // The bound is the point: Apache never answers a half-close of its pooled connections, and
  // waiting for it used to last the whole shutdown_timeout (60 s here).
  t.ok(took < 15_000, `stopped ${took} ms after SIGTERM, with Apache's pooled connections open`);
});
