// Dispatch without a socket: what a script returns, throws or streams becomes the right response.
import t from "tap";
import { SENT, onSignalAbort, type Exchange, type ResponseOutcome, type StreamOutcome } from "../../src/cgi/exchange.ts";
import type { HeaderList } from "../../src/cgi/head.ts";
import { HttpError } from "../../src/runtime/http-error.ts";
import type { Cgi } from "../../src/runtime/types.ts";
import { AccessLog } from "../../src/server/access-log.ts";
import { Dispatcher } from "../../src/server/dispatch.ts";
import { Logger, LogSink } from "../../src/server/log.ts";
import { ScriptNotFoundError } from "../../src/scripts/errors.ts";

/** Records what dispatch sends, as a web server would see it. */
class RecordingExchange implements Exchange {
  params: Record<string, string>;
  status = 0;
  headers: HeaderList = [];
  chunks: Buffer[] = [];
  ended = false;
  failed = false;
  aborted = false;
  #abort = new AbortController();
  #body: Buffer[];
  constructor(params: Record<string, string>, body: Buffer[] = []) {
    this.params = Object.assign(Object.create(null), { REQUEST_METHOD: "GET", REQUEST_URI: "/x", ...params });
    this.#body = body;
  }
  async readBody() {
    return this.#body.shift() ?? null;
  }
  get signal() {
    return this.#abort.signal;
  }
  onAbort(listener: (reason: unknown) => void) {
    return onSignalAbort(this.#abort.signal, listener);
  }
  abort() {
    this.aborted = true;
    this.#abort.abort();
  }
  async respond(status: number, headers: HeaderList, body: Uint8Array | null, outcome: ResponseOutcome) {
    await this.head(status, headers, body);
    this.ended = true;
    this.failed = outcome === "failed";
  }
  async head(status: number, headers: HeaderList, firstChunk: Uint8Array | null) {
    this.status = status;
    this.headers = [...headers];
    if (firstChunk) this.chunks.push(Buffer.from(firstChunk));
  }
  async write(chunk: Uint8Array) {
    this.chunks.push(Buffer.from(chunk));
  }
  end(outcome: StreamOutcome) {
    this.ended = true;
    this.failed = outcome === "failed";
  }
  get body() {
    return Buffer.concat(this.chunks).toString();
  }
  header(name: string) {
    const i = this.headers.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === name);
    return i === -1 ? undefined : this.headers[i + 1];
  }
}

const logged: string[] = [];
// A real sink (enabled), its output caught here instead of reaching stderr.
const sink = new LogSink("stderr");
sink.line = (text: string) => void logged.push(text);

function dispatcher(scripts: Record<string, unknown>, options: { requestTimeout?: number; maxBodySize?: number } = {}) {
  return new Dispatcher({
    root: "/root",
    resolver: {
      resolve(path: string) {
        const name = path.slice(1).split("/")[0];
        if (!(name in scripts)) throw new ScriptNotFoundError(path);
        return { file: `/root/${name}.ts`, scriptName: `/${name}`, pathInfo: path.slice(name.length + 1) };
      },
    },
    loader: { load: (file: string) => ({ default: scripts[file.slice(6, -3)] }) },
    maxBodySize: options.maxBodySize ?? 1000,
    requestTimeout: options.requestTimeout ?? 0,
    log: new Logger(sink, "debug"),
    accessLog: new AccessLog(sink),
  });
}

async function run(scripts: Record<string, unknown>, params: Record<string, string>, body?: Buffer[]) {
  const ex = new RecordingExchange(params, body);
  await dispatcher(scripts).dispatch(ex);
  return ex;
}

