// cgi.form(), cgi.json() and cgi.text(): each may be called again with the same result, and
// reading one body two ways is a coded error instead of undici's "Body is unusable".
import t from "tap";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Cgi } from "../../src/runtime/types.ts";
import { AccessLog } from "../../src/server/access-log.ts";
import { Dispatcher } from "../../src/server/dispatch.ts";
import { Logger, LogSink } from "../../src/server/log.ts";
import { createToolkit } from "../../src/server/toolkit.ts";
import { defaults } from "../../src/config/load.ts";
import { RecordingExchange } from "../helpers/recording-exchange.ts";

const logged: string[] = [];
const sink = new LogSink("stderr");
sink.line = (text: string) => void logged.push(text);
const tmp = t.testdir({ uploads: {}, sessions: {} });
const uploads = join(tmp, "uploads");

function dispatcher(script: (cgi: Cgi) => unknown) {
  return new Dispatcher({
    root: "/root",
    resolver: { resolve: () => ({ file: "/root/s.ts", scriptName: "/s", pathInfo: "" }) },
    loader: { load: () => ({ default: script }) },
    maxBodySize: 1 << 20,
    requestTimeout: 0,
    log: new Logger(sink, "debug"),
    accessLog: new AccessLog(sink),
    toolkit: createToolkit({ ...defaults, upload_tmp_dir: uploads, session_store: "memory", session_save_path: join(tmp, "sessions") }),
  });
}

async function post(script: (cgi: Cgi) => unknown, type: string, body: string, method = "POST") {
  const bytes = Buffer.from(body);
  const ex = new RecordingExchange(
    { REQUEST_METHOD: method, CONTENT_TYPE: type, CONTENT_LENGTH: String(bytes.byteLength) },
    bytes.byteLength > 0 ? [bytes.subarray(0, 3), bytes.subarray(3)] : [],
  );
  await dispatcher(script).dispatch(ex);
  return ex;
}

t.test("cgi.form() twice gives the same Form; fields, repeated names and a[] arrays", async (t) => {
  const ex = await post(
    async (cgi) => {
      const form = await cgi.form();
      t.equal(await cgi.form(), form, "the same object");
      return { name: form.get("name"), tags: form.getAll("tag"), nested: form.nested() };
    },
    "application/x-www-form-urlencoded",
    "name=Ada&tag=a&tag=b&a[]=1&a[]=2&u[x]=y",
  );
  t.equal(ex.status, 200);
  t.same(JSON.parse(ex.body), { name: "Ada", tags: ["a", "b"], nested: { name: "Ada", tag: "b", a: ["1", "2"], u: { x: "y" } } });
});

t.test("cgi.json() and cgi.text() twice give the same value, and share one read", async (t) => {
  const ex = await post(
    async (cgi) => {
      const value = await cgi.json<{ x: number }>();
      t.equal(await cgi.json(), value, "the same object");
      return { value, text: await cgi.text(), again: await cgi.text() };
    },
    "application/json",
    '{"x":1}',
  );
  t.same(JSON.parse(ex.body), { value: { x: 1 }, text: '{"x":1}', again: '{"x":1}' });
});

t.test("a body that is not JSON is a 400 with TSCGI_E_API_BODY_JSON in the log", async (t) => {
  logged.length = 0;
  const ex = await post((cgi) => cgi.json(), "application/json", "{nope");
  t.equal(ex.status, 400);
  t.match(logged.join("\n"), /TSCGI_E_API_BODY_JSON|not valid JSON/);
});

t.test("GET has no body: an empty form, empty text", async (t) => {
  const ex = await post(async (cgi) => ({ fields: [...(await cgi.form())].length, text: await cgi.text() }), "", "", "GET");
  t.same(JSON.parse(ex.body), { fields: 0, text: "" });
});

t.test("two ways of reading one body: a coded error naming both, never 'Body is unusable'", async (t) => {
  const cases: Array<[string, (cgi: Cgi) => Promise<unknown>, RegExp]> = [
    [
      "form, then request",
      async (cgi) => (await cgi.form(), await cgi.request.text()),
      /cgi\.request cannot read.*cgi\.form\(\) has read it/,
    ],
    [
      "request, then form",
      async (cgi) => (await cgi.request.text(), await cgi.form()),
      /cgi\.form\(\) cannot read.*cgi\.request has read it/,
    ],
    ["text, then form", async (cgi) => (await cgi.text(), await cgi.form()), /cgi\.form\(\) cannot read.*cgi\.text\(\) has read it/],
    ["form, then json", async (cgi) => (await cgi.form(), await cgi.json()), /cgi\.json\(\) cannot read.*cgi\.form\(\) has read it/],
  ];
  for (const [name, script, message] of cases) {
    let caught: { code?: string; message?: string } = {};
    const ex = await post(
      async (cgi) => {
        try {
          await script(cgi);
        } catch (error) {
          caught = error as Error;
          throw error;
        }
      },
      "application/x-www-form-urlencoded",
      "a=1",
    );
    t.equal(ex.status, 500, name);
    t.equal(caught.code, "TSCGI_E_API_BODY_CONSUMED", name);
    t.match(caught.message, message, name);
  }
});

t.test("cgi.request's body still works when nothing else read it, after cgi.request was built", async (t) => {
  const ex = await post(async (cgi) => `${cgi.request.method} ${await cgi.request.text()}`, "text/plain", "hello");
  t.equal(ex.body, "POST hello");
});

t.test("uploads are deleted when the request ends, after the response, unless moved", async (t) => {
  const boundary = "XyZ";
  const part = (name: string, file: string, content: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${file}"\r\nContent-Type: text/plain\r\n\r\n${content}\r\n`;
  const body = part("keep", "k.txt", "kept") + part("drop", "d.txt", "dropped") + `--${boundary}--\r\n`;
  const moved = join(tmp, "moved.txt");
  let paths: string[] = [];
  const ex = await post(
    async (cgi) => {
      const form = await cgi.form();
      paths = form.files.map((file) => file.path);
      await form.file("keep")!.move(moved);
      return form.files.map((file) => `${file.field}:${file.name}:${file.size}`).join(",");
    },
    `multipart/form-data; boundary=${boundary}`,
    body,
  );
  t.equal(ex.body, "keep:k.txt:4,drop:d.txt:7");
  // dispatch() resolves once the request is over, its cleanup included.
  t.notOk(existsSync(paths[1]), "the file not moved is gone");
  t.ok(existsSync(moved), "the moved file stays");
  t.same(readdirSync(uploads), [], "no request directory left");
});

t.test("form.nested(): plain names, an empty name (PHP's next index) and a[] side by side", async (t) => {
  const ex = await post(async (cgi) => (await cgi.form()).nested(), "application/x-www-form-urlencoded", "a=1&=x&b[]=2&a=3&=y");
  t.same(JSON.parse(ex.body), { a: "3", 0: "x", 1: "y", b: ["2"] });
});
