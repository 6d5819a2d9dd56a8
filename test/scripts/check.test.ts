// `tscgi check`: a type error is printed as file:line and fails the command, as do route conflicts; stray files are listed.
import t from "tap";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { bin } from "../helpers/tscgi.ts";

/** A site outside the repository (no tsconfig.json above it), so the built-in settings apply. */
function site(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "tscgi-check-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, "cgi-bin", name)), { recursive: true });
    writeFileSync(join(dir, "cgi-bin", name), text);
  }
  return dir;
}

const check = (dir: string) => spawnSync(process.execPath, [bin, "check", "--root", "cgi-bin"], { cwd: dir, encoding: "utf8" });

const good = {
  "index.ts":
    'import type { Cgi } from "tscgi";\nimport { greet } from "./_lib/greet.ts";\nexport default (cgi: Cgi) => greet(cgi.query.get("name") ?? "world");\n',
  "_lib/greet.ts": "export const greet = (name: string): string => `Hello, ${name}`;\n",
  "users/[id].tsx": 'import type { Cgi } from "tscgi";\nexport function GET(cgi: Cgi) { return <p>{cgi.params.id}</p>; }\n',
};

t.test("a clean site passes", async (t) => {
  const dir = site(good);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const res = check(dir);
  t.equal(res.status, 0, res.stdout + res.stderr);
  t.match(res.stdout, /3 file\(s\) checked: 0 type error\(s\), 0 route conflict\(s\), 0 file\(s\) never served/);
});

t.test("a type error, a route conflict and files never served are reported", async (t) => {
  const dir = site({
    ...good,
    "bad.ts": 'import type { Cgi } from "tscgi";\nexport default (cgi: Cgi) => {\n  cgi.status("200");\n};\n',
    "users/[slug].ts": "export default () => 'slug';\n",
    "_helper.ts": "export const x = 1;\n",
    "data.json": "{}\n",
  });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const res = check(dir);
  t.equal(res.status, 1);
  t.match(res.stdout, /^cgi-bin\/bad\.ts:3:14 - error TS2345: Argument of type 'string' is not assignable to parameter of type 'number'/m);
  t.match(res.stdout, /route conflict: users\/\[slug\]\.ts never answers \/users\/\[slug\]: users\/\[id\]\.tsx answers it/);
  t.match(res.stdout, /never served: _helper\.ts: its name starts with "_"/);
  t.match(res.stdout, /never served: data\.json: its extension is not one of/);
  t.match(res.stdout, /1 type error\(s\), 1 route conflict\(s\), 2 file\(s\) never served/);
});

t.test("a template that does not compile is reported as file:line and fails the command", async (t) => {
  const dir = site(good);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "templates", "partials"), { recursive: true });
  writeFileSync(join(dir, "templates", "layout.njk"), "<main>{% block body %}{% endblock %}</main>\n");
  writeFileSync(join(dir, "templates", "partials", "nav.njk"), "<nav>\n{% for x in items %}\n{{ x }}\n{% endif %}\n</nav>\n");
  writeFileSync(join(dir, "templates", "open.njk"), '{% extends "layout.njk" %}\n{% block body %}\nunclosed\n');
  const res = check(dir);
  t.equal(res.status, 1, res.stdout + res.stderr);
  t.match(res.stdout, /^templates\/partials\/nav\.njk:4:4 - template error: unknown block tag: endif$/m);
  t.match(res.stdout, /^templates\/open\.njk:3:1 - template error: .*end of file/m);
  t.match(res.stdout, /0 type error\(s\), 0 route conflict\(s\), 0 file\(s\) never served; 3 template\(s\) checked: 2 template error\(s\)/);
});

t.test("a templates directory inside the root is neither a route nor a file never served", async (t) => {
  const dir = site({ ...good, "views/page.njk": "<p>{{ x }}</p>\n", "views/tool.ts": "export default () => 'hidden';\n" });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const res = spawnSync(process.execPath, [bin, "check", "--root", "cgi-bin", "--templates", "cgi-bin/views"], {
    cwd: dir,
    encoding: "utf8",
  });
  t.equal(res.status, 0, res.stdout + res.stderr);
  t.notMatch(res.stdout, /never served: views/);
  t.match(res.stdout, /0 route conflict\(s\), 0 file\(s\) never served; 2 template\(s\) checked: 0 template error\(s\)/);
  const routes = spawnSync(process.execPath, [bin, "routes", "--root", "cgi-bin", "--templates", "cgi-bin/views"], {
    cwd: dir,
    encoding: "utf8",
  });
  t.equal(routes.status, 0, routes.stderr);
  t.notMatch(routes.stdout, /views/);
});
