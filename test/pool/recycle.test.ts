// Recycling: workers are replaced after max_requests or above worker_memory_limit, and the
// process manager scales ondemand pools up and back down. No request fails on the way.
import t, { type Test } from "tap";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nginxMissing } from "../helpers/nginx.ts";
import { poolBehindNginx } from "../helpers/pool.ts";
import { getFresh } from "../helpers/http.ts";
import { childPids, occurrences, repo, startTscgi } from "../helpers/tscgi.ts";

// With log_level debug the master logs every worker it starts and every one that finishes.
const STARTED = /worker \d+ started/;
const FINISHED = /worker \d+ finished/;

/** A file whose creation releases the hold.ts requests that name it. */
function releaseFile(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), "tscgi-recycle-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, "release");
}

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
  // A recycled worker serves on until its replacement is ready, then finishes: go on until four did
  // (bounded by a request count, not by the clock).
  const finished = () => tscgi.output().match(/finished \(max_requests \(25\) reached\)/g)?.length ?? 0;
  for (let i = 0; i < 20_000 && finished() < 4; i++) {
    const res = await getFresh(`${nginx.url}/pid`);
    statuses.push(res.status);
    pids.add(res.body);
  }
  t.ok(finished() >= 4, `${finished()} recycled workers finished after ${statuses.length} requests`);
  t.ok(
    statuses.every((s) => s === 200),
    `all ${statuses.length} answered 200 (${statuses.filter((s) => s !== 200).length} not)`,
  );
  t.ok(pids.size >= 3, `${pids.size} different workers served them`);
});

t.test("worker_memory_limit: a leaking script's worker is recycled", async (t) => {
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "1", "--worker-memory-limit", "160m"]);
  t.teardown(() => tscgi.stop());
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  const first = (await getFresh(`${base}/pid`)).body;
  // 5 x 32 MiB kept: the worker's RSS is then over 160 MiB whatever it started at.
  for (let i = 0; i < 5; i++) t.equal((await getFresh(`${base}/leak?mb=32`)).status, 200, "the leaking request itself succeeds");
  await tscgi.waitFor(/recycled: worker_memory_limit: RSS \d+\.\d MiB over 160\.0 MiB/);
  await tscgi.waitFor(`worker ${first} finished (worker_memory_limit`);
  t.not((await getFresh(`${base}/pid`)).body, first, "a new worker answers");
});

t.test("worker_max_age: old workers are replaced", async (t) => {
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "1", "--worker-max-age", "1s"]);
  t.teardown(() => tscgi.stop());
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  const first = (await getFresh(`${base}/pid`)).body;
  await tscgi.waitFor(/recycled: worker_max_age \(1 s\) reached/);
  await tscgi.waitFor(`worker ${first} finished (worker_max_age`);
  t.not((await getFresh(`${base}/pid`)).body, first, "a younger worker answers");
});

t.test("pm ondemand: no worker until a request comes, more under load, back to none when idle", async (t) => {
  const tscgi = await startTscgi([
    "--root",
    fixtures,
    "--pm",
    "ondemand",
    "--workers",
    "3",
    "--pm-process-idle-timeout",
    "500ms",
    "--log-level",
    "debug",
  ]);
  t.teardown(() => tscgi.stop());
  const master = tscgi.child.pid!;
  t.equal(childPids(master).length, 0, "no worker at start");
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  const release = releaseFile(t);
  // Six requests held at once: the first worker is busy, so more are started (up to 3).
  const held = Array.from({ length: 6 }, (_, i) => getFresh(`${base}/hold?id=${i}&release=${encodeURIComponent(release)}`));
  for (let i = 0; i < 6; i++) await tscgi.waitFor(`hold.ts: holding ${i}`);
  const started = occurrences(tscgi.output(), STARTED);
  t.ok(started >= 2 && started <= 3, `scaled up to ${started} workers (max 3)`);
  writeFileSync(release, "");
  const answers = await Promise.all(held);
  t.ok(
    answers.every((a) => a.status === 200),
    "all six answered",
  );
  await tscgi.waitFor((out) => occurrences(out, FINISHED) >= started);
  t.equal(childPids(master).length, 0, "scaled back down to none after the idle timeout");
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
    "--log-level",
    "debug",
  ]);
  t.teardown(() => tscgi.stop());
  const master = tscgi.child.pid!;
  await tscgi.waitFor((out) => occurrences(out, STARTED) >= 2);
  t.equal(childPids(master).length, 2, "pm_start_servers workers at start");
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  const release = releaseFile(t);
  // One busy worker leaves one idle, under pm_min_spare_servers: the manager adds one.
  const busy = getFresh(`${base}/hold?id=busy&release=${encodeURIComponent(release)}`);
  await tscgi.waitFor("hold.ts: holding busy");
  await tscgi.waitFor((out) => occurrences(out, STARTED) >= 3);
  t.ok(childPids(master).length >= 3, "more workers while all are busy");
  writeFileSync(release, "");
  await busy;
  await tscgi.waitFor(FINISHED);
  t.ok(childPids(master).length <= 2, "idle ones above pm_max_spare_servers are stopped");
});
