// conf/apache.conf, unmodified but for its EDIT lines, in a real Apache httpd (mod_proxy_fcgi)
// in front of tscgi: at the root, and under a URL prefix with tscgi's mount set to match.
import t from "tap";
import { apacheHttpdMissing, startApacheSite } from "../helpers/web-servers/apache-httpd.ts";
import { checkSite, startFixtureTscgi } from "../helpers/web-servers/checks.ts";
import { countingRelay } from "../helpers/web-servers/relay.ts";

const missing = apacheHttpdMissing();
// Real servers and tscgi start slowly on a busy machine: more than .taprc's 120 s per file.
if (!missing) t.setTimeout(300_000);

t.test("at the root", { skip: missing }, async (t) => {
  const site = await startFixtureTscgi(t);
  const apache = await startApacheSite(site.address);
  t.teardown(() => apache.stop());
  await checkSite(t, apache.url, site, { refusedBy: 403 });

  await t.test("enablereuse=on keeps connections: 20 requests, not 20 connections", async (t) => {
    const relay = await countingRelay(site.fastcgiPort);
    const relayed = await startApacheSite(relay.address);
    t.teardown(async () => {
      await relayed.stop();
      relay.close();
    });
    for (let i = 0; i < 20; i++) t.equal(await (await fetch(`${relayed.url}/hello?name=${i}`)).text(), `Hello, ${i}`);
    t.ok(relay.connections() <= 2, `${relay.connections()} connection(s) for 20 requests, one after another`);
  });
});

t.test("under /app/, with mount = /app", { skip: missing }, async (t) => {
  const site = await startFixtureTscgi(t, ["--mount", "/app"]);
  const apache = await startApacheSite(site.address, "/app/");
  t.teardown(() => apache.stop());
  await checkSite(t, apache.url, site, { prefix: "/app", refusedBy: 403 });
});