t.test("classic return values: string, object, bytes, nothing", async (t) => {
  const scripts = {
    s: () => "hi",
    o: () => ({ a: 1 }),
    b: () => new Uint8Array([104, 105]),
    n: () => undefined,
  };
  const s = await run(scripts, { DOCUMENT_URI: "/s" });
  t.same([s.status, s.body, s.header("content-type"), s.ended, s.failed], [200, "hi", "text/html; charset=utf-8", true, false]);
  t.equal((await run(scripts, { DOCUMENT_URI: "/o" })).body, '{"a":1}');
  t.equal((await run(scripts, { DOCUMENT_URI: "/b" })).header("content-type"), "application/octet-stream");
  const n = await run(scripts, { DOCUMENT_URI: "/n" });
  t.same([n.status, n.body], [204, ""]);
});

t.test("a fetch-style script gets a Request and env", async (t) => {
  const scripts = {
    f: {
      fetch: (req: Request, env: Record<string, string>) =>
        new Response(`${req.method} ${new URL(req.url).pathname} ${env.PATH_INFO}`, { status: 201, headers: { "x-a": "1" } }),
    },
  };
  const ex = await run(scripts, { DOCUMENT_URI: "/f/extra", REQUEST_URI: "/f/extra", HTTP_HOST: "h" });
  t.same([ex.status, ex.body, ex.header("x-a")], [201, "GET /f/extra /extra", "1"]);
});

t.test("streaming with status, header and write", async (t) => {
  const scripts = {
    w: async (cgi: Cgi) => {
      cgi.status(202).header("X-Streamed", "yes");
      await cgi.write("a");
      await cgi.write(new Uint8Array([98]));
      t.throws(() => cgi.header("X-Late", "1"), /headers are already sent/);
      return "c";
    },
  };
  const ex = await run(scripts, { DOCUMENT_URI: "/w" });
  t.same(
    [ex.status, ex.body, ex.header("x-streamed"), ex.header("content-type"), ex.ended],
    [202, "abc", "yes", "text/html; charset=utf-8", true],
  );
});

t.test("HEAD answers headers only, for every kind of result", async (t) => {
  const scripts = {
    s: () => "hello",
    r: () => new Response("from a response"),
    w: async (cgi: Cgi) => void (await cgi.write("streamed")),
  };
  for (const name of ["s", "r", "w"]) {
    const ex = await run(scripts, { DOCUMENT_URI: `/${name}`, REQUEST_METHOD: "HEAD" });
    t.same([ex.status, ex.body, ex.ended], [200, "", true], name);
  }
  t.equal((await run(scripts, { DOCUMENT_URI: "/s", REQUEST_METHOD: "HEAD" })).header("content-length"), "5");
});

t.test("a throw before output is a 500 with no detail; the log has the detail", async (t) => {
  logged.length = 0;
  const ex = await run(
    {
      e: () => {
        throw new Error("secret detail");
      },
    },
    { DOCUMENT_URI: "/e" },
  );
  t.same([ex.status, ex.failed], [500, true]);
  const id = /^500 Internal Server Error\nrequest id: ([0-9a-f]{12})\n$/.exec(ex.body)?.[1];
  t.ok(id, `the page has a request id: ${JSON.stringify(ex.body)}`);
  t.notMatch(ex.body, /secret/);
  await new Promise((r) => setImmediate(r));
  t.match(logged.join("\n"), new RegExp(`ERROR: GET /x: Error: secret detail .*\\[request id ${id}\\]`), "the log line has the same id");
});

t.test("HttpError answers its status and message", async (t) => {
  const ex = await run(
    {
      h: () => {
        throw new HttpError(403, "not yours");
      },
    },
    { DOCUMENT_URI: "/h" },
  );
  t.same([ex.status, ex.body], [403, "not yours\n"]);
});

t.test("a throw after the first write cuts the response and marks it failed", async (t) => {
  const scripts = {
    m: async (cgi: Cgi) => {
      await cgi.write("part");
      throw new Error("midway");
    },
  };
  const ex = await run(scripts, { DOCUMENT_URI: "/m" });
  t.same([ex.status, ex.body, ex.ended, ex.failed], [200, "part", true, true]);
});

t.test("a bad header from a script is a 500 and never sent", async (t) => {
  const ex = await run(
    {
      c: (cgi: Cgi) => {
        cgi.header("X", "a\r\nb: c");
        return "x";
      },
    },
    { DOCUMENT_URI: "/c" },
  );
  t.equal(ex.status, 500);
  t.equal(ex.header("x"), undefined);
});

