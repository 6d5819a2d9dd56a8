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
import { readWhole } from "../../src/runtime/body-readers.ts";

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

t.test("cgi.request.arrayBuffer(), text() and json() read the body straight from the gateway, once, as Request's own would", async (t) => {
  const seen: Record<string, unknown> = {};
  const ex = await post(
    async (cgi) => {
      const request = cgi.request;
      const buffer = await request.arrayBuffer();
      seen.isArrayBuffer = buffer instanceof ArrayBuffer;
      seen.text = Buffer.from(buffer).toString();
      seen.used = request.bodyUsed;
      seen.again = await request.arrayBuffer().then(
        () => "read twice",
        (error: Error) => error.name,
      );
      seen.other = await cgi.text().then(
        () => "read by cgi.text()",
        (error: { code?: string }) => error.code,
      );
      return "ok";
    },
    "application/octet-stream",
    "hello, body",
  );
  t.equal(ex.status, 200);
  t.same(seen, { isArrayBuffer: true, text: "hello, body", used: true, again: "TypeError", other: "TSCGI_E_API_BODY_CONSUMED" });

  const utf8 = await post(async (cgi) => JSON.stringify(await cgi.request.text()), "text/plain", "\ufeffZürich");
  t.equal(JSON.parse(utf8.body), "Zürich", "UTF-8 decoded, a byte-order mark dropped, as Request.text() does");
  const json = await post(async (cgi) => (await cgi.request.json()) as object, "application/json", '{"a":[1,2]}');
  t.same(JSON.parse(json.body), { a: [1, 2] });
  let caught: unknown;
  await post(
    async (cgi) => {
      caught = await cgi.request.json().catch((error: unknown) => error);
      return "";
    },
    "application/json",
    "{nope",
  );
  t.type(caught, SyntaxError, "bad JSON rejects with a SyntaxError, as Request.json() does");
});

t.test("once cgi.request's stream is touched (read, cloned), its own methods run and see the same bytes", async (t) => {
  const cloned = await post(
    async (cgi) => {
      const copy = cgi.request.clone();
      return `${await cgi.request.text()}|${await copy.text()}`;
    },
    "text/plain",
    "abcdef",
  );
  t.equal(cloned.body, "abcdef|abcdef", "a clone and the original both read the whole body");
  const streamed = await post(
    async (cgi) => {
      const reader = cgi.request.body?.getReader();
      const first = await reader?.read();
      reader?.releaseLock();
      const rest = await cgi.request.text().catch((error: Error) => error.name);
      return `${Buffer.from(first?.value ?? []).toString()}|${rest}`;
    },
    "text/plain",
    "abcdef",
  );
  t.equal(streamed.body, "abc|TypeError", "a body the stream began to give cannot be read whole (Body is unusable)");
});

t.test("cgi.request.arrayBuffer(): the body capped at max_body_size (413), cut at CONTENT_LENGTH, its chunks given back", async (t) => {
  const big = Buffer.alloc((1 << 20) + 1, 0x61);
  const tooBig = new RecordingExchange({ REQUEST_METHOD: "POST", CONTENT_LENGTH: String(big.length) }, [
    big.subarray(0, 1000),
    big.subarray(1000),
  ]);
  await dispatcher(async (cgi) => (await cgi.request.arrayBuffer()).byteLength).dispatch(tooBig);
  t.equal(tooBig.status, 413);

  const released: Uint8Array[] = [];
  const chunks = [Buffer.from("0123"), Buffer.from("4567"), Buffer.from("89")];
  const cut = new RecordingExchange({ REQUEST_METHOD: "POST", CONTENT_LENGTH: "6" }, chunks);
  cut.releaseBody = (chunk: Uint8Array) => void released.push(chunk);
  await dispatcher(async (cgi) => {
    const bytes = new Uint8Array(await cgi.request.arrayBuffer());
    // Given back chunks may be reused by the connection at once: the answer must not share them.
    for (const chunk of chunks) chunk.fill(0x2a);
    return `${bytes.byteLength}:${Buffer.from(bytes).toString()}`;
  }).dispatch(cut);
  t.equal(cut.body, "6:012345", "a copy of the first CONTENT_LENGTH bytes");
  t.equal(released.length, 2, "each chunk read is given back");
});

