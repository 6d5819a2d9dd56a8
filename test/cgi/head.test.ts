// Response heads: header validation and the CGI header block.
import t from "tap";
import { checkHeader, checkStatus, formatCgiHead } from "../../src/cgi/head.ts";
import { toScriptResponse } from "../../src/cgi/result.ts";

t.test("CR, LF, NUL and bad names are refused; tabs and latin-1 are fine", async (t) => {
  for (const [name, value] of [
    ["X-A", "a\r\nSet-Cookie: x=1"],
    ["X-A", "a\nb"],
    ["X-A", "a\rb"],
    ["X-A", "a\0b"],
    ["X A", "v"],
    ["X:A", "v"],
    ["", "v"],
    ["X-\u00e9", "v"],
  ]) {
    t.throws(() => checkHeader(name, value), { code: "TSCGI_E_CGI_INVALID_HEADER" }, JSON.stringify([name, value]));
  }
  t.doesNotThrow(() => checkHeader("X-Ok", "a\tb caf\u00e9"));
});

t.test("statuses must be integers from 200 to 599", async (t) => {
  for (const bad of [99, 100, 600, 200.5, "200", NaN]) t.throws(() => checkStatus(bad), { code: "TSCGI_E_CGI_INVALID_STATUS" });
  t.equal(checkStatus(418), 418);
});

t.test("the CGI header block starts with Status and ends with a blank line", async (t) => {
  t.equal(
    formatCgiHead(404, ["Content-Type", "text/plain", "Set-Cookie", "a=1", "Set-Cookie", "b=2"]),
    "Status: 404 Not Found\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n",
  );
  t.equal(formatCgiHead(299, []), "Status: 299 Unknown\r\n\r\n");
});

t.test("return values map to status, type and length", async (t) => {
  const s = toScriptResponse("héllo", 0, []);
  t.equal(s.status, 200);
  t.same(s.headers, ["Content-Type", "text/html; charset=utf-8", "Content-Length", "6"]);
  const j = toScriptResponse({ a: 1 }, 201, []);
  t.equal(j.status, 201);
  t.equal(Buffer.from(j.body as Uint8Array).toString(), '{"a":1}');
  t.equal(j.headers[1], "application/json; charset=utf-8");
  t.equal(toScriptResponse([1, 2], 0, []).headers[1], "application/json; charset=utf-8");
  t.equal(toScriptResponse(new Uint8Array([1, 2]), 0, []).headers[1], "application/octet-stream");
  t.equal(toScriptResponse(new ArrayBuffer(3), 0, []).headers[3], "3");
  t.same(toScriptResponse(undefined, 0, []), { status: 204, headers: [], body: null });
  t.equal(toScriptResponse(null, 302, ["Location", "/x"]).status, 302);
  const typed = toScriptResponse("x", 0, ["content-type", "text/plain"]);
  t.same(typed.headers, ["content-type", "text/plain", "Content-Length", "1"], "a type the script set is kept");
});

t.test("a returned Response keeps its status, headers and body stream", async (t) => {
  const headers = new Headers([
    ["set-cookie", "a=1"],
    ["set-cookie", "b=2"],
    ["x-y", "z"],
  ]);
  const r = toScriptResponse(new Response("body", { status: 418, headers }), 0, ["X-Before", "1"]);
  t.equal(r.status, 418);
  t.same(
    r.headers.filter((_, i) => i % 2 === 0),
    ["X-Before", "content-type", "set-cookie", "set-cookie", "x-y"],
  );
  t.ok(r.body instanceof ReadableStream);
});
