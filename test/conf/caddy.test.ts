// conf/Caddyfile, unmodified but for its EDIT lines, in a real Caddy (reverse_proxy with the
// fastcgi transport) in front of tscgi; and why the php_fastcgi shortcut does not fit.
import t from "tap";
import { caddyMissing, startCaddySite } from "../helpers/web-servers/caddy.ts";
import { checkSite, startFixtureTscgi } from "../helpers/web-servers/checks.ts";

const missing = caddyMissing();
// Real servers and tscgi start slowly on a busy machine: more than .taprc's 120 s per file.
if (!missing) t.setTimeout(300_000);

t.test("reverse_proxy with transport fastcgi", { skip: missing }, async (t) => {
  const site = await startFixtureTscgi(t);
  const caddy = await startCaddySite(site.address);
  t.teardown(() => caddy.stop());
  await checkSite(t, caddy.url, site);
});

t.test("php_fastcgi answers a script's URL with an empty 200, as conf/Caddyfile warns", { skip: missing }, async (t) => {
  const site = await startFixtureTscgi(t);
  const caddy = await startCaddySite(
    site.address,
    (address, publicDir) => `${address} {\n\troot * ${publicDir}\n\tphp_fastcgi ${site.address}\n}\n`,
  );
  t.teardown(() => caddy.stop());
  const res = await fetch(`${caddy.url}/hello?name=Ada`);
  t.equal(res.status, 200);
  t.equal(await res.text(), "", "not Hello, Ada");
});
