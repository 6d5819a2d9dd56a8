// Logs from a running pool: the slow log (with the stack of a busy script), a script's console
// output decorated with pid and script, control characters escaped, files reopened on SIGUSR1.
import t, { type Test } from "tap";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getFresh } from "../helpers/http.ts";
import { scaled } from "../helpers/time.ts";
import { childPids, repo, startTscgi, until } from "../helpers/tscgi.ts";

const fixtures = `${repo}test/fixtures/cgi-bin`;

/** A file whose creation releases the hold.ts requests that name it. */
function releaseFile(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), "tscgi-logs-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, "release");
}

/** The files a process has open, by path. */
function openFiles(pid: number): string[] {
  const files: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      files.push(readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // Closed meanwhile.
    }
  }
  return files;
}

t.test("request_slowlog_timeout: a busy script's stack, an awaiting one's I/O line, counted", async (t) => {
  const common = ["--root", fixtures, "--workers", "1", "--status-path", "/status"];
  // Two pools. The awaiting request is held until its slow entry is written, however long a
  // starved watchdog thread takes to look, so nothing may end it: no request_timeout. The
  // spinning script takes its worker down with it at request_timeout; its slow entry is taken
  // once, and it shows the stack only if the script was already spinning then (compiling it
  // first may take a while on a busy machine): 1.5 s, scaled.
  const [awaiting, busy] = await Promise.all([
    startTscgi([...common, "--request-slowlog-timeout", "400ms", "--request-timeout", "0"]),
    startTscgi([...common, "--request-slowlog-timeout", `${scaled(1500)}ms`, "--request-timeout", `${scaled(4000)}ms`]),
  ]);
  t.teardown(() => Promise.all([awaiting.stop(), busy.stop()]));

  const release = releaseFile(t);
  const held = getFresh(`http://127.0.0.1:${awaiting.httpPort}/hold?id=slow&release=${encodeURIComponent(release)}`);
  await awaiting.waitFor(/script_filename = hold\.ts\nuri = \/hold\?id=slow&release=\S+\n[^]*?waiting for I\/O/);
  t.pass("the awaiting one says it waits");
  writeFileSync(release, "");
  t.equal((await held).body, "released");

  const spin = await getFresh(`http://127.0.0.1:${busy.httpPort}/spin`);
  t.equal(spin.status, 504);
  await busy.waitFor(/\[pool tscgi\] pid \d+\nscript_filename = spin\.ts\nuri = \/spin\nmethod = GET\nelapsed = \d+\.\d+s\n.*spin\.ts:\d+/);
  t.pass("the slow entry of the busy script has its stack");
  // The master counts; it outlives the replaced worker.
  for (const pool of [awaiting, busy]) {
    const status = JSON.parse((await getFresh(`http://127.0.0.1:${pool.httpPort}/status?json`)).body) as Record<string, number>;
    t.equal(status["slow requests"], 1, "one slow request counted");
  }
});

t.test("one process (--workers 0) writes the slow log too", async (t) => {
  // 2 s: far above what a compiled /hello takes, even on a busy machine.
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "0", "--request-slowlog-timeout", "2s", "--status-path", "/status"]);
  t.teardown(() => tscgi.stop());
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  t.equal((await getFresh(`${base}/hello?name=warm`)).status, 200, "hello.ts compiled");
  const release = releaseFile(t);
  const held = getFresh(`${base}/hold?id=slow&release=${encodeURIComponent(release)}`);
  await tscgi.waitFor(/script_filename = hold\.ts\nuri = \/hold\?id=slow&release=\S+\n[^]*?waiting for I\/O/);
  writeFileSync(release, "");
  t.equal((await held).body, "released");
  t.equal((await getFresh(`${base}/hello`)).status, 200, "a request under the timeout is not logged");
  const status = JSON.parse((await getFresh(`${base}/status?json`)).body) as Record<string, number>;
  t.equal(status["slow requests"], 1);
  t.notMatch(tscgi.output(), /uri = \/hello\n/);
});

t.test("a script's console output is decorated with pid and script, control characters escaped", async (t) => {
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "1"]);
  t.teardown(() => tscgi.stop());
  const res = await getFresh(`http://127.0.0.1:${tscgi.httpPort}/say?text=${encodeURIComponent("hi\x1b[31m")}`);
  t.equal(res.body, "ok");
  const [worker] = childPids(tscgi.child.pid!);
  // stderr is written at once, stdout at the end of the event-loop turn: either may come first.
  await tscgi.waitFor(`[pid ${worker}] say.ts: warned hi\\x1b[31m`);
  await tscgi.waitFor(`[pid ${worker}] say.ts: said hi\\x1b[31m`);
  t.notMatch(tscgi.output(), "\x1b", "no raw escape byte reaches the log");
});

t.test("SIGUSR1 reopens the access log in every worker after rotation", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tscgi-logs-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const access = join(dir, "access.log");
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "2", "--access-log", access, "--status-path", "/status"]);
  t.teardown(() => tscgi.stop());
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  // Both workers ready (the status page says none is Starting): a worker still starting drops
  // the reopen, which it gets before its server exists, and keeps writing to the rotated file.
  const ready = async () => {
    const status = JSON.parse((await getFresh(`${base}/status?json&full`)).body) as { processes: Array<{ state: string }> };
    return status.processes.length === 2 && status.processes.every((p) => p.state !== "Starting");
  };
  t.ok(await until(ready), "both workers ready");
  for (let i = 0; i < 4; i++) await getFresh(`${base}/hello?before=${i}`);
  t.ok(await until(() => readFileSync(access, "utf8").includes("before=3")));
  renameSync(access, `${access}.1`);
  process.kill(tscgi.child.pid!, "SIGUSR1");
  // Reopened: every worker has the new file open, and none the rotated one.
  const workers = childPids(tscgi.child.pid!);
  t.equal(workers.length, 2);
  t.ok(
    await until(() => workers.every((pid) => openFiles(pid).includes(access) && !openFiles(pid).includes(`${access}.1`))),
    "each worker holds the new file",
  );
  for (let i = 0; i < 8; i++) await getFresh(`${base}/hello?after=${i}`);
  t.ok(
    await until(() => existsSync(access) && readFileSync(access, "utf8").split("after=").length - 1 === 8),
    "all later lines in the new file",
  );
  t.notMatch(readFileSync(`${access}.1`, "utf8"), /after=/, "none in the rotated one");
});
