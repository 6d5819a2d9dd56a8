// examples/guestbook on a real PostgreSQL, through a real nginx running the example's
// conf/nginx.conf and real tscgi processes running its conf/tscgi.conf: its migrations, the whole flow, CSRF refusals, SQL injection in every field, a restart of tscgi
// losing nothing, and one database pool per worker after hot edits of _lib/db.ts.
import t from "tap";
import pg from "pg";
import { spawnSync } from "node:child_process";
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Browser, csrfField } from "../helpers/browser.ts";
import { getFresh } from "../helpers/http.ts";
import { nginxBin, nginxMissing } from "../helpers/nginx.ts";
import { freePort } from "../helpers/ports.ts";
import { postgresMissing, startPostgres, type Postgres } from "../helpers/postgres.ts";
import { scaled } from "../helpers/time.ts";
import { occurrences, repo, startTscgi, until, type TscgiProcess } from "../helpers/tscgi.ts";
import { startServerProcess, type ServerProcess } from "../helpers/web-servers/process.ts";
import { fillSnippet } from "../helpers/web-servers/snippet.ts";

/** A real nginx running the example's conf/nginx.conf, as pasted into an http { } block, its EDIT lines filled in. */
async function startSiteNginx(site: string, upstream: string): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), "tscgi-guestbook-nginx-"));
  const port = await freePort();
  const snippet = fillSnippet(readFileSync(join(site, "conf", "nginx.conf"), "utf8"), {
    "127.0.0.1:9000": upstream,
    "127.0.0.1:8080": `127.0.0.1:${port}`,
  });
  writeFileSync(join(dir, "site.conf"), snippet);
  const temp = ["client_body", "fastcgi", "proxy", "uwsgi", "scgi"].map((what) => `  ${what}_temp_path ${dir}/${what};`).join("\n");
  writeFileSync(
    join(dir, "nginx.conf"),
    `worker_processes 1;\nerror_log ${dir}/error.log info;\npid ${dir}/nginx.pid;\nevents { worker_connections 1024; }\n` +
      `http {\n  access_log off;\n${temp}\n  include ${dir}/site.conf;\n}\n`,
  );
  if (!nginxBin) throw new Error("nginx missing");
  return startServerProcess("nginx", nginxBin, ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], {
    port,
    dir,
    logFiles: [join(dir, "error.log")],
    stopSignal: "SIGQUIT",
  });
}

