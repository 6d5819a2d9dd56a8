// Recycling: workers are replaced after max_requests or above worker_memory_limit, and the
// process manager scales ondemand pools up and back down. No request fails on the way.
import t from "tap";
import { nginxMissing } from "../helpers/nginx.ts";
import { poolBehindNginx } from "../helpers/pool.ts";
import { getFresh } from "../helpers/http.ts";
import { childPids, repo, startTscgi, until } from "../helpers/tscgi.ts";

const fixtures = `${repo}test/fixtures/cgi-bin`;
const missing = nginxMissing();

t.test("max_requests: workers are replaced after their count, and no request fails", { skip: missing }, async (t) => {
  const { tscgi, nginx } = await poolBehindNginx(t, [
    "--root",
    fixtures,
    "--workers",
    "2",
    "--max-requests",
    "25",
    "--max-requests-jitter",
    "0",
  ]);
  const pids = new Set<string>();
  const statuses: number[] = [];
  for (let i = 0; i < 300; i++) {
    const res = await getFresh(`${nginx.url}/pid`);
    statuses.push(res.status);
    pids.add(res.body);
  }
  t.ok(
    statuses.every((s) => s === 200),
    `all 300 answered 200 (${statuses.filter((s) => s !== 200).length} not)`,
  );
  t.ok(pids.size >= 6, `${pids.size} different workers served 300 requests at 25 each`);
  t.match(tscgi.output(), /recycled: max_requests \(25\) reached/);
});

t.test("worker_memory_limit: a leaking script's worker is recycled", async (t) => {
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "1", "--worker-memory-limit", "160m"]);
  t.teardown(() => tscgi.stop());
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  const first = (await getFresh(`${base}/pid`)).body;
  let leaked = 0;
  const recycled = await until(
    async () => {
      const res = await getFresh(`${base}/leak?mb=32`);
      t.equal(res.status, 200, "the leaking request itself succeeds");
      leaked++;
      return (await getFresh(`${base}/pid`)).body !== first;
    },
    15_000,
    300,
  );
  t.ok(recycled, `the worker was replaced after ${leaked} leaks of 32 MiB`);
  t.ok(leaked <= 8, "soon after passing the limit");
  t.match(tscgi.output(), /recycled: worker_memory_limit: RSS \d+\.\d MiB over 160\.0 MiB/);
});

t.test("worker_max_age: old workers are replaced", async (t) => {
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "1", "--worker-max-age", "1s"]);
  t.teardown(() => tscgi.stop());
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  const first = (await getFresh(`${base}/pid`)).body;
  t.ok(await until(async () => (await getFresh(`${base}/pid`)).body !== first, 6000, 200), "a younger worker answers");
  t.match(tscgi.output(), /recycled: worker_max_age \(1 s\) reached/);
});

t.test("pm ondemand: no worker until a request comes, more under load, back to none when idle", async (t) => {
  const tscgi = await startTscgi(["--root", fixtures, "--pm", "ondemand", "--workers", "3", "--pm-process-idle-timeout", "500ms"]);
  t.teardown(() => tscgi.stop());
  const master = tscgi.child.pid!;
  t.equal(childPids(master).length, 0, "no worker at start");
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  // Six slow requests at once: the first worker is busy, so more are started (up to 3).
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, childPids(master).length)), 20);
  const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => getFresh(`${base}/wait?ms=${600 + i * 100}`)));
  clearInterval(sampler);
  t.ok(
    answers.every((a) => a.status === 200),
    "all six answered",
  );
  t.ok(peak >= 2 && peak <= 3, `scaled up to ${peak} workers (max 3)`);
  t.ok(await until(() => childPids(master).length === 0, 8000, 100), "scaled back down to none after the idle timeout");
  t.equal((await getFresh(`${base}/hello`)).status, 200, "and starts one again for the next request");
});

t.test("pm dynamic: starts pm_start_servers and keeps spare workers between the bounds", async (t) => {
  const tscgi = await startTscgi([
    "--root",
    fixtures,
    "--pm",
    "dynamic",
    "--workers",
    "4",
    "--pm-start-servers",
    "2",
    "--pm-min-spare-servers",
    "2",
    "--pm-max-spare-servers",
    "2",
  ]);
  t.teardown(() => tscgi.stop());
  const master = tscgi.child.pid!;
  t.ok(await until(() => childPids(master).length === 2, 3000), "pm_start_servers workers at start");
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  // One busy worker leaves one idle, under pm_min_spare_servers: the manager adds one.
  const busy = getFresh(`${base}/wait?ms=2500`);
  t.ok(await until(() => childPids(master).length >= 3, 4000), "more workers while all are busy");
  await busy;
  t.ok(await until(() => childPids(master).length <= 2, 6000, 100), "idle ones above pm_max_spare_servers are stopped");
});
