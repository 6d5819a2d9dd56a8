// The toolkit on `cgi`, through dispatch without a socket: cookies (signed too), the session saved
// when the head goes out with its Set-Cookie, redirects, a bare Location as 302, HttpError's
// headers and bodies.
import t from "tap";
import type { Cgi } from "../../src/runtime/types.ts";
import { HttpError } from "../../src/runtime/http-error.ts";
import { html } from "../../src/runtime/html.ts";
import type { Session } from "../../src/runtime/session.ts";
import { AccessLog } from "../../src/server/access-log.ts";
import { Dispatcher } from "../../src/server/dispatch.ts";
import { Logger, LogSink } from "../../src/server/log.ts";
import { createToolkit } from "../../src/server/toolkit.ts";
import { defaults } from "../../src/config/load.ts";
import { RecordingExchange } from "../helpers/recording-exchange.ts";

const SECRET = "k".repeat(32);
const logged: string[] = [];
const sink = new LogSink("stderr");
sink.line = (text: string) => void logged.push(text);
// One toolkit, as one worker has: its memory store keeps sessions from one request to the next.
const toolkit = createToolkit({ ...defaults, session_store: "memory", cookie_secret: [SECRET] });

function dispatcher(script: (cgi: Cgi) => unknown) {
  return new Dispatcher({
    root: "/root",
    resolver: { resolve: () => ({ file: "/root/s.ts", scriptName: "/s", pathInfo: "" }) },
    loader: { load: () => ({ default: script }) },
    maxBodySize: 1 << 20,
    requestTimeout: 0,
    log: new Logger(sink, "debug"),
    accessLog: new AccessLog(sink),
    toolkit,
  });
}

async function get(script: (cgi: Cgi) => unknown, params: Record<string, string> = {}) {
  const ex = new RecordingExchange(params);
  await dispatcher(script).dispatch(ex);
  return ex;
}

/** name=value of each Set-Cookie, without attributes. */
const cookiesOf = (ex: RecordingExchange) => ex.all("set-cookie").map((c) => c.split(";")[0]);

t.test("cgi.cookies is the Cookie header, parsed and decoded", async (t) => {
  const ex = await get((cgi) => ({ ...cgi.cookies.toJSON(), size: cgi.cookies.size }), { HTTP_COOKIE: "a=1; b=x%20y" });
  t.same(JSON.parse(ex.body), { a: "1", b: "x y", size: 2 });
});

t.test("setCookie and deleteCookie go out as Set-Cookie headers with the safe defaults", async (t) => {
  const ex = await get((cgi) => {
    cgi.setCookie("theme", "dark mode", { maxAge: 3600 }).deleteCookie("old", { path: "/app" });
    return "ok";
  });
  t.same(ex.all("set-cookie"), [
    "theme=dark%20mode; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax",
    "old=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/app; HttpOnly; SameSite=Lax",
  ]);
});

t.test("a bad cookie throws at the call, naming it; after the first write, cookies throw", async (t) => {
  const ex = await get(async (cgi) => {
    t.throws(() => cgi.setCookie("bad name", "x"), { code: "TSCGI_E_API_COOKIE_INVALID", message: /"bad name"/ });
    t.throws(
      () => cgi.setCookie("s", "x", { signed: true, sameSite: "None" }),
      { code: "TSCGI_E_API_COOKIE_INVALID" },
      "checked before signing",
    );
    await cgi.write("a");
    t.throws(() => cgi.setCookie("late", "x"), { code: "TSCGI_E_API_HEADERS_SENT" });
  });
  t.equal(ex.body, "a");
});

t.test("a signed cookie reads back; tampered, unsigned or missing it reads as absent", async (t) => {
  const set = await get((cgi) => void cgi.setCookie("user", "ada", { signed: true }));
  const [cookie] = cookiesOf(set);
  t.match(cookie, /^user=ada\.[A-Za-z0-9_-]{43}$/);
  const read = (header: string) => get(async (cgi) => String(await cgi.signedCookie("user")), { HTTP_COOKIE: header });
  t.equal((await read(cookie)).body, "ada");
  t.equal((await read(cookie.replace("ada.", "bob."))).body, "undefined", "another value, the same signature");
  t.equal((await read("user=ada")).body, "undefined", "unsigned");
  t.equal((await read("")).body, "undefined", "missing");
});

t.test("signing without cookie_secret throws TSCGI_E_API_COOKIE_SECRET_MISSING at the call", async (t) => {
  const bare = new Dispatcher({
    root: "/root",
    resolver: { resolve: () => ({ file: "/root/s.ts", scriptName: "/s", pathInfo: "" }) },
    loader: {
      load: () => ({
        default: (cgi: Cgi) => {
          t.throws(() => cgi.setCookie("user", "ada", { signed: true }), {
            code: "TSCGI_E_API_COOKIE_SECRET_MISSING",
            message: /cookie_secret/,
          });
          return "ok";
        },
      }),
    },
    maxBodySize: 0,
    requestTimeout: 0,
    log: new Logger(sink, "debug"),
    accessLog: null,
    toolkit: createToolkit({ ...defaults, session_store: "memory" }),
  });
  const ex = new RecordingExchange({});
  await bare.dispatch(ex);
  t.equal(ex.body, "ok");
});

