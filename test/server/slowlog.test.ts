// Slow-log entries in PHP-FPM's shape: header, script, request, then the stack (or why there is none).
import t from "tap";
import { formatSlowlogEntry } from "../../src/server/slowlog.ts";

// PHP-FPM stamps slow-log entries in local time; the expectations are written for UTC.
process.env.TZ = "UTC";
const time = Date.UTC(2026, 10, 25, 10, 0, 0);

t.test("an entry with a stack", async (t) => {
  const entry = formatSlowlogEntry({
    time,
    pid: 1234,
    script: "hello.ts",
    uri: "/hello?name=ann",
    method: "GET",
    elapsedMs: 5012.4,
    stack: "    at busy (/srv/cgi-bin/hello.ts:3:9)\n    at handler (/srv/cgi-bin/hello.ts:7:3)\n",
  });
  t.equal(
    entry,
    [
      "",
      "[25-Nov-2026 10:00:00]  [pool tscgi] pid 1234",
      "script_filename = hello.ts",
      "uri = /hello?name=ann",
      "method = GET",
      "elapsed = 5.012s",
      "    at busy (/srv/cgi-bin/hello.ts:3:9)",
      "    at handler (/srv/cgi-bin/hello.ts:7:3)",
    ].join("\n"),
  );
});

t.test("no stack: the script was waiting, not running", async (t) => {
  const entry = formatSlowlogEntry({
    time: new Date(time),
    pid: 7,
    script: "db.ts",
    uri: "/db",
    method: "POST",
    elapsedMs: 30_000,
    stack: null,
    pool: "www",
  });
  const lines = entry.split("\n");
  t.equal(lines[1], "[25-Nov-2026 10:00:00]  [pool www] pid 7");
  t.equal(lines[5], "elapsed = 30.000s");
  t.match(lines[6], /^\(no JavaScript was running: the script was waiting for I\/O/);
  t.equal(lines.length, 7);
});

t.test("request data and stack lines cannot forge lines", async (t) => {
  const entry = formatSlowlogEntry({
    time,
    pid: 1,
    script: "a\nb.ts",
    uri: '/x?"\n[25-Nov-2026 10:00:00]  [pool tscgi] pid 666\x1b[2J é',
    method: "G\rET",
    elapsedMs: 1,
    stack: "Error: bad\x1b[31m\r\n    at x (/a.ts:1:1)\r\n",
  });
  const lines = entry.split("\n");
  t.equal(lines.length, 8);
  t.equal(lines[2], "script_filename = a\\x0ab.ts");
  t.equal(lines[3], 'uri = /x?"\\x0a[25-Nov-2026 10:00:00]  [pool tscgi] pid 666\\x1b[2J é');
  t.equal(lines[4], "method = G\\x0dET");
  t.same(lines.slice(6), ["Error: bad\\x1b[31m", "    at x (/a.ts:1:1)"]);
});
