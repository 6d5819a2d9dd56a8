// conf/nginx.conf, unmodified but for its EDIT lines, in a real nginx in front of tscgi: over TCP
// with kept connections, over a Unix socket, with private paths and the status page refused.
import t from "tap";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nginxMissing } from "../helpers/nginx.ts";
import { checkSite, startFixtureTscgi } from "../helpers/web-servers/checks.ts";
import { startNginxSite } from "../helpers/web-servers/nginx-site.ts";
import { countingRelay } from "../helpers/web-servers/relay.ts";
import { changesBeyondEditLines, confDir } from "../helpers/web-servers/snippet.ts";

const missing = nginxMissing();
// Real servers and tscgi start slowly on a busy machine: more than .taprc's 120 s per file.
if (!missing) t.setTimeout(300_000);

t.test("over TCP", { skip: missing }, async (t) => {
  const site = await startFixtureTscgi(t);
  const nginx = await startNginxSite(site.address);
  t.teardown(() => nginx.stop());
  await checkSite(t, nginx.url, site);

  await t.test("static files stay with nginx", async (t) => {
    const res = await fetch(`${nginx.url}/static/app.css`);
    t.equal(res.status, 200);
    t.equal(await res.text(), "body {}\n");
  });

  await t.test("upstream connections are kept: 20 requests, not 20 connections", async (t) => {
    const relay = await countingRelay(site.fastcgiPort);
    const relayed = await startNginxSite(relay.address);
    t.teardown(async () => {
      await relayed.stop();
      relay.close();
    });
    for (let i = 0; i < 20; i++) t.equal(await (await fetch(`${relayed.url}/hello?name=${i}`)).text(), `Hello, ${i}`);
    t.equal(relay.connections(), 1, "one connection for 20 requests, one after another");
  });
});

t.test("over a Unix socket", { skip: missing }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tscgi-nginx-sock-"));
  chmodSync(dir, 0o755);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, "tscgi.sock");
  // nginx's workers run as nobody:nogroup here: the socket's group lets them in, as
  // docs/web-servers.md says to do for the web server's user.
  const site = await startFixtureTscgi(t, ["--listen-group", "nogroup", "--listen-mode", "0660"], socket);
  const nginx = await startNginxSite(`unix:${socket}`);
  t.teardown(() => nginx.stop());
  await checkSite(t, nginx.url, site);
});

t.test("the compose files' nginx configs are conf/nginx.conf with only the EDIT lines changed", async (t) => {
  const original = readFileSync(join(confDir, "nginx.conf"), "utf8");
  for (const file of ["tcp.conf", "socket.conf"]) {
    const copy = readFileSync(join(confDir, "..", "docker", "nginx", file), "utf8");
    t.same(changesBeyondEditLines(original, copy), [], `docker/nginx/${file}`);
  }
});
