// Through a real nginx and real tscgi processes: forms, cookies, sessions, redirects, HttpError,
// error pages, a broken save serving its last good version, and every sample escaping <script>.
import t from "tap";
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nginxMissing, startNginx, type Nginx } from "../helpers/nginx.ts";
import { repo, startTscgi, type TscgiProcess } from "../helpers/tscgi.ts";

const SECRET = "a-cookie-secret-long-enough-to-resist-guessing";

const SCRIPTS: Record<string, string> = {
  "location.ts": 'import type { Cgi } from "tscgi";\nexport default (cgi: Cgi) => { cgi.header("Location", "/there"); };\n',
  "redirect.ts": 'import type { Cgi } from "tscgi";\nexport default (cgi: Cgi) => cgi.redirect("/x");\n',
  "method.ts": [
    'import { HttpError, type Cgi } from "tscgi";',
    "export default (cgi: Cgi) => {",
    '  cgi.header("X-Before", "kept");',
    '  if (cgi.env.REQUEST_METHOD !== "GET") throw new HttpError(405, undefined, { headers: { Allow: "GET, HEAD" } });',
    '  return "got";',
    "};",
    "",
  ].join("\n"),
  "boom.ts": 'export default () => {\n  const detail = "internal detail";\n  throw new Error("boom: " + detail);\n};\n',
  "_404.ts":
    'import { html, type Cgi, type ErrorPageInfo } from "tscgi";\nexport default (cgi: Cgi, e: ErrorPageInfo) => html`<h1>custom ${e.status}</h1>`;\n',
  "nested.ts": 'import type { Cgi } from "tscgi";\nexport default async (cgi: Cgi) => (await cgi.form()).nested();\n',
  "cookies.ts": [
    'import type { Cgi } from "tscgi";',
    "export default async (cgi: Cgi) => {",
    '  if (cgi.query.has("set")) {',
    '    cgi.setCookie("plain", "a b", { maxAge: 60, path: "/app" });',
    '    cgi.setCookie("s", "who=ada", { signed: true });',
    '    cgi.deleteCookie("old");',
    "  }",
    '  return { plain: cgi.cookies.get("plain") ?? null, signed: (await cgi.signedCookie("s")) ?? null };',
    "};",
    "",
  ].join("\n"),
  "count.ts": [
    'import type { Cgi } from "tscgi";',
    "export default async (cgi: Cgi) => {",
    "  const s = await cgi.session<{ n: number }>();",
    '  const n = (s.get("n") ?? 0) + 1;',
    // A pause between read and write: two requests of one session overlapping here would lose a count.
    '  if (cgi.query.has("slow")) await new Promise((resolve) => setTimeout(resolve, 150));',
    '  s.set("n", n);',
    '  if (cgi.query.has("regenerate")) s.regenerate();',
    "  return { n, pid: process.pid };",
    "};",
    "",
  ].join("\n"),
  "page.ts": "export default () => 'page v1';\n",
};

interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

async function get(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, { redirect: "manual", ...init });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** The `name=value` of each Set-Cookie. */
function cookiePairs(headers: Headers): string {
  return headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
}

