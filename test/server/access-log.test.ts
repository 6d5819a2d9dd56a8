// AccessLog: the configured format, compiled once, one line per recorded request.
import t from "tap";
import { AccessFormatError } from "../../src/config/access-format.ts";
import type { AccessEntry } from "../../src/server/access-format.ts";
import { AccessLog } from "../../src/server/access-log.ts";
import { Dispatcher } from "../../src/server/dispatch.ts";
import { Logger, LogSink } from "../../src/server/log.ts";

function capture(): { sink: LogSink; lines: string[] } {
  const lines: string[] = [];
  const sink = new LogSink("stdout");
  sink.line = (text: string) => void lines.push(text);
  return { sink, lines };
}

const entry: AccessEntry = {
  remoteAddr: "10.0.0.1",
  method: "POST",
  uri: "/form?x=1",
  status: 303,
  duration: 2,
  script: "form.ts",
  query: "x=1",
  contentLength: 5,
  time: Date.UTC(2026, 10, 25, 10, 0, 0),
};

t.test("the default format unless told otherwise", async (t) => {
  const { sink, lines } = capture();
  const log = new AccessLog(sink);
  t.equal(log.enabled, true);
  log.record(entry);
  t.same(lines, ['10.0.0.1 - [2026-11-25T10:00:00Z] "POST /form?x=1" 303 2.000ms "form.ts"']);
});

t.test("json and token formats", async (t) => {
  const { sink, lines } = capture();
  new AccessLog(sink, "json", { pid: 9 }).record(entry);
  new AccessLog(sink, "%m %r%Q%q %s %{mili}d %l %p", { pid: 9 }).record(entry);
  t.same(JSON.parse(lines[0]), {
    time: "2026-11-25T10:00:00.000Z",
    remote_addr: "10.0.0.1",
    remote_user: null,
    method: "POST",
    uri: "/form?x=1",
    query: "x=1",
    status: 303,
    duration_ms: 2,
    content_length: 5,
    script: "form.ts",
    pid: 9,
  });
  t.equal(lines[1], "POST /form?x=1 303 2.000 5 9");
});

t.test("a bad format fails when the log is built", async (t) => {
  t.throws(() => new AccessLog(capture().sink, "%R %Z"), AccessFormatError);
});

t.test("an access log that is off is not enabled", async (t) => {
  t.equal(new AccessLog(new LogSink("off")).enabled, false);
});

t.test("dispatch records what the tokens need", async (t) => {
  const { sink, lines } = capture();
  const params: Record<string, string> = {
    REQUEST_METHOD: "POST",
    REQUEST_URI: "/hi/there?a=1",
    DOCUMENT_URI: "/hi/there",
    QUERY_STRING: "a=1",
    CONTENT_LENGTH: "0",
    REMOTE_ADDR: "192.0.2.7",
    REMOTE_USER: "ann",
    HTTP_HOST: "example.org",
  };
  const exchange = {
    params,
    aborted: false,
    signal: new AbortController().signal,
    onAbort: () => () => {},
    readBody: async () => null,
    respond: async () => {},
    head: async () => {},
    write: async () => {},
    end: () => {},
  };
  const dispatcher = new Dispatcher({
    root: "/root",
    resolver: { resolve: () => ({ file: "/root/hi.ts", scriptName: "/hi", pathInfo: "/there" }) },
    loader: { load: () => ({ default: () => "hello" }) },
    maxBodySize: 0,
    requestTimeout: 0,
    log: new Logger(new LogSink("off")),
    accessLog: new AccessLog(sink, '%R %u "%m %r%Q%q" %s %l %f %{HTTP_HOST}e'),
  });
  await dispatcher.dispatch(exchange);
  dispatcher.close();
  t.same(lines, ['192.0.2.7 ann "POST /hi/there?a=1" 200 0 hi.ts example.org']);
});
