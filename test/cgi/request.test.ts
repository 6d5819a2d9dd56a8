// The Request a script sees is built from the CGI meta-variables as RFC 3875 describes them.
import t from "tap";
import { spawnSync } from "node:child_process";
import { buildRequest, headersFromEnv, requestUrl } from "../../src/cgi/request.ts";
import { bodyStream } from "../../src/cgi/body.ts";
import { buildEnv } from "../../src/cgi/env.ts";

const noBody = () => new ReadableStream<Uint8Array>({ start: (c) => c.close() });

t.test("the URL comes from REQUEST_URI and HTTP_HOST", async (t) => {
  t.equal(requestUrl({ REQUEST_URI: "/a/b?x=1", HTTP_HOST: "example.com" }), "http://example.com/a/b?x=1");
  t.equal(requestUrl({ REQUEST_URI: "/", HTTP_HOST: "example.com", HTTPS: "on" }), "https://example.com/");
  t.equal(requestUrl({ REQUEST_URI: "/", HTTP_HOST: "example.com", HTTPS: "off" }), "http://example.com/");
  t.equal(requestUrl({ REQUEST_URI: "/", HTTP_HOST: "h", REQUEST_SCHEME: "https" }), "https://h/");
});

t.test("without REQUEST_URI, SCRIPT_NAME + PATH_INFO + QUERY_STRING make the URL", async (t) => {
  t.equal(
    requestUrl({ SCRIPT_NAME: "/users", PATH_INFO: "/42", QUERY_STRING: "a=1", SERVER_NAME: "srv", SERVER_PORT: "8080" }),
    "http://srv:8080/users/42?a=1",
  );
  t.equal(requestUrl({ SCRIPT_NAME: "/x", SERVER_NAME: "srv", SERVER_PORT: "80" }), "http://srv/x");
  t.equal(requestUrl({ SCRIPT_NAME: "/x", SERVER_NAME: "::1", SERVER_PORT: "81" }), "http://[::1]:81/x");
});

t.test("a Host header that is not an authority does not break the request", async (t) => {
  t.equal(requestUrl({ REQUEST_URI: "/p", HTTP_HOST: "bad host/" }), "http://localhost/p");
});

t.test("HTTP_* become headers, CONTENT_* too, HTTP_PROXY never", async (t) => {
  const h = headersFromEnv({
    HTTP_ACCEPT_LANGUAGE: "fr",
    HTTP_X_A_B: "1",
    CONTENT_TYPE: "text/plain",
    CONTENT_LENGTH: "3",
    HTTP_PROXY: "http://evil",
    QUERY_STRING: "q",
  });
  t.equal(h.get("accept-language"), "fr");
  t.equal(h.get("x-a-b"), "1");
  t.equal(h.get("content-type"), "text/plain");
  t.equal(h.get("content-length"), "3");
  t.equal(h.get("proxy"), null);
  t.equal([...h.keys()].length, 4);
});

t.test("the body streams for POST and is absent for GET and HEAD", async (t) => {
  const chunks = [Buffer.from("ab"), Buffer.from("cd")];
  const read = async () => chunks.shift() ?? null;
  const post = buildRequest({ REQUEST_METHOD: "POST", REQUEST_URI: "/" }, () => bodyStream(read, 0));
  t.equal(await post.text(), "abcd");
  const get = buildRequest({ REQUEST_METHOD: "GET", REQUEST_URI: "/" }, noBody);
  t.equal(get.body, null);
  const head = buildRequest({ REQUEST_METHOD: "HEAD", REQUEST_URI: "/" }, noBody);
  t.equal(head.method, "HEAD");
});

t.test("a body over the cap errors the stream with 413", async (t) => {
  let n = 0;
  const read = async () => (n++ < 3 ? Buffer.alloc(10) : null);
  const req = buildRequest({ REQUEST_METHOD: "PUT", REQUEST_URI: "/" }, () => bodyStream(read, 25));
  await t.rejects(req.arrayBuffer(), { code: "TSCGI_E_CGI_BODY_TOO_LARGE", status: 413 });
});

