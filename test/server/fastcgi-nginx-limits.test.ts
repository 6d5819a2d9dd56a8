// Through a real nginx: an idle-connection flood on the FastCGI port no longer shuts the web server out.
import t from "tap";
import { encodeParams } from "../../src/fastcgi/params.ts";
import { encodeRecord } from "../../src/fastcgi/record.ts";
import { RecordType } from "../../src/fastcgi/constants.ts";
import { FcgiClient } from "../helpers/fcgi-client.ts";
import { nginxMissing, startNginx } from "../helpers/nginx.ts";
import { repo, startTscgi } from "../helpers/tscgi.ts";

const missing = nginxMissing();
if (missing) {
  t.comment(missing);
  t.pass("skipped: " + missing);
} else {
  t.test("200 idle connections against max_connections 40: nginx is still served, and it shows", async (t) => {
    const tscgi = await startTscgi([
      "--root",
      `${repo}/test/fixtures/cgi-bin`,
      "--workers",
      "0",
      "--max-connections",
      "40",
      // Only making room closes the flood here, however slow the machine.
      "--params-timeout",
      "0",
      "--status-path",
      "/status",
    ]);
    t.teardown(() => tscgi.stop());
    const flood: FcgiClient[] = [];
    for (let i = 0; i < 200; i++) flood.push(new FcgiClient(tscgi.fastcgiPort));
    // Each is accepted (answered) or closed to make room for a later one.
    const query = encodeRecord(RecordType.GetValues, 0, encodeParams({ FCGI_MAX_CONNS: "" }));
    await Promise.all(
      flood.map(async (c) => {
        c.send(query);
        // until() rejects when the connection closes first: that is the other outcome wanted here.
        await c.until(() => c.management.length > 0, 30_000).catch(() => c.closed);
      }),
    );
    const nginx = await startNginx(`127.0.0.1:${tscgi.fastcgiPort}`);
    t.teardown(() => nginx.stop());
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await fetch(`${nginx.url}/hello`)).status);
    t.same(
      statuses.filter((s) => s !== 200),
      [],
      "every request through nginx answered 200 (Node's maxConnections dropped them all: 502)",
    );
    const status = (await (await fetch(`${nginx.url}/status?json`)).json()) as Record<string, number>;
    t.ok(status["max connections reached"] >= 200 - 40, `max connections reached: ${status["max connections reached"]}`);
    await tscgi.waitFor(
      /WARN: fastcgi: max_connections \(40\) reached: the connection idle longest was closed.*\[TSCGI_E_SERVER_MAX_CONNECTIONS\]/,
    );
    for (const c of flood) c.close();
  });
}
