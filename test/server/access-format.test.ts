// Access-log formats: today's default line, one JSON object per line, and PHP-FPM's tokens, all escaped.
import t from "tap";
import { AccessFormatError, STRFTIME_CONVERSIONS } from "../../src/config/access-format.ts";
import { compileAccessFormat, TIME_CONVERSIONS, type AccessEntry } from "../../src/server/access-format.ts";

// %t and %T are local time, as in PHP-FPM; the expectations below are written for UTC.
process.env.TZ = "UTC";

// 2026-11-25 10:00:00.500 UTC, a Wednesday.
const END = Date.UTC(2026, 10, 25, 10, 0, 0, 500);
const entry: AccessEntry = {
  remoteAddr: "127.0.0.1",
  method: "GET",
  uri: "/hello/x?name=ann&b=1",
  status: 200,
  duration: 1234.5678,
  script: "hello.ts",
  query: "name=ann&b=1",
  contentLength: 42,
  remoteUser: "ann",
  params: { HTTP_HOST: "example.org", REQUEST_METHOD: "GET" },
  responseHeader: (name) => (name.toLowerCase() === "content-type" ? "text/html" : null),
  time: END,
};
// Every request-derived field may carry a line break, an escape sequence, quotes or UTF-8.
const EVIL = '/a?x="\n[forged] \x1b[31m\x9b\\ é€ 👍';

t.test("default: exactly the line tscgi always wrote", async (t) => {
  const format = compileAccessFormat("default");
  t.equal(format(entry), '127.0.0.1 - [2026-11-25T10:00:00Z] "GET /hello/x?name=ann&b=1" 200 1234.568ms "hello.ts"');
  t.equal(
    format({ remoteAddr: "", method: "POST", uri: "/x", status: 500, duration: 0.5, script: "-", time: END + 1000 }),
    '- - [2026-11-25T10:00:01Z] "POST /x" 500 0.500ms "-"',
    "only the fields of old are needed",
  );
});

t.test("default: request data is escaped, UTF-8 kept", async (t) => {
  const line = compileAccessFormat("default")({ ...entry, uri: EVIL, method: 'G"ET' });
  t.equal(line, '127.0.0.1 - [2026-11-25T10:00:00Z] "G\\"ET /a?x=\\"\\x0a[forged] \\x1b[31m\\x9b\\\\ é€ 👍" 200 1234.568ms "hello.ts"');
});

t.test("default: the time is now when the entry has none", async (t) => {
  const format = compileAccessFormat("default", { now: () => END + 60_000 });
  const { time, ...untimed } = entry;
  t.match(format(untimed), "[2026-11-25T10:01:00Z]");
});

t.test("json: one object per line, with stable snake_case fields", async (t) => {
  const line = compileAccessFormat("json", { pid: 1234 })(entry);
  t.equal(
    line,
    '{"time":"2026-11-25T10:00:00.500Z","remote_addr":"127.0.0.1","remote_user":"ann","method":"GET",' +
      '"uri":"/hello/x?name=ann&b=1","query":"name=ann&b=1","status":200,"duration_ms":1234.568,' +
      '"content_length":42,"script":"hello.ts","pid":1234}',
  );
  const bare = JSON.parse(
    compileAccessFormat("json", { pid: 1 })({
      remoteAddr: "-",
      method: "GET",
      uri: "/?q",
      status: 404,
      duration: 1,
      script: "-",
      time: END,
    }),
  );
  t.same(
    [bare.remote_addr, bare.remote_user, bare.script, bare.query, bare.content_length],
    [null, null, null, "q", 0],
    "absent values are null (the query is taken from the URI)",
  );
});

t.test("json: control characters, quotes and C1 escaped; the value reads back exactly", async (t) => {
  const line = compileAccessFormat("json")({ ...entry, uri: EVIL, query: EVIL });
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  t.notMatch(line, /[\x00-\x1f\x7f-\x9f]/, "no raw control character in the line");
  t.match(line, "\\n[forged] \\u001b[31m\\u009b\\\\ é€ 👍");
  const parsed = JSON.parse(line);
  t.equal(parsed.uri, EVIL);
  t.equal(parsed.query, EVIL);
});

t.test("tokens: PHP-FPM's default format and the rest of the tokens", async (t) => {
  const options = { pid: 1234, masterPid: 1000, memory: () => 50 * 1024 * 1024 + 512 };
  t.equal(
    compileAccessFormat('%R - %u %t "%m %r%Q%q" %s', options)(entry),
    '127.0.0.1 - ann 25/Nov/2026:09:59:59 +0000 "GET /hello/x?name=ann&b=1" 200',
    "%t is the start (end minus duration); %r%Q%q is the whole URI",
  );
  t.equal(
    compileAccessFormat("%d %{seconds}d %{mili}d %{milliseconds}d %{micro}d", options)(entry),
    "1.235 1.235 1234.568 1234.568 1234568",
  );
  t.equal(compileAccessFormat("%M %{bytes}M %{kilo}M %{megabytes}M", options)(entry), "52429312 52429312 51200 50");
  t.equal(compileAccessFormat("%n %p %P %C %{user}C %l %f %s %%", options)(entry), "tscgi 1234 1000 - - 42 hello.ts 200 %");
  t.equal(compileAccessFormat("%{HTTP_HOST}e %{MISSING}e %{Content-Type}o %{X-Nope}o", options)(entry), "example.org - text/html -");
  t.equal(
    compileAccessFormat("%T|%{%Y-%m-%d %H:%M:%S}T|%{%s}t", options)(entry),
    "25/Nov/2026:10:00:00 +0000|2026-11-25 10:00:00|1795600799",
  );
});

