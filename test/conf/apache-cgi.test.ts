// conf/apache-cgi.conf and conf/tscgi.cgi, unmodified but for their EDIT lines, in a real Apache
// httpd (mod_cgid): the deploy scripts run once per request through `tscgi cgi`, the request stays
// out of process.env, and a compiled script is read from cgi_cache_dir instead of compiled again.
import t from "tap";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { apacheCgiMissing, startApacheCgiSite, type ApacheCgiSite } from "../helpers/web-servers/apache-cgi.ts";

const missing = apacheCgiMissing();
// Every request starts Node: slow on a busy machine, more than .taprc's 120 s per file.
if (!missing) t.setTimeout(300_000);

const scripts = new URL("../fixtures/deploy/cgi-bin/", import.meta.url);

/** What a script can see of its own process: its environment's names, its user, its temp directory. */
const PROCESS_VIEW = `import { tmpdir } from "node:os";
export default function () {
  return { names: Object.keys(process.env), uid: process.getuid(), tmp: tmpdir() };
}
`;

let site: ApacheCgiSite;

t.before(async () => {
  if (missing) return;
  site = await startApacheCgiSite(scripts.pathname);
  writeFileSync(join(site.root, "process-view.ts"), PROCESS_VIEW);
});
t.teardown(() => site?.stop());

const get = async (path: string, init?: RequestInit) => {
  const res = await fetch(`${site.url}${path}`, { ...init, signal: AbortSignal.timeout(60_000) });
  return { status: res.status, text: await res.text() };
};

t.test("a script answers under /app, with SCRIPT_NAME and PATH_INFO right", { skip: missing }, async (t) => {
  t.same(await get("/app/hello?name=Ada"), { status: 200, text: "Hello, Ada" });
  const env = await get("/app/env/a/b%20c?q=1");
  t.equal(env.status, 200, "answered", { logs: site.logs() });
  const vars = JSON.parse(env.text) as Record<string, string>;
  t.equal(vars.SCRIPT_NAME, "/app/env");
  t.equal(vars.PATH_INFO, "/a/b c");
  t.equal(vars.QUERY_STRING, "q=1");
});

t.test("a POST body reaches the script whole", { skip: missing }, async (t) => {
  const body = new Uint8Array(1024 * 1024).map((_, i) => (i * 31) % 251);
  const res = await get("/app/echo", { method: "POST", body, headers: { "content-type": "application/octet-stream" } });
  t.equal(res.status, 200, "answered", { logs: site.logs() });
  t.match(JSON.parse(res.text), { method: "POST", bytes: body.byteLength, sha256: createHash("sha256").update(body).digest("hex") });
});

t.test("a missing script is a 404, a private path is refused", { skip: missing }, async (t) => {
  t.equal((await get("/app/nope")).status, 404);
  const secret = await get("/app/_private/secret");
  t.equal(secret.status, 403);
  t.notMatch(secret.text, /SECRET/);
});

t.test("the request is never in process.env", { skip: missing }, async (t) => {
  const res = await get("/app/process-view/x?q=1", { headers: { Proxy: "http://evil.example", "X-Token": "t0k3n" } });
  t.equal(res.status, 200, "answered", { logs: site.logs() });
  const names = (JSON.parse(res.text) as { names: string[] }).names;
  const leaked = names.filter((n) =>
    /^(HTTP_|QUERY_STRING$|REQUEST_|SCRIPT_|SERVER_|REMOTE_|CONTENT_|PATH_INFO$|PATH_TRANSLATED$|DOCUMENT_|GATEWAY_|CONTEXT_|TSCGI_)/.test(
      n,
    ),
  );
  t.same(leaked, [], `process.env names: ${names.join(" ")}`);
});

t.test("a compiled script is read from cgi_cache_dir, and an edit is compiled anew", { skip: missing }, async (t) => {
  const view = JSON.parse((await get("/app/process-view")).text) as { uid: number; tmp: string };
  const cacheDir = join(view.tmp, `tscgi-cgi-${view.uid}`);
  const before = new Set(readdirSync(cacheDir));
  writeFileSync(join(site.root, "cached.ts"), 'export default () => "compiled";\n');
  t.same(await get("/app/cached"), { status: 200, text: "compiled" });
  const added = readdirSync(cacheDir).filter((name) => !before.has(name));
  t.equal(added.length, 1, "one file kept for the one script");
  // Only a request that reads the kept file can answer this: nothing compiles it.
  writeFileSync(join(cacheDir, added[0]), 'exports.__esModule = true;\nexports.default = () => "from the cache";\n');
  t.same(await get("/app/cached"), { status: 200, text: "from the cache" }, "the next request does not compile");
  writeFileSync(join(site.root, "cached.ts"), 'export default () => "edited";\n');
  t.same(await get("/app/cached"), { status: 200, text: "edited" }, "an edit is a new key");
});