t.test("not found, bad export and over-limit bodies get their statuses", async (t) => {
  t.equal((await run({}, { DOCUMENT_URI: "/missing" })).status, 404);
  t.equal((await run({ x: 42 }, { DOCUMENT_URI: "/x" })).status, 500);
  t.equal((await run({ x: { nofetch: 1 } }, { DOCUMENT_URI: "/x" })).status, 500);
  const big = await run({ p: () => "ran" }, { DOCUMENT_URI: "/p", REQUEST_METHOD: "POST", CONTENT_LENGTH: "1001" });
  t.same([big.status, big.body.includes("ran")], [413, false], "413 before the script runs");
  const streamed = await run(
    { p: async (cgi: Cgi) => (await cgi.request.arrayBuffer()).byteLength },
    { DOCUMENT_URI: "/p", REQUEST_METHOD: "POST" },
    [Buffer.alloc(600), Buffer.alloc(600)],
  );
  t.equal(streamed.status, 413, "a body without a length is counted as it streams");
});

t.test("SCRIPT_NAME + PATH_INFO are used when DOCUMENT_URI is absent", async (t) => {
  const ex = await run({ u: (cgi: Cgi) => cgi.env.PATH_INFO }, { SCRIPT_NAME: "/u", PATH_INFO: "/7" });
  t.equal(ex.body, "/7");
});

t.test("a script past request_timeout gets 504, its signal fires, the log says so", async (t) => {
  logged.length = 0;
  let sawAbort = false;
  const scripts = {
    slow: (cgi: Cgi) =>
      new Promise<string>((resolve) => {
        cgi.signal.addEventListener("abort", () => {
          sawAbort = true;
          resolve("too late");
        });
      }),
  };
  const ex = new RecordingExchange({ DOCUMENT_URI: "/slow" });
  const d = dispatcher(scripts, { requestTimeout: 50 });
  // The sweep timer is unref'd (a server's sockets keep the process alive); this test has none.
  const keepAlive = setTimeout(() => {}, 5000);
  await d.dispatch(ex);
  clearTimeout(keepAlive);
  t.same([ex.status, sawAbort], [504, true]);
  t.match(ex.body, /^504 Gateway Timeout\nrequest id: [0-9a-f]{12}\n$/);
  t.equal(d.inflight, 0);
  await new Promise((r) => setImmediate(r));
  t.match(logged.join("\n"), /TSCGI_E_SERVER_REQUEST_TIMEOUT/);
  d.close();
});

t.test("idle() waits for requests in flight", async (t) => {
  let release!: () => void;
  const d = dispatcher({ w: () => new Promise<string>((r) => (release = () => r("done"))) });
  const ex = new RecordingExchange({ DOCUMENT_URI: "/w" });
  const done = d.dispatch(ex);
  let idle = false;
  const waiting = d.idle().then(() => (idle = true));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  t.equal(idle, false, "still waiting after several event-loop turns");
  release();
  await done;
  await waiting;
  t.same([idle, ex.body], [true, "done"]);
});

