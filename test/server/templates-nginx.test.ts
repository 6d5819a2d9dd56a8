// cgi.render() through a real nginx: Nunjucks templates autoescaped, inheritance, include, macro and
// filters as in Jinja2, an edit live on the next request, errors naming file:line, refused names.
import t from "tap";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nginxMissing, startNginx, type Nginx } from "../helpers/nginx.ts";
import { startTscgi, type TscgiProcess } from "../helpers/tscgi.ts";

/** Requests made at most while waiting for an edit to show: a bound, not a wait by the clock. */
const EDIT_TRIES = 200;

function write(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

const missing = nginxMissing();
if (missing) {
  t.pass("skipped: " + missing);
  t.end();
} else {
  const work = mkdtempSync(join(tmpdir(), "tscgi-templates-"));
  const root = join(work, "cgi-bin");
  // Inside the root, to show that it is never served from there.
  const templates = join(root, "views");
  write(root, {
    "page.ts": [
      'import type { Cgi } from "tscgi";',
      "export default (cgi: Cgi) =>",
      '  cgi.render("page.njk", { title: cgi.query.get("title") ?? "Home", name: cgi.query.get("name") ?? "world", rows: ["a", "b"] });',
    ].join("\n"),
    "embed.ts": [
      'import { html, type Cgi } from "tscgi";',
      'export default (cgi: Cgi) => html`<main>${cgi.render("partials/nav.njk", { name: cgi.query.get("name") })}</main>`;',
    ].join("\n"),
    "named.ts": 'import type { Cgi } from "tscgi";\nexport default (cgi: Cgi) => cgi.render(cgi.query.get("t") ?? "", {});\n',
  });
  write(templates, {
    "layout.njk": "<title>{% block title %}{% endblock %}</title>\n<body>{% block body %}{% endblock %}</body>\n",
    "page.njk": [
      '{% extends "layout.njk" %}',
      '{% from "macros.njk" import item %}',
      "{% block title %}{{ title }}{% endblock %}",
      '{% block body %}{% include "partials/nav.njk" %}',
      "<p>{{ name | upper }}</p><ul>{% for r in rows %}{{ item(r) }}{% endfor %}</ul>{{ rows | length }} rows{% endblock %}",
    ].join("\n"),
    "macros.njk": "{% macro item(text) %}<li>{{ text }}</li>{% endmacro %}\n",
    "partials/nav.njk": "<nav>{{ name }}</nav>",
    "edited.njk": "version 1",
    "child.njk": '{% extends "edited-layout.njk" %}{% block b %}child{% endblock %}',
    "edited-layout.njk": "layout 1 {% block b %}{% endblock %}",
    "broken.njk": "<p>fine</p>\n<p>{% if x %}\n{% endfor %}\n",
    "throws.njk": '<p>fine</p>\n<p>{{ missing | join(", ") }}</p>\n',
    "evil.ts": 'export default () => "SECRET from the templates directory";\n',
    "index.ts": 'export default () => "SECRET index of the templates directory";\n',
  });
  const outside = join(work, "outside.njk");
  writeFileSync(outside, "SECRET outside");

  let tscgi: TscgiProcess;
  let nginx: Nginx;
  t.before(async () => {
    tscgi = await startTscgi(["--root", root, "--templates", templates, "--workers", "1"]);
    nginx = await startNginx(`127.0.0.1:${tscgi.fastcgiPort}`);
  });
  t.teardown(async () => {
    await nginx?.stop();
    await tscgi?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const get = async (path: string) => {
    const res = await fetch(nginx.url + path);
    return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
  };

  t.test("a page extends a layout, includes a partial, calls a macro and filters; every value escaped", async (t) => {
    const evil = `<script>alert("x")</script>`;
    const res = await get(`/page?title=${encodeURIComponent(evil)}&name=${encodeURIComponent(evil)}`);
    t.equal(res.status, 200);
    t.match(res.type, /^text\/html; charset=utf-8/);
    const esc = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;";
    t.equal(
      res.text,
      `<title>${esc}</title>\n<body><nav>${esc}</nav>\n` +
        "<p>&lt;SCRIPT&gt;ALERT(&quot;X&quot;)&lt;/SCRIPT&gt;</p><ul><li>a</li><li>b</li></ul>2 rows</body>\n",
    );
    t.notMatch(res.text, "<script>");
  });

  t.test("a rendered template is Html: html`` embeds it as it is", async (t) => {
    const res = await get(`/embed?name=${encodeURIComponent("<b>")}`);
    t.equal(res.text, "<main><nav>&lt;b&gt;</nav></main>");
  });

  /** Requests `path` until it answers 200 with other than `old`, at most EDIT_TRIES times; the last answer. */
  const changed = async (path: string, old: string) => {
    let res = { status: 0, text: old };
    for (let i = 0; i < EDIT_TRIES && (res.status !== 200 || res.text === old); i++) res = await get(path);
    return res.text;
  };

  t.test("an edited template, and a template extending an edited one, are live on the next request", async (t) => {
    t.equal((await get("/named?t=edited.njk")).text, "version 1");
    t.equal((await get("/named?t=child.njk")).text, "layout 1 child");
    writeFileSync(join(templates, "edited.njk"), "version 2");
    t.equal(await changed("/named?t=edited.njk", "version 1"), "version 2");
    writeFileSync(join(templates, "edited-layout.njk"), "layout 2 {% block b %}{% endblock %}");
    t.equal(await changed("/named?t=child.njk", "layout 1 child"), "layout 2 child");
  });

  t.test("a template error names the template file and line, answers 500, and the next request works", async (t) => {
    const broken = await get("/named?t=broken.njk");
    t.equal(broken.status, 500);
    t.notMatch(broken.text, "endfor", "the visitor is not shown the fault");
    await tscgi.waitFor(/template \S*views\/broken\.njk:3:4: unknown block tag: endfor \[TSCGI_E_SERVER_TEMPLATE\]/);

    const throws = await get("/named?t=throws.njk");
    t.equal(throws.status, 500);
    await tscgi.waitFor(/template \S*views\/throws\.njk:2:\d+: TypeError: .*\[TSCGI_E_SERVER_TEMPLATE\]/);

    t.equal((await get("/page?name=after")).status, 200, "the next request works");
    writeFileSync(join(templates, "broken.njk"), "<p>fixed</p>\n");
    t.equal(await changed("/named?t=broken.njk", ""), "<p>fixed</p>\n");
  });

  t.test("template names cannot leave the templates directory", async (t) => {
    for (const name of [
      "../page.ts",
      "../../outside.njk",
      outside,
      "partials/../../page.ts",
      "./page.njk",
      "a//b.njk",
      "partials\\nav.njk",
      "x\0.njk",
    ]) {
      const res = await get(`/named?t=${encodeURIComponent(name)}`);
      t.equal(res.status, 500, JSON.stringify(name));
      t.notMatch(res.text, "SECRET");
    }
    await tscgi.waitFor((out) => (out.match(/TSCGI_E_API_TEMPLATE_NAME/g) ?? []).length >= 8);
    t.match(tscgi.output(), /template name "\.\.\/\.\.\/outside\.njk" is refused: it contains a "\.\." segment/);
    t.match(tscgi.output(), /it is an absolute path/);
    t.match(tscgi.output(), /it contains a backslash/);
    t.match(tscgi.output(), /it contains a NUL byte/);
  });

  t.test("the templates directory is never served, even inside the root", async (t) => {
    for (const path of ["/views/evil", "/views/evil.ts", "/views/", "/views/index", "/views/page.njk"]) {
      const res = await get(path);
      t.equal(res.status, 404, path);
      t.notMatch(res.text, "SECRET");
    }
  });
}