t.test("the readers that give back every chunk say so before their first read; those that keep chunks do not", async (t) => {
  const boundary = "b0";
  const multipart = `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="f.txt"\r\n\r\nfile\r\n--${boundary}--\r\n`;
  const cases: Array<[string, string, string, (cgi: Cgi) => Promise<unknown>, boolean]> = [
    ["cgi.request.arrayBuffer()", "application/octet-stream", "bytes", (cgi) => cgi.request.arrayBuffer(), true],
    ["cgi.text()", "text/plain", "text", (cgi) => cgi.text(), true],
    ["cgi.json()", "application/json", "[1]", (cgi) => cgi.json(), true],
    ["a multipart cgi.form()", `multipart/form-data; boundary=${boundary}`, multipart, (cgi) => cgi.form(), true],
    // It keeps views of the chunks until it parses them whole, and the stream's reader keeps what it reads.
    ["a urlencoded cgi.form()", "application/x-www-form-urlencoded", "a=1", (cgi) => cgi.form(), false],
    ["cgi.request.body", "application/octet-stream", "bytes", (cgi) => new Response(cgi.request.body).text(), false],
  ];
  for (const [reader, type, body, read, lends] of cases) {
    const ex = new RecordingExchange({ REQUEST_METHOD: "POST", CONTENT_TYPE: type, CONTENT_LENGTH: String(body.length) }, [
      Buffer.from(body),
    ]);
    let lentAfterReads = -1;
    ex.releaseBody = () => {};
    ex.lendBody = () => void (lentAfterReads = ex.reads);
    await dispatcher(async (cgi) => (await read(cgi), "read")).dispatch(ex);
    t.equal(ex.body, "read", reader);
    t.equal(lentAfterReads, lends ? 0 : -1, lends ? `${reader} lends before reading` : `${reader} does not lend`);
  }
});

t.test("readWhole: one buffer whatever the chunks, grown by doubling when the length is unknown", async (t) => {
  function from(...parts: Uint8Array[]) {
    return async () => parts.shift() ?? null;
  }
  const a = Buffer.alloc(40_000, 1);
  const b = Buffer.alloc(40_000, 2);
  const c = Buffer.alloc(5, 3);
  const unknown = await readWhole(from(a, b, c), 0, -1);
  t.equal(unknown.byteLength, 80_005, "no CONTENT_LENGTH: room grows by doubling");
  t.same([unknown[0], unknown[40_000], unknown[80_004]], [1, 2, 3]);
  const short = await readWhole(from(a), 0, 100_000);
  t.equal(short.byteLength, 40_000, "a body shorter than announced is what arrived");
  t.equal((await readWhole(from(), 0, 10)).byteLength, 0);
});

t.test("readWhole keeps the stream's limits: CONTENT_LENGTH, max_body_size, a failed read; each chunk given back", async (t) => {
  const released: Uint8Array[] = [];
  let reads = 0;
  const parts = [Buffer.from("abcdef"), Buffer.from("ghij"), Buffer.from("never read")];
  const read = async () => (reads++, parts.shift() ?? null);
  const cut = await readWhole(read, 0, 8, (chunk) => void released.push(chunk));
  t.equal(Buffer.from(cut).toString(), "abcdefgh", "bytes past CONTENT_LENGTH are dropped");
  t.equal(reads, 2, "nothing is read once CONTENT_LENGTH bytes arrived");
  t.same(
    released.map((chunk) => Buffer.from(chunk).toString()),
    ["abcdef", "gh"],
    "each chunk given back, the cut one too",
  );
  await t.rejects(
    readWhole(async () => Buffer.alloc(10), 15, -1),
    { code: "TSCGI_E_CGI_BODY_TOO_LARGE" },
  );
  await t.rejects(
    readWhole(
      async () => {
        throw new Error("connection reset");
      },
      0,
      -1,
    ),
    { code: "TSCGI_E_CGI_BODY_ABORTED" },
  );
});