const skip = nginxMissing() || postgresMissing();
// PostgreSQL, nginx, tscgi (started three times) and tscgi check take a minute on a quiet
// machine, and more than .taprc's 120 s per file on a busy one.
if (!skip) t.setTimeout(scaled(300_000));
if (skip) {
  t.comment(skip);
  t.pass("skipped: " + skip);
} else {
  // A copy of the example, so the hot edits below never touch the repository; its node_modules
  // is the repository's, so `pg` resolves from the copy's scripts as it does from the original.
  const work = mkdtempSync(join(tmpdir(), "tscgi-guestbook-"));
  const site = join(work, "guestbook");
  cpSync(join(repo, "examples", "guestbook"), site, { recursive: true });
  symlinkSync(join(repo, "node_modules"), join(work, "node_modules"));
  const sessions = join(work, "sessions");

  let db: Postgres;
  let sql: pg.Client;
  let tscgi: TscgiProcess;
  let nginx: ServerProcess;
  const start = (args: string[] = [], listen?: string) =>
    startTscgi(["--workers", "2", "--session-save-path", sessions, ...args], { cwd: site, env: db.env, ...(listen ? { listen } : {}) });
  const migrate = () => spawnSync(process.execPath, [join(site, "migrate.js")], { env: { ...process.env, ...db.env }, encoding: "utf8" });
  const count = async (table: "users" | "messages") => Number((await sql.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);

  t.before(async () => {
    db = await startPostgres({ database: "guestbook" });
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
  });
  t.teardown(async () => {
    await nginx?.stop();
    await tscgi?.stop();
    await sql?.end();
    await db?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** Signs up `name` in a new browser; it comes back signed in. */
  async function signUp(name: string, password = "correct horse battery"): Promise<Browser> {
    const browser = new Browser(nginx.url);
    const form = await browser.get("/signup");
    const res = await browser.post("/signup", { csrf: csrfField(form.body), username: name, password });
    if (res.status !== 303) throw new Error(`sign-up of ${name} answered ${res.status}: ${res.body}`);
    return browser;
  }
  async function postMessage(browser: Browser, body: string) {
    const page = await browser.get("/");
    return browser.post("/post", { csrf: csrfField(page.body), body });
  }

  t.test("migrations apply in order once, and a second run changes nothing", async (t) => {
    const first = migrate();
    t.equal(first.status, 0, first.stderr);
    t.match(first.stdout, /applied 001_users\.sql\napplied 002_messages\.sql\n2 applied/);
    const again = migrate();
    t.equal(again.status, 0, again.stderr);
    t.match(again.stdout, /up to date \(2 migrations\)/);
    const recorded = await sql.query("SELECT name FROM schema_migrations ORDER BY name");
    t.same(
      recorded.rows.map((r) => r.name),
      ["001_users.sql", "002_messages.sql"],
    );
    // Everything the site needs now exists: nginx and tscgi start on it.
    tscgi = await start();
    nginx = await startSiteNginx(site, `127.0.0.1:${tscgi.fastcgiPort}`);
  });

  t.test("sign up, sign in, post, page through, delete one's own and not another's", async (t) => {
    for (const path of ["/_lib/db.ts", "/_lib/passwords", "/.env", "/layout.njk"]) {
      t.equal((await fetch(nginx.url + path)).status, 404, `${path} is not served`);
    }
    const ada = await signUp("ada");
    let home = await ada.get("/");
    t.equal(home.status, 200);
    t.match(home.headers.get("content-type"), /^text\/html/);
    t.match(home.body, /Signed in as <strong class="account">ada<\/strong>/);
    t.match(home.body, /No messages yet/);

    for (let i = 1; i <= 12; i++) t.equal((await postMessage(ada, `message ${i}`)).location, "/", `message ${i} posted`);
    home = await ada.get("/");
    t.match(home.body, /12 messages, page 1 of 2/);
    t.match(home.body, /message 12<\/p>/, "newest first");
    t.notMatch(home.body, /message 2<\/p>/, "the oldest are on page 2");
    t.equal(occurrences(home.body, /class="message"/), 10);
    t.match(home.body, /href="\/\?page=2">Older/);
    const page2 = await ada.get("/?page=2");
    t.equal(occurrences(page2.body, /class="message"/), 2);
    t.match(page2.body, /message 2<\/p>[\s\S]*message 1<\/p>/);
    t.match(page2.body, /href="\/\?page=1">Newer/);
    t.match((await ada.get("/?page=3")).body, /No messages on this page/);

    const bob = await signUp("bob");
    t.equal((await postMessage(bob, "bob was here")).status, 303);
    home = await bob.get("/");
    const bobsId = /id="m(\d+)">\s*<p class="body">bob was here/.exec(home.body)?.[1];
    t.ok(bobsId, "bob's message is listed");
    t.equal(occurrences(home.body, /action="\/delete\//), 1, "bob sees a delete button on his own message only");
    const adasId = /id="m(\d+)">\s*<p class="body">message 12/.exec(home.body)?.[1] ?? "";
    t.not(adasId, "", "ada's newest message is listed");
    const before = await count("messages");
    const refused = await bob.post(`/delete/${adasId}`, { csrf: csrfField(home.body) });
    t.equal(refused.status, 403, "bob cannot delete ada's message");
    t.match(refused.body, /only your own/);
    t.equal(await count("messages"), before);
    t.equal((await bob.post("/delete/999999", { csrf: csrfField(home.body) })).status, 404);

    const deleted = await ada.post(`/delete/${adasId}`, { csrf: csrfField((await ada.get("/")).body) });
    t.equal(deleted.status, 303);
    t.equal(await count("messages"), before - 1);
    t.notMatch((await ada.get("/")).body, /message 12<\/p>/);

    // Signing out ends the session; signing in again starts a new one.
    const sessionId = ada.cookie("TSCGISESSID");
    t.equal((await ada.post("/signout", { csrf: csrfField((await ada.get("/")).body) })).status, 303);
    t.equal(ada.cookie("TSCGISESSID"), undefined, "the session cookie is deleted");
    const form = await ada.get("/signin");
    const wrong = await ada.post("/signin", { csrf: csrfField(form.body), username: "ada", password: "not it at all" });
    t.equal(wrong.status, 403);
    t.match(wrong.body, /Wrong name or password/);
    const right = await ada.post("/signin", { csrf: csrfField(wrong.body), username: "ADA", password: "correct horse battery" });
    t.equal(right.status, 303);
    t.not(ada.cookie("TSCGISESSID"), sessionId, "a new session id after sign-in");
    t.match((await ada.get("/")).body, /Signed in as <strong class="account">ada</);
    const taken = await new Browser(nginx.url).get("/signup");
    t.equal(
      (await new Browser(nginx.url).post("/signup", { csrf: csrfField(taken.body), username: "Ada", password: "whatever123" })).status,
      403,
      "a form token from another session is refused",
    );
  });

  t.test("a POST without this session's CSRF token answers 403 and changes nothing", async (t) => {
    const carol = await signUp("carol");
    const other = await signUp("mallory");
    const mallorysToken = csrfField((await other.get("/")).body);
    const before = await count("messages");
    for (const [why, fields] of [
      ["no token", { body: "forged" }],
      ["an empty token", { csrf: "", body: "forged" }],
      ["a wrong token", { csrf: "x".repeat(43), body: "forged" }],
      ["another session's token", { csrf: mallorysToken, body: "forged" }],
    ] as const) {
      const res = await carol.post("/post", fields);
      t.equal(res.status, 403, why);
      t.match(res.body, /reload the page/, why);
    }
    t.equal((await carol.post("/signout", {})).status, 403, "signing out needs the token too");
    t.equal(await count("messages"), before);
    t.match((await carol.get("/")).body, /Signed in as <strong class="account">carol/);
  });

  t.test("SQL injection in every field is stored and shown literally, escaped, and changes nothing else", async (t) => {
    const name = `o'hara"); DROP TABLE users; --`;
    const password = `' OR '1'='1' --`;
    const hostile = await signUp(name, password);
    t.match((await hostile.get("/")).body, /Signed in as <strong class="account">o&#39;hara&quot;\); DROP TABLE users; --<\/strong>/);
    const users = await count("users");
    const messages = await count("messages");

    const body = `'); DELETE FROM messages; -- <script>alert("x")</script> \\' OR 1=1`;
    t.equal((await postMessage(hostile, body)).status, 303);
    const home = await hostile.get("/");
    t.match(home.body, `&#39;); DELETE FROM messages; -- &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &#92;&#39; OR 1=1</p>`);
    t.notMatch(home.body, /<script>/);
    const stored = await sql.query("SELECT u.username, m.body FROM messages m JOIN users u ON u.id = m.user_id ORDER BY m.id DESC LIMIT 1");
    t.same(stored.rows[0], { username: name, body }, "stored exactly as sent");
    t.equal(await count("messages"), messages + 1, "one message more, none deleted");
    t.equal(await count("users"), users);

    // Sign-in: an injected name or password matches nobody.
    const attempts: [string, string][] = [
      [`' OR '1'='1`, "anything at all"],
      ["ada", `' OR '1'='1' --`],
      [`ada' --`, "x"],
    ];
    for (const [username, pw] of attempts) {
      const b = new Browser(nginx.url);
      const res = await b.post("/signin", { csrf: csrfField((await b.get("/signin")).body), username, password: pw });
      t.equal(res.status, 403, `sign-in as ${username} / ${pw}`);
    }
    // The query string and the path segment: refused before any SQL.
    t.equal((await hostile.get("/?page=1;DROP%20TABLE%20messages")).status, 400);
    t.equal((await hostile.get("/?page=1%20OR%201=1")).status, 400);
    const token = csrfField(home.body);
    t.equal((await hostile.post("/delete/1%20OR%201=1", { csrf: token })).status, 404);
    t.equal((await hostile.post(`/delete/1';DELETE%20FROM%20messages;--`, { csrf: token })).status, 404);
    t.equal((await hostile.post("/post", { csrf: `' OR '1'='1`, body: "x" })).status, 403);
    t.equal(await count("messages"), messages + 1);
    t.equal(await count("users"), users);
    t.equal((await sql.query("SELECT count(*) AS n FROM schema_migrations")).rows[0].n, "2");
  });

  t.test("tscgi stopped by pid and started again: messages and the signed-in session are still there", async (t) => {
    const dave = await signUp("dave");
    t.equal((await postMessage(dave, "before the restart")).status, 303);
    const messages = await count("messages");
    const port = tscgi.fastcgiPort;
    t.equal(await tscgi.stop(), 0);
    t.match(tscgi.output(), /guestbook: database pool closed/, "each worker closed its pool on the way out");
    tscgi = await start([], `127.0.0.1:${port}`);
    const home = await dave.get("/");
    t.equal(home.status, 200);
    t.match(home.body, /Signed in as <strong class="account">dave/, "the session survived");
    t.match(home.body, /before the restart<\/p>/);
    t.equal(await count("messages"), messages);
    t.equal((await postMessage(dave, "after the restart")).status, 303, "the session's token still works");
    t.match((await dave.get("/")).body, /after the restart<\/p>/);
  });

  t.test("tscgi check finds no type error, route conflict or stray file in the example", async (t) => {
    const check = spawnSync(process.execPath, [join(repo, "bin", "tscgi.js"), "check"], { cwd: site, encoding: "utf8" });
    t.equal(check.status, 0, check.stdout + check.stderr);
    t.match(check.stdout, /0 type error\(s\), 0 route conflict\(s\), 0 file\(s\) never served/);
  });

  t.test("after 5 edits of _lib/db.ts a worker holds one pool: the dropped ones are disposed", async (t) => {
    await tscgi.stop();
    tscgi = await start(["--workers", "1"]);
    const url = `http://127.0.0.1:${tscgi.httpPort}/`;
    const connections = async () =>
      Number((await sql.query("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'guestbook'")).rows[0].n);
    t.equal((await getFresh(url)).status, 200);
    t.equal(await connections(), 1);
    for (let edit = 1; edit <= 5; edit++) {
      appendFileSync(join(site, "cgi-bin", "_lib", "db.ts"), `console.error("db.ts edit ${edit} evaluated");\n`);
      // The edit is live on some next request: until its line shows, bounded.
      const live = await until(async () => {
        t.equal((await getFresh(url)).status, 200);
        return tscgi.output().includes(`db.ts edit ${edit} evaluated`);
      });
      t.ok(live, `edit ${edit} went live`);
    }
    // Each replaced version says so on its way out (its line reaches the log on its own time).
    await tscgi.waitFor((out) => occurrences(out, /guestbook: database pool closed/) === 5, 20_000);
    t.equal((await getFresh(url)).status, 200);
    // A closed connection leaves pg_stat_activity as its backend exits: wait for that, bounded.
    t.ok(await until(async () => (await connections()) === 1), "one connection open, not six");
    t.equal(await connections(), 1);
  });
}