t.test("an aborted body source errors the stream with 400", async (t) => {
  const read = async (): Promise<Uint8Array | null> => {
    throw new Error("aborted");
  };
  const req = buildRequest({ REQUEST_METHOD: "POST", REQUEST_URI: "/" }, () => bodyStream(read, 0));
  await t.rejects(req.text(), { code: "TSCGI_E_CGI_BODY_ABORTED" });
});

// Scripts see it frozen through cgi.env, which freezes it on first read (test/server/dispatch.test.ts).
t.test("env carries the resolution, and leaves process.env alone", async (t) => {
  const params = Object.assign(Object.create(null), {
    REQUEST_METHOD: "GET",
    SCRIPT_FILENAME: "/etc/passwd",
    SCRIPT_NAME: "/index.php",
    HTTP_X_SECRET_REQUEST_DATA: "yes",
  });
  const env = buildEnv(params, { file: "/srv/cgi-bin/users.ts", scriptName: "/users", pathInfo: "/42" });
  t.equal(env.SCRIPT_FILENAME, "/srv/cgi-bin/users.ts");
  t.equal(env.SCRIPT_NAME, "/users");
  t.equal(env.PATH_INFO, "/42");
  t.equal(env.GATEWAY_INTERFACE, "CGI/1.1");
  t.equal(process.env.HTTP_X_SECRET_REQUEST_DATA, undefined);
  t.equal(env, params, "the request's params are taken over, not copied");
  t.equal(params.SCRIPT_FILENAME, "/srv/cgi-bin/users.ts", "the web server's SCRIPT_FILENAME is gone");
});

t.test("loading the request and context code leaves Node's fetch unloaded: naming Request costs a process 4-5 MiB", async (t) => {
  const lazy =
    'const d = Object.getOwnPropertyDescriptor(globalThis, "Request"); process.stdout.write(typeof d?.get === "function" ? "still lazy" : "loaded");';
  const run = (source: string) =>
    spawnSync(process.execPath, [...process.execArgv, "--input-type=module", "-e", source], { encoding: "utf8" });
  // Node 20 installs fetch's classes as getters that load undici on first use; where a Node has
  // them ready from the start, there is nothing to check.
  const bare = run(lazy);
  if (bare.stdout !== "still lazy") return void t.plan(0, `this Node (${process.version}) has Request loaded from the start`);
  const modules = ["../../src/cgi/request.ts", "../../src/runtime/context.ts"].map((m) => JSON.stringify(new URL(m, import.meta.url).href));
  const child = run(`${modules.map((m) => `import ${m};`).join("\n")}\n${lazy}`);
  t.equal(child.stdout, "still lazy", child.stderr);
});

t.test("request.signal is the signal given (cgi.signal); clone() and new Request(url, request) follow it", async (t) => {
  const controller = new AbortController();
  let asked = 0;
  const req = buildRequest({ REQUEST_METHOD: "GET", REQUEST_URI: "/", HTTP_HOST: "h" }, noBody, () => (asked++, controller.signal));
  t.equal(asked, 0, "not asked for until read");
  t.equal(req.signal, controller.signal);
  const clone = req.clone();
  const copy = new Request("http://upstream.example/", req);
  t.notOk(clone.signal.aborted || copy.signal.aborted);
  controller.abort(new Error("client gone"));
  t.same([req.signal.aborted, clone.signal.aborted, copy.signal.aborted], [true, true, true]);
  t.equal((copy.signal.reason as Error).message, "client gone");
  const unsignalled = buildRequest({ REQUEST_METHOD: "GET", REQUEST_URI: "/", HTTP_HOST: "h" }, noBody);
  t.notOk(unsignalled.signal.aborted, "without one, Request's own (which never fires)");
});
