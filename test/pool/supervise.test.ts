// The master keeps the pool serving: a killed worker is replaced, a stuck one is stopped at
// request_timeout with a 504, crashes are restarted with back-off, SIGTERM drains. Real processes,
// through a real nginx where a web server's view matters.
import t from "tap";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nginxMissing } from "../helpers/nginx.ts";
import { poolBehindNginx } from "../helpers/pool.ts";
import { startLoad } from "../helpers/load.ts";
import { getFresh } from "../helpers/http.ts";
import { Backoff, HEALTHY_LIFETIME } from "../../src/pool/backoff.ts";
import { scaled } from "../helpers/time.ts";
import { freePort } from "../helpers/ports.ts";
import { bin, childPids, occurrences, repo, startTscgi, until } from "../helpers/tscgi.ts";

const fixtures = `${repo}test/fixtures/cgi-bin`;
const missing = nginxMissing();

/** The time stamp of an error-log line: "[2026-12-02T17:00:00.000Z] LEVEL: ...". */
const stamp = (line: string) => Date.parse(line.slice(1, line.indexOf("]")));

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

t.test("kill -9 of a worker under load: only its requests fail, a new worker takes over", { skip: missing }, async (t) => {
  // Debug logs each worker start.
  const { tscgi, nginx } = await poolBehindNginx(t, ["--root", fixtures, "--workers", "2", "--log-level", "debug"]);
  const master = tscgi.child.pid!;
  const before = childPids(master);
  const load = startLoad(`${nginx.url}/pid`, { concurrency: 8, total: 20_000, maxMs: 120_000 });
  await load.answered(300);
  const victim = before[0];
  process.kill(victim, "SIGKILL");
  await tscgi.waitFor(`worker ${victim} was killed by SIGKILL`);
  const startedAfterKill = (out: string) => /worker (\d+) started/.exec(out.slice(out.indexOf(`worker ${victim} was killed`)));
  await tscgi.waitFor((out) => startedAfterKill(out) !== null);
  const fresh = Number(startedAfterKill(tscgi.output())![1]);
  t.notOk(before.includes(fresh), `a new worker (${fresh}) was started after the kill`);
  load.stop();
  const result = await load.done;
  // It serves: with the other worker stopped (SIGSTOP), only the new one can take a connection;
  // nginx's kept-alive connections, all to the other worker, would never show it.
  const survivor = before.find((pid) => pid !== victim)!;
  process.kill(survivor, "SIGSTOP");
  let served: string;
  try {
    served = (await getFresh(`http://127.0.0.1:${tscgi.httpPort}/pid`)).body;
  } finally {
    process.kill(survivor, "SIGCONT");
  }
  t.equal(served, String(fresh), "the new worker answers requests");
  const ok = result.statuses[200] ?? 0;
  const bad = result.sent - ok;
  t.ok(ok >= 300, `${ok} requests answered 200`);
  // At most the 8 requests in flight on the killed worker may fail.
  t.ok(bad <= 8, `${bad} of ${result.sent} failed (statuses ${JSON.stringify(result.statuses)}, errors ${result.errors.join("; ")})`);
});

t.test("a script stuck in synchronous code is stopped at request_timeout with a 504; others keep answering", async (t) => {
  // Scaled: on a busy machine compiling spin.ts alone may take a while, and a request that times
  // out before it starts spinning is not the case under test.
  const timeout = scaled(1500);
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "2", "--request-timeout", `${timeout}ms`]);
  t.teardown(() => tscgi.stop());
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  const started = Date.now();
  const spin = getFresh(`${base}/spin`);
  // Once its worker is stuck, the other worker answers (and, once replaced, the new one). A
  // connection the stuck worker had accepted a moment before it blocked would be lost with it.
  await tscgi.waitFor(/spinning from now on/);
  const others: number[] = [];
  let answered = false;
  void spin.finally(() => (answered = true));
  // Bounded in count and time; it ends when the stuck request is answered.
  const end = Date.now() + scaled(30_000);
  while (!answered && others.length < 1000 && Date.now() < end) others.push((await getFresh(`${base}/hello`)).status);
  const res = await spin;
  const took = Date.now() - started;
  t.equal(res.status, 504, "the stuck request is answered 504");
  t.match(res.body, /request_timeout/);
  // Only a lower bound: a busy machine makes it later, never earlier.
  t.ok(took >= timeout - 100, `answered after ${took} ms (request_timeout ${timeout} ms)`);
  t.ok(
    others.length >= 1 && others.every((s) => s === 200),
    `${others.length} other requests meanwhile, all answered 200 (${others.join(" ")})`,
  );
  await tscgi.waitFor(/worker \d+ stopped: stuck in synchronous code/);
  const log = tscgi.output();
  t.match(log, /spin\.ts \(GET \/spin, running \d+\.\d s, answered 504\)/, "the log names the script, the URL and the time");
  t.match(log, /spin\.ts:\d+/, "and where in the script it was");
  t.ok(await until(() => childPids(tscgi.child.pid!).length === 2), "the stuck worker was replaced");
});