const missing = nginxMissing();
if (missing) {
  t.pass("skipped: " + missing);
} else {
  const work = mkdtempSync(join(tmpdir(), "tscgi-toolkit-"));
  const root = join(work, "cgi-bin");
  cpSync(join(repo, "cgi-bin"), root, { recursive: true });
  for (const [name, text] of Object.entries(SCRIPTS)) writeFileSync(join(root, name), text);
  const common = ["--root", root, "--cookie-secret", SECRET, "--session-save-path", join(work, "sessions")];
  const started: Array<{ stop(): Promise<unknown> }> = [];
  t.teardown(async () => {
    for (const s of started.reverse()) await s.stop();
    rmSync(work, { recursive: true, force: true });
  });
  async function front(args: string[]): Promise<{ tscgi: TscgiProcess; nginx: Nginx }> {
    const tscgi = await startTscgi([...common, ...args]);
    started.push(tscgi);
    const nginx = await startNginx(`127.0.0.1:${tscgi.fastcgiPort}`);
    started.push(nginx);
    return { tscgi, nginx };
  }

  let prod: { tscgi: TscgiProcess; nginx: Nginx };
  t.before(async () => {
    prod = await front(["--workers", "1", "--status-path", "/status", "--upload-tmp-dir", join(work, "uploads")]);
  });

  t.test("every sample escapes <script> from the request", async (t) => {
    const attack = "<script>alert(1)</script>";
    const q = encodeURIComponent(attack);
    const samples = readdirSync(join(repo, "cgi-bin")).filter((f) => f.endsWith(".ts"));
    t.ok(samples.length >= 5);
    for (const file of samples) {
      const name = file.replace(/\.ts$/, "");
      const path = name === "index" ? "/" : `/${name}`;
      const answers = [
        await get(`${prod.nginx.url}${path}?name=${q}&message=${q}`),
        await get(`${prod.nginx.url}${path}?name=${q}`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: `name=${q}&message=${q}`,
        }),
      ];
      if (name !== "index") answers.push(await get(`${prod.nginx.url}${path}/${q}?${q}`));
      for (const a of answers) {
        t.not(a.status, 500, `${file} answers`);
        t.notOk(a.body.includes("<script>"), `${file}: no raw <script> in ${a.headers.get("content-type")}`);
      }
    }
    const hello = await get(`${prod.nginx.url}/hello?name=${q}`);
    t.equal(hello.body, "Hello, &lt;script&gt;alert(1)&lt;/script&gt;");
  });

  t.test("a Location with no status answers 302; cgi.redirect('/x') too", async (t) => {
    const location = await get(`${prod.nginx.url}/location`);
    t.equal(location.status, 302);
    t.equal(location.headers.get("location"), "/there");
    const redirect = await get(`${prod.nginx.url}/redirect`);
    t.equal(redirect.status, 302);
    t.equal(redirect.headers.get("location"), "/x");
  });

  t.test("HttpError with Allow keeps the headers set before it", async (t) => {
    const a = await get(`${prod.nginx.url}/method`, { method: "DELETE" });
    t.equal(a.status, 405);
    t.equal(a.headers.get("allow"), "GET, HEAD");
    t.equal(a.headers.get("x-before"), "kept");
    t.equal((await get(`${prod.nginx.url}/method`)).body, "got");
  });

  t.test("production 500: a request id on the page and in the log line, no detail", async (t) => {
    const a = await get(`${prod.nginx.url}/boom`);
    t.equal(a.status, 500);
    const id = /request id: (\S+)/.exec(a.body)?.[1];
    t.ok(id, a.body);
    t.notMatch(a.body, /boom\.ts|internal detail/);
    await prod.tscgi.waitFor(`[request id ${id}]`);
    t.match(prod.tscgi.output(), new RegExp(`boom\\.ts:3.*\\[request id ${id}\\]`));
  });

  t.test("_404.ts renders the 404 page and is not routable itself", async (t) => {
    const a = await get(`${prod.nginx.url}/no-such-page`);
    t.equal(a.status, 404);
    t.equal(a.body, "<h1>custom 404</h1>");
    t.equal((await get(`${prod.nginx.url}/_404`)).status, 404);
  });

  t.test("a[] fields arrive as an array, u[name] as an object", async (t) => {
    const a = await get(`${prod.nginx.url}/nested`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "a[]=1&a[]=2&u[name]=ada",
    });
    t.same(JSON.parse(a.body), { a: ["1", "2"], u: { name: "ada" } });
    const form = new FormData();
    form.append("a[]", "x");
    form.append("a[]", "y");
    const m = await get(`${prod.nginx.url}/nested`, { method: "POST", body: form });
    t.same(JSON.parse(m.body), { a: ["x", "y"] });
  });

  t.test("cookie attributes on the wire; a tampered signed cookie is refused", async (t) => {
    const a = await get(`${prod.nginx.url}/cookies?set`);
    const set = new Map(a.headers.getSetCookie().map((c) => [c.slice(0, c.indexOf("=")), c]));
    t.match(set.get("plain"), /^plain=a%20b; Max-Age=60; Path=\/app; HttpOnly; SameSite=Lax$/);
    t.match(set.get("s"), /^s=who%3Dada\.[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
    t.match(set.get("old"), /^old=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=\//);
    const signed = set.get("s")!.split(";")[0];
    const good = await get(`${prod.nginx.url}/cookies`, { headers: { cookie: `plain=a%20b; ${signed}` } });
    t.same(JSON.parse(good.body), { plain: "a b", signed: "who=ada" });
    const tampered = signed.replace("who%3Dada", "who%3Deve");
    const bad = await get(`${prod.nginx.url}/cookies`, { headers: { cookie: tampered } });
    t.same(JSON.parse(bad.body), { plain: null, signed: null });
  });

  t.test("a broken save keeps the last good version answering; the status page names it", async (t) => {
    t.equal((await get(`${prod.nginx.url}/page`)).body, "page v1");
    writeFileSync(join(root, "page.ts"), "export default () => 'page v2' +;\n");
    // The worker learns of the edit from its watcher; each request meanwhile must still get v1.
    // Bounded: stop at the log line that says the broken edit was compiled and refused.
    for (let i = 0; i < 500 && !prod.tscgi.output().includes("the last good version of page.ts"); i++) {
      const a = await get(`${prod.nginx.url}/page`);
      t.equal(a.status, 200);
      t.equal(a.body, "page v1");
    }
    await prod.tscgi.waitFor("the last good version of page.ts keeps answering", 1000);
    t.equal((await get(`${prod.nginx.url}/page`)).body, "page v1", "after the broken edit was seen");
    t.match(prod.tscgi.output(), /page\.ts:1:\d+: .*the last good version of page\.ts keeps answering until the file compiles/);
    const status = JSON.parse((await get(`${prod.nginx.url}/status?json`)).body) as { "broken scripts": unknown[] };
    t.match(status["broken scripts"], [{ file: "page.ts", line: 1, "last good": ["page.ts"] }]);
    t.match((await get(`${prod.nginx.url}/status`)).body, /broken script: +page\.ts:1:\d+ .*\(last good version answers page\.ts\)/);
    writeFileSync(join(root, "page.ts"), "export default () => 'page v3';\n");
  });

  t.test("display_errors: the development page shows file:line and the escaped request", async (t) => {
    const dev = await front(["--workers", "1", "--display-errors", "yes"]);
    const a = await get(`${dev.nginx.url}/boom`, { headers: { "x-probe": "<script>alert(1)</script>" } });
    t.equal(a.status, 500);
    t.match(a.body, /boom\.ts:3:\d+/);
    t.match(a.body, /internal detail/);
    t.match(a.body, /HTTP_X_PROBE<\/th><td>&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    t.notOk(a.body.includes("<script>"));
    // A file that does not compile: the page shows the compiler's file:line, not a last good version.
    writeFileSync(join(root, "typo.ts"), "export default () => {\n  return 'x' +;\n};\n");
    const typo = await get(`${dev.nginx.url}/typo`);
    t.equal(typo.status, 500);
    t.match(typo.body, /TSCGI_E_SCRIPT_COMPILE/);
    t.match(typo.body, /typo\.ts:2:\d+/);
  });

  t.test("sessions in files: a round trip, concurrent requests serialised across two workers, regenerate", async (t) => {
    // ondemand: the master hands each new connection to an idle worker (or starts one), so
    // concurrent requests reach both; a static pool leaves the spread to the kernel's accept.
    const two = await front(["--workers", "2", "--pm", "ondemand"]);
    const first = await get(`${two.nginx.url}/count`);
    t.equal(JSON.parse(first.body).n, 1);
    const cookie = cookiePairs(first.headers);
    t.match(cookie, /^TSCGISESSID=/);
    // Four at a time, so nginx opens connections the master spreads over both workers; bounded.
    const pids = new Set<number>();
    const counts: number[] = [];
    for (let round = 0; round < 15 && pids.size < 2; round++) {
      const batch = await Promise.all([1, 2, 3, 4].map(() => get(`${two.nginx.url}/count?slow`, { headers: { cookie } })));
      for (const a of batch) {
        const { n, pid } = JSON.parse(a.body) as { n: number; pid: number };
        counts.push(n);
        pids.add(pid);
      }
    }
    t.equal(pids.size, 2, "both workers saw the session");
    // Each request read and wrote the session in turn (a lost update would repeat a count).
    t.same(
      counts.sort((x, y) => x - y),
      counts.map((_, i) => i + 2),
    );
    const before = JSON.parse((await get(`${two.nginx.url}/count`, { headers: { cookie } })).body).n as number;
    const regenerated = await get(`${two.nginx.url}/count?regenerate`, { headers: { cookie } });
    const fresh = cookiePairs(regenerated.headers);
    t.not(fresh, cookie, "a new id");
    t.equal(JSON.parse((await get(`${two.nginx.url}/count`, { headers: { cookie: fresh } })).body).n, before + 2, "data kept");
    t.equal(JSON.parse((await get(`${two.nginx.url}/count`, { headers: { cookie } })).body).n, 1, "the old id is gone");
  });
}
