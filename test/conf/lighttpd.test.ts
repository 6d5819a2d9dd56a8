// conf/lighttpd.conf, unmodified but for its EDIT line, in a real lighttpd (mod_fastcgi) in front
// of tscgi.
import t from "tap";
import { checkSite, startFixtureTscgi } from "../helpers/web-servers/checks.ts";
import { lighttpdMissing, startLighttpdSite } from "../helpers/web-servers/lighttpd.ts";

const missing = lighttpdMissing();
// Real servers and tscgi start slowly on a busy machine: more than .taprc's 120 s per file.
if (!missing) t.setTimeout(300_000);

t.test("lighttpd with mod_fastcgi", { skip: missing }, async (t) => {
  const site = await startFixtureTscgi(t);
  const lighttpd = await startLighttpdSite("127.0.0.1", site.fastcgiPort);
  t.teardown(() => lighttpd.stop());
  await checkSite(t, lighttpd.url, site, { refusedBy: 403 });
});
