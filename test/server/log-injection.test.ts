// Request data in a thrown message, or in a Headers error, reaches the error log escaped: through
// a real nginx, no request can split a log line, forge an entry or send a terminal escape.
import t, { type Test } from "tap";
import { nginxMissing } from "../helpers/nginx.ts";
import { poolBehindNginx } from "../helpers/pool.ts";
import { repo } from "../helpers/tscgi.ts";

const fixtures = `${repo}test/fixtures/cgi-bin`;
const missing = nginxMissing();

// A forged entry after a line break, a CR, and ESC sequences (clear screen, a CSI as one C1 byte).
const FORGED = "[2026-12-02T00:00:00.000Z] ERROR: FORGED";
const payload = encodeURIComponent(`42\n${FORGED}\r\x1b[2J\x1b]0;title\x07\u009b31m`);
// Any C0 control (tab aside), DEL or C1 control written as a raw byte.
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

/** The log's lines, checked: none is a forged entry, none holds a raw control byte. */
function checkLog(t: Test, log: string): void {
  const lines = log.split("\n");
  const forged = lines.find((line) => /^\s*\[[^\]]*\] [A-Z]+: FORGED/.test(line));
  t.notOk(forged, `no line is an entry saying FORGED${forged ? `: ${JSON.stringify(forged)}` : ""}`);
  const raw = lines.find((line) => RAW_CONTROL.test(line));
  t.notOk(raw, `no raw control byte${raw ? `: ${JSON.stringify(raw)}` : ""}`);
}

t.test("thrown messages and Headers errors quoting the request are escaped", { skip: missing }, async (t) => {
  const { tscgi, nginx } = await poolBehindNginx(t, ["--root", fixtures, "--workers", "1"]);

  const thrown = await fetch(`${nginx.url}/throwmsg?id=${payload}`);
  t.equal(thrown.status, 500);
  await tscgi.waitFor("no such user: 42");
  const header = await fetch(`${nginx.url}/badheader?v=${payload}`);
  t.equal(header.status, 500);
  await tscgi.waitFor(/GET \/badheader\?v=\S+: TypeError/);

  const log = tscgi.output();
  t.match(log, "no such user: 42\\x0a[2026-12-02T00:00:00.000Z] ERROR: FORGED\\x0d\\x1b[2J", "the message is kept, escaped, on its line");
  t.match(log, /TypeError: .*\\x0a\[2026-12-02T00:00:00\.000Z\] ERROR: FORGED\\x0d\\x1b\[2J.* \[script badheader\.ts\]/);
  checkLog(t, log);
});
