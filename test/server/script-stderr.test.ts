// A script's console.error and console.warn during a request reach the web server as that request's
// FCGI_STDERR (nginx logs "FastCGI sent in stderr"), and tscgi's error log as well.
import t from "tap";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nginxMissing, startNginx, type Nginx } from "../helpers/nginx.ts";
import { startTscgi, until, type TscgiProcess } from "../helpers/tscgi.ts";

const missing = nginxMissing();
if (missing) {
  t.comment(missing);
  t.pass("skipped: " + missing);
  t.end();
} else {
  const root = mkdtempSync(join(tmpdir(), "tscgi-stderr-"));
  writeFileSync(
    join(root, "warns.ts"),
    `export default async function (cgi: { query: URLSearchParams }) {
  const id = cgi.query.get("id");
  console.error("before await " + id);
  await new Promise((resolve) => setTimeout(resolve, 1));
  console.warn("after await " + id);
  return "ok " + id;
}
`,
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
    rmSync(root, { recursive: true, force: true });
  });

  t.test("console.error and console.warn, before and after an await, show in nginx's error log", async (t) => {
    const res = await fetch(`${nginx.url}/warns?id=r1`);
    t.equal(res.status, 200);
    t.equal(await res.text(), "ok r1");
    // nginx writes the line when the record arrives, before it answers; the wait bounds a slow disk.
    const logged = (text: string) => until(() => nginx.errorLog().includes(text), 10_000);
    t.ok(await logged("FastCGI sent in stderr"), "nginx saw FCGI_STDERR");
    t.ok(await logged("before await r1"), "the line written before the await");
    t.ok(await logged("after await r1"), "the line written after the await, in the same request");
    t.match(nginx.errorLog(), /FastCGI sent in stderr: "[^"]*before await r1[^]*request: "GET \/warns\?id=r1/, "tied to its request");
  });

  t.test("the same lines are in tscgi's error log", async (t) => {
    await tscgi.waitFor("after await r1");
    t.match(tscgi.output(), /before await r1/);
  });
}
