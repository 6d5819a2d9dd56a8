// With display_errors on, a template error's development page names the template file:line and shows
// its source there; templates are found beside root by default.
import t from "tap";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nginxMissing, startNginx, type Nginx } from "../helpers/nginx.ts";
import { startTscgi, type TscgiProcess } from "../helpers/tscgi.ts";

const missing = nginxMissing();
if (missing) {
  t.pass("skipped: " + missing);
  t.end();
} else {
  const work = mkdtempSync(join(tmpdir(), "tscgi-templates-dev-"));
  mkdirSync(join(work, "cgi-bin"));
  mkdirSync(join(work, "templates"));
  writeFileSync(
    join(work, "cgi-bin", "show.ts"),
    'import type { Cgi } from "tscgi";\nexport default (cgi: Cgi) => cgi.render(cgi.query.get("t") ?? "");\n',
  );
  writeFileSync(join(work, "templates", "ok.njk"), "<p>{{ 1 + 1 }}</p>");
  writeFileSync(join(work, "templates", "broken.njk"), "<p>one</p>\n<p>two</p>\n<p>{{ user.name | nosuchfilter }}</p>\n<p>four</p>\n");

  let tscgi: TscgiProcess;
  let nginx: Nginx;
  t.before(async () => {
    // No --templates: the default is the templates directory beside cgi-bin.
    tscgi = await startTscgi(["--root", join(work, "cgi-bin"), "--workers", "0", "--display-errors", "yes"], { cwd: work });
    nginx = await startNginx(`127.0.0.1:${tscgi.fastcgiPort}`);
  });
  t.teardown(async () => {
    await nginx?.stop();
    await tscgi?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  t.test("templates beside root are found by default", async (t) => {
    const res = await fetch(`${nginx.url}/show?t=ok.njk`);
    t.equal(res.status, 200);
    t.equal(await res.text(), "<p>2</p>");
  });

  t.test("the development page names the template file:line and shows its source", async (t) => {
    const res = await fetch(`${nginx.url}/show?t=broken.njk`);
    t.equal(res.status, 500);
    const page = await res.text();
    t.match(page, /TemplateError \[TSCGI_E_SERVER_TEMPLATE\]/);
    t.match(page, /<p class="where">templates\/broken\.njk:3:\d+<\/p>/);
    t.match(page, /<b>3 &gt; &lt;p&gt;\{\{ user\.name \| nosuchfilter \}\}&lt;\/p&gt;<\/b>/, "the failing line, marked");
    t.match(page, /filter not found: nosuchfilter/);
    await tscgi.waitFor(/template templates\/broken\.njk:3:\d+: Error: filter not found: nosuchfilter \[TSCGI_E_SERVER_TEMPLATE\]/);
    t.equal((await fetch(`${nginx.url}/show?t=ok.njk`)).status, 200, "the next request works");
  });
}
