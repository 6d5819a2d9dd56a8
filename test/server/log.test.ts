// Log sinks and escaping: whole lines, one write per event-loop turn, nothing lost on exit or to a slow pipe.
import t from "tap";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { escapeControlChars, escapeLogMessage, escapeLogText, Logger, LogSink } from "../../src/server/log.ts";
import { mulberry32 } from "../fastcgi/fixtures/fcgi.ts";

const dir = mkdtempSync(join(tmpdir(), "tscgi-log-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const turn = () => new Promise((resolve) => setImmediate(resolve));
const logModule = new URL("../../src/server/log.ts", import.meta.url).href;

t.test("escapeLogText: control characters, quotes and backslashes; UTF-8 kept", async (t) => {
  t.equal(escapeLogText("plain /path?a=1 é€ 👍"), "plain /path?a=1 é€ 👍");
  t.equal(escapeLogText('a"b\\c'), 'a\\"b\\\\c');
  t.equal(escapeLogText("\x00\t\n\r\x1b\x7f\x80\x9b\x9f\xa0"), "\\x00\\x09\\x0a\\x0d\\x1b\\x7f\\x80\\x9b\\x9f\xa0");
});

t.test("escapeLogText, seeded: every unsafe character escaped wherever it stands, the rest untouched", async (t) => {
  const random = mulberry32(0x10e);
  const alphabet = [
    "a",
    "/",
    "?",
    "=",
    " ",
    "é",
    "€",
    "👍",
    '"',
    "\\",
    "\x00",
    "\t",
    "\n",
    "\x1b",
    "\x7f",
    "\x85",
    "\x9b",
    "\xa0",
    "\u2028",
  ];
  const expected = (c: string) => {
    const code = c.charCodeAt(0);
    if (c === '"') return '\\"';
    if (c === "\\") return "\\\\";
    return code <= 0x1f || (code >= 0x7f && code <= 0x9f) ? `\\x${code.toString(16).padStart(2, "0")}` : c;
  };
  const wrong: string[] = [];
  for (let round = 0; round < 2000; round++) {
    const chars = Array.from({ length: Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]);
    const text = chars.join("");
    if (escapeLogText(text) !== chars.map(expected).join("")) wrong.push(JSON.stringify(text));
  }
  t.same(wrong, [], "2000 strings, each escaped as character-by-character escaping would");
});

t.test("escapeControlChars: control characters only, tabs kept", async (t) => {
  t.equal(escapeControlChars('say "hi"\tC:\\dir é'), 'say "hi"\tC:\\dir é');
  t.equal(escapeControlChars("a\nb\r\x1b[2J\x9b"), "a\\x0ab\\x0d\\x1b[2J\\x9b");
});

t.test("a file sink writes whole lines once per event-loop turn", async (t) => {
  const file = join(dir, "turn.log");
  const sink = new LogSink(file);
  t.equal(sink.enabled, true);
  sink.line("one");
  sink.line("two");
  t.equal(readFileSync(file, "utf8"), "", "nothing written yet");
  await turn();
  t.equal(readFileSync(file, "utf8"), "one\ntwo\n");
  sink.line("three");
  sink.close();
  t.equal(readFileSync(file, "utf8"), "one\ntwo\nthree\n", "close flushes");
  sink.line("after close");
  await turn();
  t.equal(readFileSync(file, "utf8"), "one\ntwo\nthree\n", "a closed sink drops lines");
});

t.test("reopen writes to a new file after rotation moved the old one", async (t) => {
  const file = join(dir, "rotate.log");
  const sink = new LogSink(file);
  t.teardown(() => sink.close());
  sink.line("before");
  renameSync(file, file + ".1");
  sink.reopen();
  sink.line("after");
  sink.flush();
  t.equal(readFileSync(file + ".1", "utf8"), "before\n");
  t.equal(readFileSync(file, "utf8"), "after\n");
});

t.test("off is a sink that is not enabled", async (t) => {
  const sink = new LogSink("off");
  t.equal(sink.enabled, false);
  sink.line("x");
  sink.flush();
});

t.test("Logger: levels filter, lines carry time and level", async (t) => {
  const lines: string[] = [];
  const sink = new LogSink("stderr");
  sink.line = (text: string) => void lines.push(text);
  const log = new Logger(sink, "warn");
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.log("error", "e");
  t.same([log.enabled("info"), log.enabled("error")], [false, true]);
  t.equal(lines.length, 2);
  t.match(lines[0], /^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] WARN: w$/);
  t.match(lines[1], /ERROR: e$/);
});

t.test("escapeLogMessage: one line escaped; a stack's later lines indented, so none passes for an entry", async (t) => {
  t.equal(escapeLogMessage("plain \t message é"), "plain \t message é");
  t.equal(escapeLogMessage("a\rb\x1b[2J\x9b"), "a\\x0db\\x1b[2J\\x9b");
  const stack = "Error: no such user: 42\n[2026-12-02T00:00:00.000Z] ERROR: FORGED\x1b[2J\n    at run (/srv/x.ts:3:9)\r\n\tat y";
  t.equal(
    escapeLogMessage(stack),
    "Error: no such user: 42\n  [2026-12-02T00:00:00.000Z] ERROR: FORGED\\x1b[2J\n    at run (/srv/x.ts:3:9)\\x0d\n\tat y",
  );
});

t.test("Logger escapes every message, whoever wrote it", async (t) => {
  const lines: string[] = [];
  const sink = new LogSink("stderr");
  sink.line = (text: string) => void lines.push(text);
  const log = new Logger(sink, "debug");
  log.error("GET /x\r\n[2026-12-02T00:00:00.000Z] ERROR: FORGED\x1b[31m");
  log.log("warn", "two\nlines");
  const text = lines.join("\n");
  t.notMatch(text, /^\[[^\]]*\] ERROR: FORGED/m, "no forged entry");
  // eslint-disable-next-line no-control-regex
  t.notMatch(text, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/, "no raw control byte");
  t.match(lines[0], /ERROR: GET \/x\\x0d\n {2}\[2026-12-02T00:00:00\.000Z\] ERROR: FORGED\\x1b\[31m$/);
  t.match(lines[1], /WARN: two\n {2}lines$/);
});

/** Runs `code` (an ES module importing log.ts as `log`) in a child process; resolves with its stdout. */
function child(code: string, readDelay = 0): Promise<{ stdout: string; status: number | null }> {
  const source = `import * as log from ${JSON.stringify(logModule)};\n${code}`;
  const proc = spawn(process.execPath, [...process.execArgv, "--input-type=module", "-e", source], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const chunks: Buffer[] = [];
  if (readDelay > 0) {
    // A slow reader: the pipe fills and the child's writes would fail with EAGAIN.
    proc.stdout.pause();
    setTimeout(() => proc.stdout.resume(), readDelay);
  }
  proc.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve) => proc.once("close", (status) => resolve({ stdout: Buffer.concat(chunks).toString(), status })));
}

t.test("lines logged just before process.exit() are written", async (t) => {
  const { stdout, status } = await child(
    'const sink = new log.LogSink("stdout"); sink.line("first"); sink.line("last words"); process.exit(3);',
  );
  t.equal(status, 3);
  t.equal(stdout, "first\nlast words\n");
});

t.test("a non-blocking pipe with a slow reader loses nothing", async (t) => {
  // Touching process.stdout makes a pipe non-blocking, as any script or package may do.
  const { stdout } = await child(
    'process.stdout; const sink = new log.LogSink("stdout");' + 'for (let i = 0; i < 2000; i++) sink.line(String(i).padStart(1000, "x"));',
    300,
  );
  const lines = stdout.split("\n");
  t.equal(lines.length, 2001);
  t.equal(lines[1999], "1999".padStart(1000, "x"));
});
