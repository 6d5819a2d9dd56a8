// The Nunjucks renderer: Jinja2's features, errors that name the template file:line:column where the
// fault is (also through extends and include), refusals, and hot reload from the directory watcher.
import t from "tap";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NunjucksTemplates, TemplateError, TemplateNotFoundError } from "../../src/server/templates.ts";
import { TemplateNameError } from "../../src/runtime/templates.ts";

/** Event-loop turns given to the watcher to report an edit: a bound on a count, not on the clock. */
const WATCH_TURNS = 2000;

const work = mkdtempSync(join(tmpdir(), "tscgi-templates-unit-"));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const dir = join(work, "templates");

function write(files: Record<string, string>, base = dir): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(base, name, ".."), { recursive: true });
    writeFileSync(join(base, name), text);
  }
}

write({
  "layout.njk": "[{% block body %}default{% endblock %}]",
  "page.njk": '{% extends "layout.njk" %}{% block body %}{{ super() }} {{ name | title }}{% endblock %}',
  "macros.njk": "{% macro tag(name) %}<{{ name }}>{% endmacro %}",
  "uses-macro.njk": '{% import "macros.njk" as m %}{{ m.tag(what) }}',
  "loop.njk": "{% for r in rows %}{{ loop.index }}={{ r.name | escape }};{% endfor %}{{ rows | length }}",
  "safe.njk": "{{ trusted | safe }} {{ untrusted }}",
  "ignore.njk": 'a{% include "absent.njk" ignore missing %}b',
  // Faults, each on a known line and column.
  "syntax.njk": "ok\nok\n{% for x in y %}\n{% endif %}\n",
  "eof.njk": "ok\n{% if x %}\nstill open\n",
  "filter.njk": 'ok\n  {{ missing | join(", ") }}\n',
  "unknown-filter.njk": "ok\n\n{{ x | nosuchfilter }}\n",
  "call.njk": "ok\n{{ nothing() }}\n",
  "include-missing.njk": 'ok\nok\n{% include "absent.njk" %}\n',
  "include-refused.njk": 'ok\n{% include "../outside.njk" %}\n',
  "includes-broken.njk": 'top\n{% include "filter.njk" %}\n',
  "extends-broken.njk": '{% extends "layout.njk" %}\n{% block body %}\n\n{{ missing | join(",") }}{% endblock %}\n',
});
write({ "outside.njk": "SECRET" }, work);

const templates = new NunjucksTemplates({ dir });
t.teardown(() => templates.close());

t.test("inheritance, super(), macros, loops and filters work as in Jinja2, with autoescape", async (t) => {
  t.equal(templates.render("page.njk", { name: "ada <lovelace>" }), "[default Ada &lt;lovelace&gt;]");
  t.equal(templates.render("uses-macro.njk", { what: "b" }), "<b>");
  t.equal(templates.render("loop.njk", { rows: [{ name: "<a>" }, { name: "b&c" }] }), "1=&lt;a&gt;;2=b&amp;c;2");
  t.equal(templates.render("safe.njk", { trusted: "<i>ok</i>", untrusted: "<i>no</i>" }), "<i>ok</i> &lt;i&gt;no&lt;/i&gt;");
  t.equal(templates.render("ignore.njk", {}), "ab", "include ... ignore missing");
});

t.test("an error names the template file:line:column where the fault is", async (t) => {
  const faults: Array<[string, string, number, number | null, RegExp]> = [
    ["syntax.njk", "syntax.njk", 4, 4, /unknown block tag: endif/],
    ["eof.njk", "eof.njk", 3, null, /expected elif, else, or endif, got end of file/],
    ["filter.njk", "filter.njk", 2, null, /TypeError/],
    ["unknown-filter.njk", "unknown-filter.njk", 3, null, /filter not found: nosuchfilter/],
    ["call.njk", "call.njk", 2, null, /Unable to call `nothing`/],
    ["include-missing.njk", "include-missing.njk", 3, null, /template "absent\.njk" not found in .*templates: no such file/],
    ["include-refused.njk", "include-refused.njk", 2, null, /template name "\.\.\/outside\.njk" is refused/],
    ["includes-broken.njk", "filter.njk", 2, null, /TypeError/],
    ["extends-broken.njk", "extends-broken.njk", 4, null, /TypeError/],
  ];
  for (const [name, file, line, column, message] of faults) {
    const error = t.throws(() => templates.render(name, {}), TemplateError, name) as unknown as TemplateError;
    t.equal(error.code, "TSCGI_E_SERVER_TEMPLATE");
    t.equal(error.file, join(dir, file), `${name}: the file`);
    t.equal(error.line, line, `${name}: the line`);
    if (column !== null) t.equal(error.column, column, `${name}: the column`);
    t.match(error.message, new RegExp(`^template \\S*templates/${file.replace(".", "\\.")}:${line}:\\d+: `));
    t.match(error.message, message);
    t.notMatch(error.message, "SECRET");
  }
  t.equal(templates.render("page.njk", { name: "x" }), "[default X]", "the next render works");
});