t.test("the access log escapes control characters in request data", async (t) => {
  logged.length = 0;
  await run({ s: () => "x" }, { DOCUMENT_URI: "/s", REQUEST_URI: '/s?a="\n[forged] line' });
  await new Promise((r) => setImmediate(r));
  const line = logged.find((l) => l.includes("/s?a="))!;
  t.notMatch(line, /\n/);
  t.match(line, /\\"\\x0a\[forged\] line/);
});

t.test("a streaming loop that ignores cgi.signal still ends when the client goes away", async (t) => {
  logged.length = 0;
  let writes = 0;
  const ex = new RecordingExchange({ DOCUMENT_URI: "/loop" });
  const scripts = {
    loop: async (cgi: Cgi) => {
      for (;;) {
        await cgi.write("x");
        if (++writes === 5) ex.abort();
      }
    },
  };
  await dispatcher(scripts).dispatch(ex);
  t.equal(writes, 5, "the sixth write rejected");
  await new Promise((r) => setImmediate(r));
  t.notMatch(logged.join("\n"), /ERROR/, "a client leaving is not logged as an error");
  t.match(logged.join("\n"), /" 499 /, "the access log says 499");
});

/** Hands the whole response on at once, as FastCGI does, so dispatch need not wait for it. */
class SyncExchange extends RecordingExchange {
  override respond(status: number, headers: HeaderList, body: Uint8Array | null, outcome: ResponseOutcome): Promise<void> {
    void super.head(status, headers, body);
    this.end(outcome === "failed" ? "failed" : "ok");
    return SENT;
  }
}

t.test("a loaded script that answers synchronously is answered and counted before dispatch returns", async (t) => {
  const d = dispatcher({ s: () => "hi", a: async () => "later" });
  const ex = new SyncExchange({ DOCUMENT_URI: "/s" });
  const done = d.dispatch(ex);
  // No microtask turn in between: on a kept-alive connection the reply leaves with the read that brought the request.
  t.same([ex.status, ex.body, ex.ended, d.stats.requests, d.inflight], [200, "hi", true, 1, 0]);
  await done;
  const later = new SyncExchange({ DOCUMENT_URI: "/a" });
  const pending = d.dispatch(later);
  t.equal(later.ended, false, "an async script is answered once it resolves");
  await pending;
  t.same([later.body, d.stats.requests], ["later", 2]);
});

t.test("requests a script was found for are counted apart from the others", async (t) => {
  const d = dispatcher({
    s: () => "hi",
    boom: () => {
      throw new Error("boom");
    },
  });
  for (const uri of ["/s", "/missing", "/boom", "/s"]) await d.dispatch(new RecordingExchange({ DOCUMENT_URI: uri }));
  t.equal(d.stats.requests, 4);
  t.equal(d.stats.scriptRequests, 3, "the 404 is not a script's; a script that threw is");
});

t.test("a script may answer with any thenable, as await allows", async (t) => {
  const thenable = { then: (resolve: (v: string) => void) => resolve("from a thenable") };
  const ex = await run({ s: () => thenable }, { DOCUMENT_URI: "/s" });
  t.same([ex.status, ex.body], [200, "from a thenable"]);
});

t.test("requests one after another arm the timeout sweep once, not once each", async (t) => {
  const real = globalThis.setInterval;
  let armed = 0;
  globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
    armed++;
    return real(...args);
  }) as typeof setInterval;
  const d = dispatcher({ s: () => "hi" }, { requestTimeout: 60_000 });
  t.teardown(() => {
    globalThis.setInterval = real;
    d.close();
  });
  for (let i = 0; i < 50; i++) await d.dispatch(new RecordingExchange({ DOCUMENT_URI: "/s" }));
  t.equal(d.stats.requests, 50);
  t.equal(armed, 1);
});

t.test("cgi.env is frozen once a script reads it, and only then", async (t) => {
  let frozen = false;
  let threw = false;
  const reads = await run(
    {
      s: (cgi: Cgi) => {
        frozen = Object.isFrozen(cgi.env);
        try {
          (cgi.env as Record<string, string>).REQUEST_METHOD = "PUT";
        } catch {
          threw = true;
        }
        return cgi.env.REQUEST_METHOD;
      },
    },
    { DOCUMENT_URI: "/s" },
  );
  t.same([frozen, threw, reads.body], [true, true, "GET"]);
  const fetchStyle = await run(
    { s: { fetch: (_req: Request, env: Record<string, string>) => String(Object.isFrozen(env)) } },
    { DOCUMENT_URI: "/s" },
  );
  t.equal(fetchStyle.body, "true", "a fetch-style script's env argument is frozen too");
  // Freezing two dozen variables is a measurable part of a hello world: a script that never looks pays nothing.
  const skips = await run({ s: () => "hi" }, { DOCUMENT_URI: "/s" });
  t.equal(Object.isFrozen(skips.params), false);
});
