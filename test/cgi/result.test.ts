// What a script returns becomes status, headers and body: html`` markup is sent as HTML.
import t from "tap";
import { toScriptResponse } from "../../src/cgi/result.ts";
import { html } from "../../src/runtime/html.ts";

const text = (body: unknown) => Buffer.from(body as Uint8Array).toString();

t.test("returned html`` markup is a text/html page, not a JSON object", async (t) => {
  const name = "<b>Ada</b>";
  const response = toScriptResponse(html`<p>Hello, ${name}</p>`, 0, []);
  t.equal(response.status, 200);
  t.same(response.headers, ["Content-Type", "text/html; charset=utf-8", "Content-Length", "36"]);
  t.equal(text(response.body), "<p>Hello, &lt;b&gt;Ada&lt;/b&gt;</p>");
  const notFound = toScriptResponse(html`<h1>Not here</h1>`, 404, ["Content-Type", "application/xhtml+xml"]);
  t.equal(notFound.status, 404, "cgi.status() applies");
  t.same(notFound.headers.slice(0, 2), ["Content-Type", "application/xhtml+xml"], "a type the script set wins");
});

t.test("a plain object is still JSON", async (t) => {
  const response = toScriptResponse({ html: "<p>" }, 0, []);
  t.equal(text(response.body), '{"html":"<p>"}');
});

t.test("markup, bytes and JSON are answered without touching fetch's Response, whose first use loads undici", async (t) => {
  const real = Object.getOwnPropertyDescriptor(globalThis, "Response")!;
  const RealResponse = Response;
  let looked = 0;
  Object.defineProperty(globalThis, "Response", {
    configurable: true,
    get: () => {
      looked++;
      return RealResponse;
    },
  });
  t.teardown(() => Object.defineProperty(globalThis, "Response", real));
  for (const value of [html`<p>hi</p>`, new Uint8Array([1]), new ArrayBuffer(1), { a: 1 }, [1, 2], Object.create(null)]) {
    toScriptResponse(value, 0, []);
  }
  t.equal(looked, 0, "a worker's first page does not pay for loading fetch");
  const response = toScriptResponse(new RealResponse("made", { status: 201 }), 0, []);
  t.equal(response.status, 201, "a returned Response is still one");
});