t.test("a missing template or directory is TSCGI_E_SERVER_TEMPLATE_NOT_FOUND; a refused name TSCGI_E_API_TEMPLATE_NAME", async (t) => {
  const missing = t.throws(() => templates.render("absent.njk", {}), TemplateNotFoundError) as unknown as TemplateNotFoundError;
  t.match(missing.message, /template "absent\.njk" not found in \S*templates: no such file/);
  const nowhere = new NunjucksTemplates({ dir: join(work, "nowhere"), watch: false });
  t.throws(() => nowhere.render("page.njk", {}), {
    code: "TSCGI_E_SERVER_TEMPLATE_NOT_FOUND",
    message: /the templates directory does not exist/,
  });
  t.throws(() => templates.render("../outside.njk", {}), TemplateNameError);
});

t.test("escaping, loop variables and set scoping render as unchanged Nunjucks 3.2 renders them", async (t) => {
  // Expected texts were rendered by Nunjucks without tscgi's speed-ups (src/server/nunjucks-patches.ts).
  write({
    "same-esc.njk": "{{ s }}|{{ s | escape }}|{{ s | safe }}|{{ n }}|{{ s | e | upper }}",
    "same-loop.njk":
      "{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}:" +
      "{% for y in xs %}{{ loop.index }}{% endfor %};{% endfor %}",
    "same-set.njk":
      "{% set x = 1 %}{% for i in xs %}{% set x = i %}{% set y = i %}{% endfor %}{{ x }}{{ y }}{% if true %}{% set x = 9 %}{% endif %}{{ x }}" +
      "{% macro m(a) %}{% set x = a %}{{ x }}{% endmacro %}{{ m(5) }}{{ x }}",
    "same-dict.njk": "{% for k, v in d %}{{ k }}={{ v }};{% else %}none{% endfor %}{% set z %}<b>{{ s }}</b>{% endset %}{{ z }}",
  });
  const data = { s: `a&b"c'd<e>f\\g`, n: 42, xs: [1, 2, 3], d: { a: 1, "<b>": "&" } };
  t.equal(
    templates.render("same-esc.njk", data),
    "a&amp;b&quot;c&#39;d&lt;e&gt;f&#92;g|a&amp;b&quot;c&#39;d&lt;e&gt;f&#92;g|a&b\"c'd<e>f\\g|42|A&amp;AMP;B&amp;QUOT;C&amp;#39;D&amp;LT;E&amp;GT;F&amp;#92;G",
  );
  t.equal(templates.render("same-loop.njk", data), "1032truefalse3:123;2121falsefalse3:123;3210falsetrue3:123;");
  t.equal(templates.render("same-set.njk", data), "3959");
  t.equal(
    templates.render("same-dict.njk", data),
    "a=1;&lt;b&gt;=&amp;;&lt;b&gt;a&amp;amp;b&amp;quot;c&amp;#39;d&amp;lt;e&amp;gt;f&amp;#92;g&lt;/b&gt;",
  );
});

/** Renders `name` until the answer is not `old`, turning the event loop between tries; the answer. */
async function changed(renderer: NunjucksTemplates, name: string, old: string): Promise<string> {
  let text = old;
  for (let i = 0; i < WATCH_TURNS && text === old; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    try {
      text = renderer.render(name, {});
    } catch (error) {
      text = (error as Error).message;
    }
  }
  return text;
}

t.test("an edit is seen through the watcher, by the template and by templates that extend it", async (t) => {
  write({
    "hot.njk": "one",
    "hot-child.njk": '{% extends "hot-layout.njk" %}{% block b %}child{% endblock %}',
    "hot-layout.njk": "L1 {% block b %}{% endblock %}",
  });
  t.equal(await changed(templates, "hot.njk", ""), "one");
  t.equal(await changed(templates, "hot-child.njk", ""), "L1 child");
  write({ "hot.njk": "two" });
  t.equal(await changed(templates, "hot.njk", "one"), "two");
  write({ "hot-layout.njk": "L2 {% block b %}{% endblock %}" });
  t.equal(await changed(templates, "hot-child.njk", "L1 child"), "L2 child");
});

t.test("a templates directory created after the first render is watched from then on", async (t) => {
  const later = join(work, "later");
  const renderer = new NunjucksTemplates({ dir: later });
  t.teardown(() => renderer.close());
  t.throws(() => renderer.render("a.njk", {}), { message: /the templates directory does not exist/ });
  write({ "a.njk": "first" }, later);
  t.equal(await changed(renderer, "a.njk", ""), "first");
  write({ "a.njk": "second" }, later);
  t.equal(await changed(renderer, "a.njk", "first"), "second");
});
