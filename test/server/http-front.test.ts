// The embedded HTTP front: the same dispatch as FastCGI, with the URL decoded exactly once.
import t from "tap";
import { request } from "node:http";
import { join } from "node:path";
import { decodePath } from "../../src/server/http-front.ts";
import { repo, startTscgi, type TscgiProcess } from "../helpers/tscgi.ts";

const root = join(repo, "test/fixtures/cgi-bin");
let tscgi: TscgiProcess;
t.before(async () => {
  tscgi = await startTscgi(["--root", root]);
});
t.teardown(() => tscgi?.stop());

const raw = (method: string, path: string, headers: Record<string, string> = {}) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: tscgi.httpPort, method, path, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", reject);
    req.end();
  });

t.test("decodePath decodes once and refuses malformed escapes", async (t) => {
  t.equal(decodePath("/a%20b?x=%41"), "/a b");
  t.equal(decodePath("/%252e%252e/x"), "/%2e%2e/x", "a double-encoded dot stays encoded");
  t.equal(decodePath("/%E0%A4%A"), null);
});

t.test("the same scripts answer over HTTP", async (t) => {
  t.same(await raw("GET", "/hello?name=HTTP"), { status: 200, body: "Hello, HTTP" });
  const where = JSON.parse((await raw("GET", "/where/x%20y?q=1")).body);
  t.match(where, { SCRIPT_NAME: "/where", PATH_INFO: "/x y", REQUEST_URI: "/where/x%20y?q=1" });
});

t.test("encoded slashes, dot segments, NUL and bad escapes never reach a file", async (t) => {
  for (const path of [
    "/_private%2fsecret",
    "/..%2f..%2fetc%2fpasswd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/hello%00",
    "/%zz",
    "/a/../hello",
    "/hello%5c..%5cdata.json",
  ]) {
    const res = await raw("GET", path);
    t.ok([400, 404].includes(res.status), `${path} -> ${res.status}`);
    t.notMatch(res.body, /SECRET|root:/);
  }
  t.equal((await raw("GET", "/%252e%252e/hello")).status, 404, "double-encoding is not decoded twice");
});

t.test("a Proxy request header never becomes HTTP_PROXY", async (t) => {
  const env = JSON.parse((await raw("GET", "/env", { Proxy: "http://evil:1", "X-Other": "kept" })).body);
  t.equal(env.HTTP_PROXY, undefined);
  t.equal(env.HTTP_X_OTHER, "kept");
});

t.test("a client that goes away aborts the script's signal", async (t) => {
  const req = request({ host: "127.0.0.1", port: tscgi.httpPort, path: "/hold?id=gone" });
  req.on("error", () => {});
  req.end();
  await tscgi.waitFor("hold.ts: holding gone");
  req.destroy();
  // hold.ts ends only when its signal fires (or never).
  await tscgi.waitFor('"GET /hold?id=gone" 499');
  t.pass("logged as 499: the script saw the abort");
});
