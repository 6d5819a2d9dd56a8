// The master keeps the pool serving: a killed worker is replaced, a stuck one is stopped at
// request_timeout with a 504, crashes are restarted with back-off, SIGTERM drains. Real processes,
// through a real nginx where a web server's view matters.
import t from "tap";
import { readFileSync } from "node:fs";
import { nginxMissing } from "../helpers/nginx.ts";
import { poolBehindNginx } from "../helpers/pool.ts";
import { startLoad } from "../helpers/load.ts";
import { getFresh } from "../helpers/http.ts";
import { childPids, repo, startTscgi, until } from "../helpers/tscgi.ts";

const fixtures = `${repo}test/fixtures/cgi-bin`;
const missing = nginxMissing();

/** CPU ticks (user + system) a process has used so far. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** The worker using a whole core (a script spinning), measured over 200 ms, or null. */
function spinningWorker(master: number): number | null {
  const before = new Map(childPids(master).map((pid) => [pid, cpuTicks(pid)]));
  const end = Date.now() + 200;
  while (Date.now() < end) {
    // Measure over a short busy wait: this test process must not sleep through it.
  }
  for (const [pid, ticks] of before) {
    try {
      // Half a core or more: the machine may be busy with other work.
      if (cpuTicks(pid) - ticks >= 10) return pid;
    } catch {
      // Exited meanwhile.
    }
  }
  return null;
}

t.test("workers: the master starts one process per worker and serves through them", async (t) => {
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "2"]);
  t.teardown(() => tscgi.stop());
  const workers = childPids(tscgi.child.pid!);
  t.equal(workers.length, 2, "two worker processes");
  const seen = new Set<string>();
  for (let i = 0; i < 40 && seen.size < 2; i++) seen.add((await getFresh(`http://127.0.0.1:${tscgi.httpPort}/pid`)).body);
  t.ok(
    [...seen].every((pid) => workers.includes(Number(pid))),
    "answers come from the workers, not the master",
  );
});

t.test("kill -9 of a worker under load: only its requests fail, a new worker serves within a second", { skip: missing }, async (t) => {
  const { tscgi, nginx } = await poolBehindNginx(t, ["--root", fixtures, "--workers", "2"]);
  const master = tscgi.child.pid!;
  const before = childPids(master);
  const load = startLoad(`${nginx.url}/pid`, { concurrency: 8, total: 4000, maxMs: 20_000 });
  await until(() => load.count() >= 300, 10_000);
  const victim = before[0]!;
  const killedAt = Date.now();
  process.kill(victim, "SIGKILL");
  const replaced = await until(() => childPids(master).some((pid) => !before.includes(pid)), 1000, 5);
  const fresh = childPids(master).find((pid) => !before.includes(pid));
  t.ok(replaced, `a new worker (${fresh}) was started ${Date.now() - killedAt} ms after the kill`);
  // The new worker answers: ask until its pid shows up (both workers share the socket).
  const answered = await until(async () => (await getFresh(`http://127.0.0.1:${tscgi.httpPort}/pid`)).body === String(fresh), 3000, 5);
  t.ok(answered, "the new worker answers requests");
  const result = await load.done;
  const ok = result.statuses[200] ?? 0;
  const bad = result.sent - ok;
  t.ok(ok > 1000, `${ok} requests answered 200`);
  // At most the 8 requests in flight on the killed worker may fail.
  t.ok(bad <= 8, `${bad} of ${result.sent} failed (statuses ${JSON.stringify(result.statuses)}, errors ${result.errors.join("; ")})`);
  t.match(tscgi.output(), new RegExp(`worker ${victim} was killed by SIGKILL`));
});

t.test("a script stuck in synchronous code is stopped at request_timeout with a 504; others keep answering", async (t) => {
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "2", "--request-timeout", "1500ms"]);
  t.teardown(() => tscgi.stop());
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  const started = Date.now();
  const spin = getFresh(`${base}/spin`);
  // Once its worker is stuck, the other worker answers (and, once replaced, the new one). A
  // connection the stuck worker had accepted a moment before it blocked would be lost with it.
  await tscgi.waitFor(/spinning from now on/);
  t.ok(spinningWorker(tscgi.child.pid!) !== null, "a worker is spinning");
  const others: number[] = [];
  let answered = false;
  void spin.finally(() => (answered = true));
  while (!answered && Date.now() - started < 5000) others.push((await getFresh(`${base}/hello`)).status);
  const res = await spin;
  const took = Date.now() - started;
  t.equal(res.status, 504, "the stuck request is answered 504");
  t.match(res.body, /request_timeout/);
  t.ok(took >= 1400 && took < 4000, `answered after ${took} ms (request_timeout 1500 ms)`);
  t.ok(
    others.length >= 1 && others.every((s) => s === 200),
    `${others.length} other requests meanwhile, all answered 200 (${others.join(" ")})`,
  );
  await tscgi.waitFor(/worker \d+ stopped: stuck in synchronous code/);
  const log = tscgi.output();
  t.match(log, /spin\.ts \(GET \/spin, running \d+\.\d s, answered 504\)/, "the log names the script, the URL and the time");
  t.match(log, /spin\.ts:\d+/, "and where in the script it was");
  t.ok(await until(() => childPids(tscgi.child.pid!).length === 2, 3000), "the stuck worker was replaced");
});

t.test("a crash loop backs off instead of spinning", async (t) => {
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "1"]);
  t.teardown(() => tscgi.stop());
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  const end = Date.now() + 3000;
  let attempts = 0;
  while (Date.now() < end) {
    attempts++;
    await getFresh(`${base}/crash`).catch(() => {});
  }
  const log = tscgi.output();
  const crashes = log.match(/worker \d+ was killed by SIGKILL/g)?.length ?? 0;
  const delays = [...log.matchAll(/next start in (\d+) ms/g)].map((m) => Number(m[1]));
  t.ok(crashes >= 3, `${crashes} crashes in 3 s of ${attempts} attempts`);
  t.ok(crashes <= 12, "back-off keeps restarts few (no restart storm)");
  t.ok(delays.length >= 2 && delays.every((d, i) => i === 0 || d >= delays[i - 1]!), `delays grow: ${delays.join(", ")} ms`);
  // Healthy again once the crashing stops.
  t.ok(await until(async () => (await getFresh(`${base}/hello`).catch(() => ({ status: 0 }))).status === 200, 5000, 100));
});

t.test("SIGTERM stops accepting, waits for the request in flight, then exits 0", async (t) => {
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "2"]);
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  const slow = getFresh(`${base}/wait?ms=1500`);
  await new Promise((r) => setTimeout(r, 300));
  const stopped = tscgi.stop("SIGTERM");
  await new Promise((r) => setTimeout(r, 200));
  const refused = await getFresh(`${base}/hello`).then(
    () => false,
    () => true,
  );
  t.ok(refused, "a new connection is refused while draining");
  const res = await slow;
  t.equal(res.status, 200);
  t.equal(res.body, "waited 1500", "the slow request finished");
  t.equal(await stopped, 0, "the master exits 0");
  t.match(tscgi.output(), /SIGTERM: stopping gracefully/);
});
