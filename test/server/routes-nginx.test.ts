// Routes through a real nginx: per-method exports with HEAD/OPTIONS/405, [param] values, traversal through a [param].
import t from "tap";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { nginxMissing, startNginx, type Nginx } from "../helpers/nginx.ts";
import { startTscgi, type TscgiProcess } from "../helpers/tscgi.ts";

const missing = nginxMissing();
if (missing) {
  t.pass("skipped: " + missing);
  t.end();
} else {
  const work = mkdtempSync(join(tmpdir(), "tscgi-routes-"));
  const root = join(work, "cgi-bin");
  const files: Record<string, string> = {
    "items.ts": [
      "export function GET(cgi) { return 'list ' + cgi.env.REQUEST_METHOD; }",
      "export async function POST(cgi) { cgi.status(201); return 'created ' + (await cgi.request.text()); }",
      "export function DELETE() { return new Response(null, { status: 204 }); }",
    ].join("\n"),
    "mixed.ts": ["export function POST() { return 'post'; }", "export default (cgi) => 'default ' + cgi.env.REQUEST_METHOD;"].join("\n"),
    "own-options.ts":
      "export function GET() { return 'g'; }\nexport function OPTIONS() { return new Response('mine', { headers: { Allow: 'GET' } }); }",
    "users/[id].ts": "export default (cgi) => JSON.stringify(cgi.params) + ' ' + cgi.env.SCRIPT_NAME + ' ' + cgi.env.PATH_INFO;",
    "users/me.ts": "export default () => 'me';",
    "docs/[...path].ts": "export function GET(cgi) { return 'doc ' + cgi.params.path; }",
    "_lib/secret.ts": "export default () => 'SECRET';",
  };
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), text + "\n");
  }
  mkdirSync(join(work, "outside"));
  writeFileSync(join(work, "outside", "evil.ts"), "export default () => 'SECRET outside';\n");
  symlinkSync(join(work, "outside"), join(root, "users", "[dir]"));

  let tscgi: TscgiProcess;
  let nginx: Nginx;
  t.before(async () => {
    tscgi = await startTscgi(["--root", root, "--workers", "1"]);
    nginx = await startNginx(`127.0.0.1:${tscgi.fastcgiPort}`);
  });
  t.teardown(async () => {
    await nginx?.stop();
    await tscgi?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** A raw request: the path goes to nginx exactly as written. */
  const raw = (method: string, path: string, body?: string) =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port: nginx.port, method, path }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(body);
    });

  t.test("per-method exports: each method its own, HEAD from GET, OPTIONS and 405 with Allow", async (t) => {
    const get = await raw("GET", "/items");
    t.same([get.status, get.body], [200, "list GET"]);
    const post = await raw("POST", "/items", "x=1");
    t.same([post.status, post.body], [201, "created x=1"]);
    t.equal((await raw("DELETE", "/items")).status, 204);
    const head = await raw("HEAD", "/items");
    t.same([head.status, head.body], [200, ""], "HEAD runs GET and sends no body");
    const options = await raw("OPTIONS", "/items");
    t.same([options.status, options.headers.allow, options.body], [204, "GET, HEAD, POST, DELETE, OPTIONS", ""]);
    const put = await raw("PUT", "/items", "y");
    t.same([put.status, put.headers.allow, put.body], [405, "GET, HEAD, POST, DELETE, OPTIONS", "405 Method Not Allowed\n"]);
    t.equal((await raw("PATCH", "/items")).status, 405);
  });

  t.test("the default export answers the methods without an export of their own", async (t) => {
    t.equal((await raw("POST", "/mixed")).body, "post");
    t.equal((await raw("GET", "/mixed")).body, "default GET");
    t.equal((await raw("PUT", "/mixed")).body, "default PUT");
    t.equal((await raw("OPTIONS", "/own-options")).body, "mine");
  });

  t.test("[id] and [...path] give cgi.params; static beats dynamic", async (t) => {
    t.equal((await raw("GET", "/users/42")).body, '{"id":"42"} /users/42 ');
    t.equal((await raw("GET", "/users/42/more")).body, '{"id":"42"} /users/42 /more');
    t.equal((await raw("GET", "/users/ada%20lovelace")).body, '{"id":"ada lovelace"} /users/ada lovelace ');
    t.equal((await raw("GET", "/users/me")).body, "me");
    t.equal((await raw("GET", "/docs/a/b/c")).body, "doc a/b/c");
    t.equal((await raw("HEAD", "/docs/a")).status, 200);
    t.equal((await raw("POST", "/docs/a")).status, 405);
  });

  t.test("traversal through a [param] is refused", async (t) => {
    const attempts: Array<[string, number[]]> = [
      ["/users/..%2f_lib%2fsecret", [400]],
      ["/users/..%2F..%2Fetc%2Fpasswd", [400]],
      ["/users/x%5c..%5csecret", [400]],
      ["/users/x%00", [400]],
      ["/docs/a%2f..%2f..%2f_lib/secret", [400]],
      ["/users/_lib", [404]],
      ["/users/.env", [404]],
      ["/users/node_modules", [404]],
      ["/docs/_lib/secret", [404]],
      ["/docs/x/node_modules/y", [404]],
      ["/users/x/evil", [200]],
    ];
    for (const [path, statuses] of attempts) {
      const res = await raw("GET", path);
      t.ok(statuses.includes(res.status), `${path}: ${res.status}`);
      t.notMatch(res.body, /SECRET/, `${path} reveals nothing`);
    }
    // nginx resolves dot segments itself; what reaches tscgi must still stay in the root.
    for (const path of ["/users/../_lib/secret", "/docs/a/../../_lib/secret", "/users/%2e%2e/_lib/secret"]) {
      const res = await raw("GET", path);
      t.notMatch(res.body, /SECRET/, `${path}: ${res.status}`);
    }
  });
}
