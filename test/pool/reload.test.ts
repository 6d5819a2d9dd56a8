// SIGHUP and SIGUSR2 re-read the config and replace every worker, under load through a real
// nginx, with zero failed requests; a broken config is refused and the old one keeps serving.
import t from "tap";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getFresh } from "../helpers/http.ts";
import { startLoad } from "../helpers/load.ts";
import { nginxMissing } from "../helpers/nginx.ts";
import { poolBehindNginx } from "../helpers/pool.ts";
import { childPids, repo, startTscgi, until } from "../helpers/tscgi.ts";

const fixtures = `${repo}test/fixtures/cgi-bin`;
const missing = nginxMissing();

t.test("SIGHUP and SIGUSR2 under load through nginx: every worker replaced, 0 failed requests", { skip: missing }, async (t) => {
  const { tscgi, nginx } = await poolBehindNginx(t, ["--root", fixtures, "--workers", "2"]);
  const master = tscgi.child.pid!;
  const first = childPids(master);
  const load = startLoad(`${nginx.url}/pid`, { concurrency: 16, total: 8000, maxMs: 120_000 });
  const reloads: NodeJS.Signals[] = ["SIGHUP", "SIGUSR2", "SIGHUP"];
  for (const [i, signal] of reloads.entries()) {
    await load.answered(1500 * (i + 1));
    process.kill(master, signal);
    await tscgi.waitFor(`reloaded: generation ${i + 2}`);
  }
  const result = await load.done;
  const ok = result.statuses[200] ?? 0;
  t.equal(result.failed, 0, `no request without an answer (${result.errors.join("; ")})`);
  t.equal(ok, result.sent, `all ${result.sent} requests answered 200 (${JSON.stringify(result.statuses)})`);
  t.ok(result.sent >= 4500, `${result.sent} requests across 3 reloads`);
  // The last generation replaced has finished once its connections from nginx are closed.
  t.ok(await until(() => childPids(master).length === 2), "two workers after the reloads");
  const now = childPids(master);
  t.ok(
    now.every((pid) => !first.includes(pid)),
    "none of the first workers is left",
  );
  // nginx logs a keep-alive connection a draining worker closed under it, then retries the request.
  const retried = nginx.errorLog().match(/\[error\]/g)?.length ?? 0;
  t.comment(`nginx retried ${retried} request(s) on keep-alive connections closed by draining workers`);
});

t.test("a reload re-reads the config file; a broken one is refused and the running config stays", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tscgi-reload-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const write = (text: string) => writeFileSync(join(dir, "tscgi.conf"), text);
  write(`root = ${fixtures}\nworkers = 1\nping_path = /ping\nping_response = one\n`);
  const tscgi = await startTscgi(["--config", join(dir, "tscgi.conf")]);
  t.teardown(() => tscgi.stop());
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  t.equal((await getFresh(`${base}/ping`)).body, "one");
  write(`root = ${fixtures}\nworkers = 2\nping_path = /ping\nping_response = two\n`);
  process.kill(tscgi.child.pid!, "SIGHUP");
  await tscgi.waitFor("reloaded: generation 2");
  t.ok(await until(async () => (await getFresh(`${base}/ping`)).body === "two"), "the new ping_response answers");
  t.ok(await until(() => childPids(tscgi.child.pid!).length === 2), "workers = 2 applies");
  write(`root = ${fixtures}\nworkers = lots\n`);
  process.kill(tscgi.child.pid!, "SIGHUP");
  await tscgi.waitFor(/SIGHUP: the new config is not valid, keeping the running one: .*workers/);
  t.equal((await getFresh(`${base}/ping`)).body, "two", "still serving with the last good config");
});
