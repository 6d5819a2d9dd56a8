// A stop behind Apache's connection pool ends as soon as the last request is answered: idle
// pooled connections are closed outright, not half-closed and waited for.
import t from "tap";
import { apacheMissing, startApache } from "../helpers/apache.ts";
import { getFresh } from "../helpers/http.ts";
import { repo, startTscgi } from "../helpers/tscgi.ts";

const fixtures = `${repo}test/fixtures/cgi-bin`;
const apache = apacheMissing();

t.test("a stop behind Apache (enablereuse=on) ends right after the last request, not at shutdown_timeout", { skip: apache }, async (t) => {
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "2", "--shutdown-timeout", "60s"]);
  t.teardown(() => tscgi.stop("SIGKILL"));
  const httpd = await startApache(`ProxyPass "/" "fcgi://127.0.0.1:${tscgi.fastcgiPort}/" enablereuse=on`);
  t.teardown(() => httpd.stop());
  for (let i = 0; i < 20; i++) t.equal((await getFresh(`${httpd.url}/pid`)).status, 200);
  const stoppedAt = Date.now();
  const code = await tscgi.stop("SIGTERM");
  const took = Date.now() - stoppedAt;
  t.equal(code, 0, "stopped cleanly");
  // The bound is the point: Apache never answers a half-close of its pooled connections, and
  // waiting for it used to last the whole shutdown_timeout (60 s here).
  t.ok(took < 15_000, `stopped ${took} ms after SIGTERM, with Apache's pooled connections open`);
});
