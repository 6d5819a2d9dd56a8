// FastCGI over a Unix socket: nginx's `fastcgi_pass unix:...`, and a socket file left by a dead process.
import t from "tap";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nginxMissing, startNginx } from "../helpers/nginx.ts";
import { repo, startTscgi } from "../helpers/tscgi.ts";

const root = join(repo, "test/fixtures/cgi-bin");
const dir = mkdtempSync(join(tmpdir(), "tscgi-sock-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test("nginx reaches tscgi on a Unix socket", { skip: nginxMissing() }, async (t) => {
  const socket = join(dir, "tscgi.sock");
  const tscgi = await startTscgi(["--root", root], { listen: socket });
  t.teardown(() => tscgi.stop());
  await tscgi.waitFor(`listening on fastcgi unix:${socket}`);
  // nginx's workers run as an unprivileged user when started as root; the socket's mode is the
  // operator's to set (as PHP-FPM's listen.mode), here by hand.
  chmodSync(dir, 0o755);
  chmodSync(socket, 0o666);
  const nginx = await startNginx(`unix:${socket}`);
  t.teardown(() => nginx.stop());
  t.equal(await (await fetch(`${nginx.url}/hello?name=unix`)).text(), "Hello, unix");
});

t.test("a socket file left by a dead process is replaced; a live one is not taken over", async (t) => {
  const socket = join(dir, "stale.sock");
  // A socket file whose server is gone: made by a child process killed with SIGKILL.
  const child = spawn(process.execPath, [
    "-e",
    `require("net").createServer().listen(${JSON.stringify(socket)}, () => process.stdout.write("up"))`,
  ]);
  await new Promise((resolve) => child.stdout.once("data", resolve));
  child.kill("SIGKILL");
  await new Promise((resolve) => child.once("exit", resolve));
  t.ok(existsSync(socket), "the stale socket file is there");
  const tscgi = await startTscgi(["--root", root], { listen: socket });
  await tscgi.waitFor(`listening on fastcgi unix:${socket}`);
  await tscgi.stop();

  const live = createServer().listen(socket);
  await new Promise((resolve) => live.once("listening", resolve));
  t.teardown(() => void live.close());
  await t.rejects(startTscgi(["--root", root], { listen: socket }), /cannot listen on .*stale\.sock/);
});
