// Admission control: a worker at max_inflight answers 503 with Retry-After (FastCGI:
// FCGI_OVERLOADED) at once instead of queueing without bound, and the status page counts it.
import t from "tap";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FcgiClient, parseCgi, requestBytes } from "../helpers/fcgi-client.ts";
import { getFresh } from "../helpers/http.ts";
import { repo, startTscgi } from "../helpers/tscgi.ts";

const fixtures = `${repo}test/fixtures/cgi-bin`;
const FCGI_OVERLOADED = 2;

t.test("over max_inflight: 503, Retry-After, FCGI_OVERLOADED, counted", async (t) => {
  const tscgi = await startTscgi([
    "--root",
    fixtures,
    "--workers",
    "1",
    "--max-inflight",
    "2",
    "--overload-retry-after",
    "3s",
    "--status-path",
    "/status",
  ]);
  t.teardown(() => tscgi.stop());
  const dir = mkdtempSync(join(tmpdir(), "tscgi-admission-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const release = join(dir, "release");
  const client = new FcgiClient(tscgi.fastcgiPort);
  const get = (id: number, uri: string) =>
    client.send(
      requestBytes(id, { REQUEST_METHOD: "GET", REQUEST_URI: uri, SCRIPT_NAME: uri.split("?")[0], QUERY_STRING: uri.split("?")[1] ?? "" }),
    );
  // Two requests held until the test releases them, each running once its line is logged.
  const hold = (id: number) => `/hold?id=${id}&release=${encodeURIComponent(release)}`;
  get(1, hold(1));
  get(2, hold(2));
  await tscgi.waitFor("hold.ts: holding 1");
  await tscgi.waitFor("hold.ts: holding 2");
  get(3, "/hello");
  await client.until(() => client.responses.get(3)?.done === true);
  const overloaded = client.responses.get(3)!;
  t.notOk(
    client.responses.get(1)?.done || client.responses.get(2)?.done,
    "refused at once, not queued behind the running requests (which are still held)",
  );
  const res = parseCgi(overloaded.stdout);
  t.equal(res.status, 503);
  t.equal(res.headers["retry-after"], "3");
  t.equal(overloaded.protocolStatus, FCGI_OVERLOADED, "END_REQUEST says FCGI_OVERLOADED");
  writeFileSync(release, "");
  await client.until(() => client.responses.get(1)?.done === true && client.responses.get(2)?.done === true);
  t.equal(parseCgi(client.responses.get(1)!.stdout).body, "released", "the requests within the bound finish");
  get(4, "/hello");
  await client.until(() => client.responses.get(4)?.done === true);
  t.equal(parseCgi(client.responses.get(4)!.stdout).status, 200, "and the next request is served again");
  client.close();
  const status = JSON.parse((await getFresh(`http://127.0.0.1:${tscgi.httpPort}/status?json`)).body) as Record<string, number>;
  t.equal(status["rejected requests"], 1, "rejected requests counts it");
  t.equal(status["max children reached"], 1, "and so does max children reached");
  await tscgi.waitFor(/"GET \/hello" 503/);
  t.pass("the access log shows the 503");
});
