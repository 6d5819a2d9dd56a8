// Logs from a running pool: the slow log (with the stack of a busy script), a script's console
// output decorated with pid and script, control characters escaped, files reopened on SIGUSR1.
import t from "tap";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getFresh } from "../helpers/http.ts";
import { childPids, repo, startTscgi, until } from "../helpers/tscgi.ts";

const fixtures = `${repo}test/fixtures/cgi-bin`;

t.test("request_slowlog_timeout: a busy script's stack, an awaiting one's I/O line, counted", async (t) => {
  const tscgi = await startTscgi([
    "--root",
    fixtures,
    "--workers",
    "1",
    "--request-slowlog-timeout",
    "400ms",
    "--request-timeout",
    "2s",
    "--status-path",
    "/status",
  ]);
  t.teardown(() => tscgi.stop());
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  // One worker, one after the other: the spinning script takes its worker down with it.
  const wait = await getFresh(`${base}/wait?ms=900`);
  t.equal(wait.body, "waited 900");
  const spin = await getFresh(`${base}/spin`);
  t.equal(spin.status, 504);
  const log = tscgi.output();
  t.match(
    log,
    /\[pool tscgi\] pid \d+\nscript_filename = spin\.ts\nuri = \/spin\nmethod = GET\nelapsed = \d+\.\d+s\n.*spin\.ts:\d+/,
    "the slow entry of the busy script has its stack",
  );
  t.match(log, /script_filename = wait\.ts\nuri = \/wait\?ms=900\n[^]*?waiting for I\/O/, "the awaiting one says it waits");
  // The master counts; it outlives the replaced worker.
  const status = JSON.parse((await getFresh(`${base}/status?json`)).body) as Record<string, number>;
  t.ok(status["slow requests"] >= 2, `slow requests ${status["slow requests"]}`);
});

t.test("one process (--workers 0) writes the slow log too", async (t) => {
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "0", "--request-slowlog-timeout", "300ms", "--status-path", "/status"]);
  t.teardown(() => tscgi.stop());
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  t.equal((await getFresh(`${base}/wait?ms=700`)).body, "waited 700");
  await tscgi.waitFor(/script_filename = wait\.ts\nuri = \/wait\?ms=700\n[^]*?waiting for I\/O/);
  const status = JSON.parse((await getFresh(`${base}/status?json`)).body) as Record<string, number>;
  t.equal(status["slow requests"], 1);
  t.equal((await getFresh(`${base}/hello`)).status, 200, "a request under the timeout is not logged");
  t.notMatch(tscgi.output(), /uri = \/hello/);
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
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "2", "--access-log", access]);
  t.teardown(() => tscgi.stop());
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  for (let i = 0; i < 4; i++) await getFresh(`${base}/hello?before=${i}`);
  t.ok(await until(() => readFileSync(access, "utf8").includes("before=3"), 2000));
  renameSync(access, `${access}.1`);
  process.kill(tscgi.child.pid!, "SIGUSR1");
  await new Promise((r) => setTimeout(r, 300));
  for (let i = 0; i < 8; i++) await getFresh(`${base}/hello?after=${i}`);
  t.ok(
    await until(() => existsSync(access) && readFileSync(access, "utf8").split("after=").length - 1 === 8, 3000),
    "all later lines in the new file",
  );
  t.notMatch(readFileSync(`${access}.1`, "utf8"), /after=/, "none in the rotated one");
});
