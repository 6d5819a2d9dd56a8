// End to end: a real nginx in front of a real tscgi process, over FastCGI, with the snippet from conf/.
import t from "tap";
import { createHash, randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nginxMissing, startNginx, type Nginx } from "../helpers/nginx.ts";
import { repo, startTscgi, type TscgiProcess } from "../helpers/tscgi.ts";

const missing = nginxMissing();
if (missing) {
  t.comment(missing);
  t.pass("skipped: " + missing);
  t.end();
} else {
  // Scripts under test live in a fresh root: the fixtures, plus symlinks made here.
  const work = mkdtempSync(join(tmpdir(), "tscgi-e2e-"));
  const root = join(work, "cgi-bin");
  const outside = join(work, "outside");
  cpSync(join(repo, "test/fixtures/cgi-bin"), root, { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, "evil.ts"), 'export default () => "SECRET outside";\n');
  symlinkSync(join(outside, "evil.ts"), join(root, "evil.ts"));
  symlinkSync(outside, join(root, "outdir"));
  symlinkSync(join(root, "hello.ts"), join(root, "alias.ts"));

  let tscgi: TscgiProcess;
  let nginx: Nginx;
  t.before(async () => {
    // cwd = the repo, so scripts resolve `tscgi` and npm packages from its node_modules.
    tscgi = await startTscgi(["--root", root, "--log-level", "debug", "--max-body-size", "64m"]);
    nginx = await startNginx(`127.0.0.1:${tscgi.fastcgiPort}`);
  });
  t.teardown(async () => {
    await nginx?.stop();
    await tscgi?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** A raw request (no URL normalisation by the client), answering status, headers and body. */
  const raw = (method: string, path: string, body?: Buffer) =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port: nginx.port, method, path }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(body);
    });

  t.test("GET /hello answers through nginx, with the query", async (t) => {
    const res = await fetch(`${nginx.url}/hello?name=Ada`);
    t.equal(res.status, 200);
    t.match(res.headers.get("content-type"), /^text\/html; charset=utf-8/);
    t.equal(await res.text(), "Hello, Ada");
    t.equal(await (await fetch(`${nginx.url}/hello`)).text(), "Hello, world");
  });

  t.test("a 10 MiB POST body arrives whole (hashed by the script)", async (t) => {
    const body = randomBytes(10 * 1024 * 1024);
    const res = await fetch(`${nginx.url}/hash`, { method: "POST", body });
    t.equal(res.status, 200);
    t.has(await res.json(), { sha256: createHash("sha256").update(body).digest("hex"), bytes: body.length });
  });

  t.test("a chunked upload (no CONTENT_LENGTH) ends with the empty STDIN record", async (t) => {
    const body = randomBytes(300_000);
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(body.subarray(0, 100_000));
        c.enqueue(body.subarray(100_000));
        c.close();
      },
    });
    const res = await fetch(`${nginx.url}/hash`, { method: "POST", body: stream, duplex: "half" } as RequestInit);
    t.has(await res.json(), { sha256: createHash("sha256").update(body).digest("hex"), bytes: body.length });
  });

  t.test("a body over max_body_size gets 413", async (t) => {
    const res = await fetch(`${nginx.url}/hash`, { method: "POST", body: Buffer.alloc(65 * 1024 * 1024) });
    t.equal(res.status, 413);
    t.equal((await fetch(`${nginx.url}/hello`)).status, 200, "the next request works");
  });

  t.test("PATH_INFO, SCRIPT_NAME and SCRIPT_FILENAME come from tscgi's resolution", async (t) => {
    const res = await fetch(`${nginx.url}/where/a/b?x=1`);
    const env = (await res.json()) as Record<string, string>;
    t.equal(env.SCRIPT_NAME, "/where");
    t.equal(env.PATH_INFO, "/a/b");
    t.equal(env.SCRIPT_FILENAME, join(root, "where.ts"));
    t.equal(env.REQUEST_URI, "/where/a/b?x=1");
    t.equal(env.url, `http://127.0.0.1:${nginx.port}/where/a/b?x=1`);
  });

  t.test("a directory answers with its index script", async (t) => {
    t.equal(await (await fetch(`${nginx.url}/admin/`)).text(), "admin index");
  });

  t.test("fetch-style scripts and 204 for a script that returns nothing", async (t) => {
    const res = await fetch(`${nginx.url}/fetch`, { headers: { "user-agent": "tap" } });
    t.same(await res.json(), { method: "GET", url: `http://127.0.0.1:${nginx.port}/fetch`, ua: "tap" });
    t.equal((await fetch(`${nginx.url}/nothing`)).status, 204);
  });

  t.test("unknown paths get 404", async (t) => {
    t.equal((await raw("GET", "/no-such-script")).status, 404);
    t.equal((await raw("GET", "/admin/nope/deeper")).status, 404);
  });

  t.test("attacks never run or reveal a file outside the rules", async (t) => {
    const attacks: Array<[string, number[]]> = [
      ["/_private/secret", [404]],
      ["/_private/secret.ts", [404]],
      ["/.env", [404]],
      ["/data.json", [404]],
      ["/run.sh", [404]],
      ["/evil", [404]],
      ["/evil.ts", [404]],
      ["/outdir/evil", [404]],
      ["/../outside/evil", [400, 404]],
      ["/x/../../outside/evil", [400, 404]],
      ["/%2e%2e/outside/evil", [400, 404]],
      ["/..%2foutside%2fevil", [400, 404]],
      ["/outdir%2fevil", [400, 404]],
      ["/hello%00.ts", [400, 404]],
      ["/hello%5c..%5cdata.json", [400, 404]],
      ["/_private%2fsecret", [400, 404]],
    ];
    for (const [path, statuses] of attacks) {
      const res = await raw("GET", path);
      t.ok(statuses.includes(res.status), `${path} -> ${res.status}`);
      t.notMatch(res.body.toString(), /SECRET|never/, `${path} reveals nothing`);
    }
    t.equal(await (await fetch(`${nginx.url}/alias`)).text(), "Hello, world", "a symlink inside the root works");
  });

  t.test("SCRIPT_FILENAME from the web server never picks the file", async (t) => {
    // The snippet has no SCRIPT_FILENAME; a hostile one must change nothing either.
    const res = await fetch(`${nginx.url}/where`);
    t.equal(((await res.json()) as Record<string, string>).SCRIPT_FILENAME, join(root, "where.ts"));
  });

  t.test("a CR/LF in a header value gives 500 and is never emitted", async (t) => {
    const res = await raw("GET", "/crlf");
    t.equal(res.status, 500);
    t.equal(res.headers["set-cookie"], undefined);
    t.equal(res.headers["x-evil"], undefined);
    await tscgi.waitFor("TSCGI_E_CGI_INVALID_HEADER");
  });

  t.test("a throwing script gives 500, logs its file:line, and the next request works", async (t) => {
    const res = await raw("GET", "/boom");
    t.equal(res.status, 500);
    t.notMatch(res.body.toString(), /boom from a script/, "the error message stays in the log");
    await tscgi.waitFor(/boom from a script.* at .*boom\.ts:4:\d+/);
    t.equal((await raw("GET", "/hello")).status, 200);
  });

  t.test("HEAD sends headers and no body", async (t) => {
    const res = await raw("HEAD", "/hello");
    t.equal(res.status, 200);
    t.equal(res.headers["content-length"], "12");
    t.equal(res.body.length, 0);
  });

  t.test("an edited script is live on the next request", async (t) => {
    const file = join(root, "edited.ts");
    writeFileSync(file, 'export default () => "version 1";\n');
    t.equal(await (await fetch(`${nginx.url}/edited`)).text(), "version 1");
    writeFileSync(file, 'export default () => "version 2";\n');
    t.equal(await (await fetch(`${nginx.url}/edited`)).text(), "version 2");
  });

  t.test("a 100 MiB streamed response arrives whole with bounded worker memory", async (t) => {
    const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${tscgi.child.pid}/status`, "utf8"))![1]) / 1024;
    const before = hwm();
    const res = await fetch(`${nginx.url}/stream?mib=100`);
    let bytes = 0;
    for await (const chunk of res.body!) bytes += chunk.byteLength;
    t.equal(bytes, 100 * 1024 * 1024);
    const growth = hwm() - before;
    t.comment(`peak RSS ${hwm().toFixed(1)} MiB, grew ${growth.toFixed(1)} MiB while streaming 100 MiB`);
    t.ok(growth < 64, `RSS peak grew by ${growth.toFixed(1)} MiB (< 64 MiB)`);
  });

  t.test("nginx keeps FastCGI connections alive across requests", async (t) => {
    const count = () => (tscgi.output().match(/fastcgi connection from/g) ?? []).length;
    const before = count();
    for (let i = 0; i < 30; i++) await (await fetch(`${nginx.url}/hello`)).text();
    t.ok(count() - before <= 1, `30 sequential requests opened ${count() - before} new connection(s)`);
  });

  t.test("every request has an access-log line", async (t) => {
    await (await fetch(`${nginx.url}/hello?name=log`)).text();
    await tscgi.waitFor('"GET /hello?name=log" 200');
    t.pass();
  });
}
