// A .tsx script that returns JSX answers escaped HTML through a real nginx, with no React installed.
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
  const work = mkdtempSync(join(tmpdir(), "tscgi-jsx-"));
  const root = join(work, "cgi-bin");
  mkdirSync(join(root, "_lib"), { recursive: true });
  writeFileSync(
    join(root, "_lib", "layout.tsx"),
    [
      'import type { JsxChild } from "tscgi/jsx-runtime";',
      "export function Layout(props: { title: string; children?: JsxChild }) {",
      "  return (<html><head><title>{props.title}</title></head><body>{props.children}</body></html>);",
      "}",
    ].join("\n") + "\n",
  );
  writeFileSync(
    join(root, "page.tsx"),
    [
      'import type { Cgi } from "tscgi";',
      'import { Layout } from "./_lib/layout.tsx";',
      "export default (cgi: Cgi) => {",
      '  const name = cgi.query.get("name") ?? "world";',
      "  const rows = [1, 2, 3];",
      "  return (",
      '    <Layout title={"Hi " + name}>',
      '      <p class="greeting" data-name={name}>Hello, {name}</p>',
      "      <ul>{rows.map((r) => <li key={r}>{r}</li>)}</ul>",
      "      <></>",
      "    </Layout>",
      "  );",
      "};",
    ].join("\n") + "\n",
  );

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

  t.test("returned JSX is HTML, every value escaped", async (t) => {
    const res = await fetch(`${nginx.url}/page?name=${encodeURIComponent(`<script>alert("x")</script>`)}`);
    t.equal(res.status, 200);
    t.match(res.headers.get("content-type"), /^text\/html; charset=utf-8/);
    const esc = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;";
    t.equal(
      await res.text(),
      `<html><head><title>Hi ${esc}</title></head><body><p class="greeting" data-name="${esc}">Hello, ${esc}</p>` +
        "<ul><li>1</li><li>2</li><li>3</li></ul></body></html>",
    );
  });
}