t.test("the session is saved when the head goes out, its cookie with the head; a streamed answer too", async (t) => {
  const counter = async (cgi: Cgi) => {
    const session = await cgi.session<{ n?: number }>();
    t.equal(await cgi.session(), session, "the same Session on every call");
    session.set("n", (session.get("n") ?? 0) + 1);
    if (cgi.query.has("stream")) {
      await cgi.write(`n=${session.get("n")}`);
      t.throws(() => session.set("n", 99), { code: "TSCGI_E_API_SESSION_CLOSED" }, "saved with the head: a later change throws");
      return;
    }
    return `n=${session.get("n")}`;
  };
  const first = await get(counter);
  t.equal(first.body, "n=1");
  const [cookie] = cookiesOf(first);
  t.match(cookie, /^TSCGISESSID=[A-Za-z0-9_-]{43}$/);
  t.match(first.header("set-cookie"), /; Path=\/; HttpOnly; SameSite=Lax$/);
  const second = await get(counter, { HTTP_COOKIE: cookie, QUERY_STRING: "stream" });
  t.equal(second.body, "n=2");
  t.same(cookiesOf(second), [], "a known session needs no new cookie");
  const third = await get(counter, { HTTP_COOKIE: cookie });
  t.equal(third.body, "n=3");
});

t.test("over HTTPS the session cookie is Secure", async (t) => {
  const ex = await get(async (cgi) => void (await cgi.session()).set("a", 1), { HTTPS: "on" });
  t.match(ex.header("set-cookie"), /; Secure; HttpOnly; SameSite=Lax$/);
});

t.test("a request that fails releases its session unsaved; an HttpError saves it", async (t) => {
  const start = await get(async (cgi) => void (await cgi.session()).set("n", 1));
  const [cookie] = cookiesOf(start);
  const failing = await get(
    async (cgi) => {
      (await cgi.session()).set("n", 2);
      throw new Error("boom");
    },
    { HTTP_COOKIE: cookie },
  );
  t.equal(failing.status, 500);
  let seen: Session | null = null;
  const read = async (cgi: Cgi) => {
    seen = await cgi.session();
    return JSON.stringify(seen.get("n"));
  };
  t.equal((await get(read, { HTTP_COOKIE: cookie })).body, "1", "the failed request's change was not saved, and its lock was released");
  const refused = await get(
    async (cgi) => {
      (await cgi.session()).set("n", 3);
      throw new HttpError(403, "not yours");
    },
    { HTTP_COOKIE: cookie },
  );
  t.equal(refused.status, 403);
  t.equal((await get(read, { HTTP_COOKIE: cookie })).body, "3", "an answer the script chose saves the session");
});

t.test("cgi.redirect: 302 by default, another redirect status on request, relative URLs as given", async (t) => {
  const plain = await get((cgi) => cgi.redirect("/x"));
  t.same([plain.status, plain.header("location"), plain.body], [302, "/x", ""]);
  const seeOther = await get((cgi) => cgi.redirect("../list?a=1 b", 303));
  t.same([seeOther.status, seeOther.header("location")], [303, "../list?a=1%20b"]);
  const absolute = await get((cgi) => cgi.redirect(new URL("https://example.com/a")));
  t.equal(absolute.header("location"), "https://example.com/a");
  const bad = await get((cgi) => cgi.redirect("/x", 200 as 302));
  t.equal(bad.status, 500);
  t.match(logged.join("\n"), /TSCGI_E_API_REDIRECT_INVALID/);
});

t.test("a Location header without a status answers 302 (RFC 3875 6.2.3), streamed or returned; an explicit status wins", async (t) => {
  const returned = await get((cgi) => void cgi.header("Location", "/next"));
  t.same([returned.status, returned.header("location")], [302, "/next"]);
  const withBody = await get((cgi) => (cgi.header("Location", "/next"), "moved"));
  t.same([withBody.status, withBody.body], [302, "moved"]);
  const streamed = await get(async (cgi) => void (await cgi.header("Location", "/next").write("moved")));
  t.equal(streamed.status, 302);
  const created = await get((cgi) => (cgi.status(201).header("Location", "/items/1"), { id: 1 }));
  t.equal(created.status, 201);
});

t.test("HttpError: its headers, the headers set before it, an HTML or JSON body", async (t) => {
  const allow = await get((cgi) => {
    cgi.header("X-Before", "kept").header("Content-Type", "application/json");
    cgi.setCookie("seen", "1");
    throw new HttpError(405, "use GET or POST", { headers: { Allow: "GET, POST" } });
  });
  t.same([allow.status, allow.body], [405, "use GET or POST\n"]);
  t.equal(allow.header("allow"), "GET, POST");
  t.equal(allow.header("x-before"), "kept");
  t.same(cookiesOf(allow), ["seen=1"]);
  t.equal(allow.header("content-type"), "text/plain; charset=utf-8", "the script's own type described another body");
  t.same(allow.all("content-type").length, 1);

  const page = await get(() => {
    throw new HttpError(401, "who are you", { headers: [["WWW-Authenticate", 'Basic realm="site"']], body: html`<h1>Log in</h1>` });
  });
  t.same([page.status, page.body, page.header("content-type")], [401, "<h1>Log in</h1>", "text/html; charset=utf-8"]);
  t.equal(page.header("www-authenticate"), 'Basic realm="site"');

  const json = await get(() => {
    throw new HttpError(422, "invalid", { body: { errors: ["name is required"] } });
  });
  t.same(
    [json.status, JSON.parse(json.body), json.header("content-type")],
    [422, { errors: ["name is required"] }, "application/json; charset=utf-8"],
  );
  t.equal(new HttpError(404).message, "404 Not Found", "the default message is the status line");
});