t.test("tokens: absent values", async (t) => {
  const bare: AccessEntry = { remoteAddr: "", method: "", uri: "/x", status: 204, duration: 0, script: "-", time: END };
  t.equal(compileAccessFormat("%R %u %m %r%Q%q| %l %{HOST}e %{Server}o %f", { pid: 1 })(bare), "- - - /x| 0 - - -");
});

t.test("tokens: every request-derived field is escaped, literal text is not", async (t) => {
  const evil: AccessEntry = {
    ...entry,
    remoteAddr: "\x1b]0;x\x07",
    method: "G\nET",
    uri: EVIL,
    query: undefined,
    remoteUser: 'a"b',
    script: "a\rb.ts",
    params: { HTTP_X: "1\n2" },
    responseHeader: () => "\x00",
  };
  const line = compileAccessFormat('"%R" "%u" "%m %r%Q%q" "%f" %{HTTP_X}e %{X}o\t', { pid: 1 })(evil);
  t.equal(line, '"\\x1b]0;x\\x07" "a\\"b" "G\\x0aET /a?x=\\"\\x0a[forged] \\x1b[31m\\x9b\\\\ é€ 👍" "a\\x0db.ts" 1\\x0a2 \\x00\t');
});

t.test("tokens: a request pays only for the tokens used", async (t) => {
  let reads = 0;
  const memory = () => {
    reads++;
    return 1024;
  };
  let clock = 0;
  const now = () => {
    clock++;
    return END;
  };
  const { time, ...untimed } = entry;
  compileAccessFormat("%R %s %d", { memory, now })(untimed);
  t.same([reads, clock], [0, 0], "neither memory nor the clock is read");
  compileAccessFormat("%{kilo}M %T", { memory, now })(untimed);
  t.same([reads, clock], [1, 1], "each once when used");
  const constant = compileAccessFormat("%n-%p", { pid: 7 });
  t.equal(constant(entry), "tscgi-7");
});

t.test("tokens: the time is formatted once a second", async (t) => {
  const format = compileAccessFormat("%{%H:%M:%S}T");
  t.equal(format({ ...entry, time: END }), "10:00:00");
  t.equal(format({ ...entry, time: END + 400 }), "10:00:00");
  t.equal(format({ ...entry, time: END + 600 }), "10:00:01");
});

t.test("strftime: every conversion the parser admits is implemented", async (t) => {
  t.same([...TIME_CONVERSIONS].sort(), [...STRFTIME_CONVERSIONS].sort());
  const format = compileAccessFormat("%{%a|%A|%b|%h|%B|%d|%D|%e|%F|%H|%I|%j|%k|%l|%m|%M|%p|%r|%R|%s|%S|%T|%u|%w|%y|%Y|%z|%Z|%%|%n|%t}T");
  t.equal(
    format({ ...entry, time: Date.UTC(2027, 0, 3, 15, 4, 5) }),
    "Sun|Sunday|Jan|Jan|January|03|01/03/27| 3|2027-01-03|15|03|003|15| 3|01|04|PM|03:04:05 PM|15:04|1798988645|05|15:04:05|7|0|27|2027|+0000|UTC|%|\n|\t",
  );
  t.equal(compileAccessFormat("%{%I %p %j}T")({ ...entry, time: Date.UTC(2028, 11, 31, 0, 0, 0) }), "12 AM 366", "leap year, midnight");
});

t.test("strftime: local time, with the zone's offset and name", async (t) => {
  t.teardown(() => void (process.env.TZ = "UTC"));
  const time = Date.UTC(2027, 0, 3, 15, 4, 5);
  process.env.TZ = "America/New_York";
  t.equal(compileAccessFormat("%t %{%Z}t")({ ...entry, time, duration: 0 }), "03/Jan/2027:10:04:05 -0500 EST");
  process.env.TZ = "Asia/Kolkata";
  t.equal(compileAccessFormat("%t")({ ...entry, time, duration: 0 }), "03/Jan/2027:20:34:05 +0530");
});

t.test("a bad format is refused when compiled, not per request", async (t) => {
  t.throws(() => compileAccessFormat("%R %k"), AccessFormatError);
  t.throws(() => compileAccessFormat("%R %k"), { code: "TSCGI_E_CONFIG_ACCESS_FORMAT", token: "%k" });
});
