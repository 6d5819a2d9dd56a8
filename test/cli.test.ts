// The tscgi command as a user runs it: help, version, config errors, classic CGI, graceful stop.
import t from "tap";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, repo, startTscgi } from "./helpers/tscgi.ts";

const root = join(repo, "test/fixtures/cgi-bin");
const run = (args: string[], env: Record<string, string> = {}, input?: string) =>
  spawnSync(process.execPath, [bin, ...args], { cwd: repo, encoding: "utf8", env: { ...process.env, ...env }, input });

t.test("--help lists the flags, --version the package version", async (t) => {
  const help = run(["--help"]);
  t.equal(help.status, 0);
  for (const flag of ["--listen", "--root", "--http", "--config", "--max-body-size"]) t.match(help.stdout, flag);
  const version = run(["--version"]);
  t.equal(version.stdout.trim(), `tscgi ${JSON.parse(readFileSync(join(repo, "package.json"), "utf8")).version}`);
});

t.test("a bad value names the key, the value and what is allowed, and exits 2", async (t) => {
  const flag = run(["--max-body-size", "12x"]);
  t.equal(flag.status, 2);
  t.match(flag.stderr, /max_body_size.*"12x".*expected a size/);
  const env = run([], { TSCGI_LISTEN: "127.0.0.1:99999" });
  t.equal(env.status, 2);
  t.match(env.stderr, /TSCGI_LISTEN/);
  const unknown = run(["--max-body", "1m"]);
  t.equal(unknown.status, 2);
  t.match(unknown.stderr, /did you mean --max-body-size/);
});

t.test("a port in use is a clear error", async (t) => {
  const first = await startTscgi(["--root", root]);
  const second = run(["--listen", `127.0.0.1:${first.fastcgiPort}`, "--root", root]);
  await first.stop();
  t.equal(second.status, 1);
  t.match(second.stderr, /cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
});

t.test("tscgi cgi FILE answers one request the classic CGI way", async (t) => {
  const get = run(["cgi", join(root, "hello.ts")], { REQUEST_METHOD: "GET", QUERY_STRING: "name=CGI" });
  t.equal(get.status, 0);
  t.equal(get.stdout, "Status: 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 10\r\n\r\nHello, CGI");
  const post = run(["cgi", join(root, "hash.ts")], { REQUEST_METHOD: "POST", CONTENT_LENGTH: "3" }, "abcdef");
  t.match(post.stdout, /"bytes":3/, "reads CONTENT_LENGTH bytes of stdin, no more");
  const boom = run(["cgi", join(root, "boom.ts")], { REQUEST_METHOD: "GET" });
  t.equal(boom.status, 1);
  t.match(boom.stdout, /^Status: 500/);
  t.match(boom.stderr, /boom from a script.*boom\.ts:4/);
});

t.test("SIGTERM stops accepting, finishes the request in flight, then exits 0", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tscgi-cli-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const release = join(dir, "release");
  // One process: once it says it waits for the request, nothing accepts on its sockets.
  const server = await startTscgi(["--root", root, "--workers", "0"]);
  const slow = fetch(`http://127.0.0.1:${server.httpPort}/hold?release=${encodeURIComponent(release)}`).then((r) => r.text());
  await server.waitFor("hold.ts: holding");
  const code = server.stop("SIGTERM");
  // Logged once the listeners are closed and the request is being waited for.
  await server.waitFor("stopping: waiting for 1 request(s) in flight");
  await t.rejects(fetch(`http://127.0.0.1:${server.httpPort}/hello`), "no new connections once stopping");
  writeFileSync(release, "");
  t.equal(await slow, "released");
  t.equal(await code, 0);
  // The exit can be seen before the last output is read from the pipes.
  await server.waitFor(/SIGTERM: stopping gracefully[\s\S]*stopped/);
});

t.test("the start-up line says where it listens; npm start's sample scripts answer", async (t) => {
  const server = await startTscgi(["--root", join(repo, "cgi-bin")]);
  t.match(server.output(), new RegExp(`listening on fastcgi 127\\.0\\.0\\.1:${server.fastcgiPort}`));
  const base = `http://127.0.0.1:${server.httpPort}`;
  t.equal(await (await fetch(`${base}/hello?name=Ada`)).text(), "Hello, Ada");
  t.match(await (await fetch(`${base}/users/42`)).json(), { id: "42" });
  t.match(await (await fetch(`${base}/env`)).json(), { REQUEST_METHOD: "GET", SCRIPT_NAME: "/env" });
  t.match(await (await fetch(`${base}/time`)).json(), { method: "GET" });
  const form = await fetch(`${base}/form`, { method: "POST", body: new URLSearchParams({ name: "<Ada>" }) });
  t.match(await form.text(), /name = &lt;Ada&gt;/);
  t.match(await (await fetch(`${base}/`)).text(), /tscgi/);
  await server.stop();
});