t.test("a crash loop backs off instead of spinning", async (t) => {
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "1", "--log-level", "debug"]);
  t.teardown(() => tscgi.stop());
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  const crash = /worker \d+ was killed by SIGKILL/;
  // One request per crash: while no worker runs, the request waits in the socket's backlog for
  // the next one, which it then crashes. Until two delays were logged, at most 8 crashes: where a
  // worker needs longer than HEALTHY_LIFETIME to start and take the request, no crash is quick.
  for (let crashes = 1; crashes <= 8 && occurrences(tscgi.output(), /next start in \d+ ms/) < 2; crashes++) {
    await getFresh(`${base}/crash`).catch(() => {});
    await tscgi.waitFor((out) => occurrences(out, crash) >= crashes);
  }
  // Healthy again once the crashing stops: the request waits for the next worker.
  t.equal((await getFresh(`${base}/hello`)).status, 200);

  // The master's delays are those the back-off gives for the lifetimes it saw (spawn to exit,
  // from the log's time stamps), whatever they were on this machine.
  const lines = tscgi.output().split("\n");
  const startedAt = new Map<string, number>();
  const backoff = new Backoff(30_000);
  const expected: number[] = [];
  const logged: number[] = [];
  let nearBoundary = false;
  for (const [i, line] of lines.entries()) {
    const started = /DEBUG: worker (\d+) started/.exec(line);
    if (started) startedAt.set(started[1], stamp(line));
    // However the crash ended the worker: an exit code or a signal.
    const exited = /ERROR: worker (\d+) (?:exited with code \d+|was killed by SIG\w+)/.exec(line);
    if (!exited) continue;
    const lifetime = stamp(line) - startedAt.get(exited[1])!;
    nearBoundary ||= Math.abs(lifetime - HEALTHY_LIFETIME) < 100;
    expected.push(backoff.crash(lifetime));
    const after = lines.slice(i + 1);
    const next = after.findIndex((l) => /worker \d+ started/.test(l));
    const delay = after.slice(0, next === -1 ? undefined : next).find((l) => /next start in \d+ ms/.test(l));
    logged.push(delay === undefined ? 0 : Number(/next start in (\d+) ms/.exec(delay)![1]));
    // And each delay is kept: the next worker starts no sooner.
    if (delay !== undefined && next !== -1) {
      const waited = stamp(after[next]) - stamp(delay);
      t.ok(waited >= logged.at(-1)! - 10, `the next worker started ${waited} ms after "next start in ${logged.at(-1)} ms"`);
    }
  }
  t.ok(logged.length >= 3, `${logged.length} crashes`);
  if (nearBoundary) t.comment(`a lifetime within 100 ms of ${HEALTHY_LIFETIME} ms: delays not compared (${logged.join(", ")})`);
  else t.same(logged, expected, `delays ${logged.join(", ")} ms, as the back-off gives for these lifetimes`);
  const quick = logged.filter((d) => d > 0);
  if (quick.length < 2) t.comment("no two quick crashes in a row on this machine: growing delays not seen");
  else
    t.ok(
      quick.every((d, i) => i === 0 || d > quick[i - 1]),
      `delays grow: ${quick.join(", ")} ms`,
    );
});

t.test("SIGTERM stops accepting, waits for the request in flight, then exits 0", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tscgi-term-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const release = join(dir, "release");
  // One worker: once it says it waits for its request, no process accepts on the sockets.
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "1"]);
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  const slow = getFresh(`${base}/hold?release=${encodeURIComponent(release)}`);
  await tscgi.waitFor("hold.ts: holding");
  const stopped = tscgi.stop("SIGTERM");
  await tscgi.waitFor("stopping: waiting for 1 request(s) in flight");
  const refused = await getFresh(`${base}/hello`).then(
    () => false,
    () => true,
  );
  t.ok(refused, "a new connection is refused while draining");
  writeFileSync(release, "");
  const res = await slow;
  t.equal(res.status, 200);
  t.equal(res.body, "released", "the request in flight finished");
  t.equal(await stopped, 0, "the master exits 0");
  t.match(tscgi.output(), /SIGTERM: stopping gracefully/);
});

t.test(
  "a worker that cannot listen on the bound port stops tscgi with the listen error and status 1, instead of restarting forever",
  async (t) => {
    // Another process may begin listening on the port between the master's bind and a worker's
    // listen (both sockets have SO_REUSEADDR, and only one may listen). Here a preload script,
    // which runs just before the worker listens, is that process.
    const dir = mkdtempSync(join(tmpdir(), "tscgi-taken-"));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      join(dir, "take.ts"),
      // Without a host, a listen in a process outside a cluster binds and listens at once.
      // A second worker's preload finds the port taken (ignored): its own listen then fails too,
      // unless the first worker is gone by then.
      'import net from "node:net";\n' +
        "net.createServer().on('error', () => {}).listen(Number(process.env.TAKE_PORT));\n" +
        'export default () => "taken";\n',
    );
    const port = await freePort();
    const args = [
      "serve",
      "--listen",
      `127.0.0.1:${port}`,
      "--root",
      dir,
      "--workers",
      "2",
      "--preload",
      "/take",
      "--env",
      `TAKE_PORT=${port}`,
    ];
    const child = spawn(process.execPath, [bin, ...args], { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), scaled(60_000));
    const [code] = (await once(child, "exit")) as [number | null];
    clearTimeout(timer);
    t.equal(code, 1, output);
    t.match(
      output,
      new RegExp(`ERROR: cannot listen on 127\\.0\\.0\\.1:${port}: address already in use \\(EADDRINUSE\\); choose another address`),
    );
    t.match(output, /stopping, as every worker would fail the same way/);
    t.notMatch(output, /keeps crashing|next start in/, "no restart with back-off");
    t.equal(occurrences(output, /cannot listen on/), 1, "said once, however many workers failed");
  },
);
