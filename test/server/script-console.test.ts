// Scripts' console output: stdout or stderr by method, decorated with pid and file (or raw), never lost on exit.
import t from "tap";
import { spawn } from "node:child_process";
import { readFileSync, symlinkSync } from "node:fs";
import { LogSink } from "../../src/server/log.ts";
import { scriptConsoles } from "../../src/server/script-console.ts";
import { makeTree } from "../scripts/fixtures/tree.ts";

const tree = makeTree("script-console", {
  "root/hello.ts": "export default () => 1;\n",
  "root/_lib/db.ts": "export const db = 1;\n",
  "root/exits.ts":
    'console.log("loaded");\n' +
    'export default () => {\n  console.log("last\\nwords");\n  console.error("and \\x1b[31man error");\n  process.exit(3);\n};\n',
});
t.teardown(() => tree.remove());

function capture(): { sink: LogSink; text: () => string[] } {
  const lines: string[] = [];
  const sink = new LogSink("stdout");
  sink.line = (text: string) => void lines.push(text);
  // Each line() call is one console call; split to see the lines it becomes.
  return { sink, text: () => lines.join("\n").split("\n") };
}

function consoles(decorate: boolean) {
  const out = capture();
  const err = capture();
  const consoleFor = scriptConsoles({ root: tree.path("root"), decorate, stdout: out.sink, stderr: err.sink, pid: 42 });
  return { consoleFor, out: out.text, err: err.text };
}

t.test("decorated: each line prefixed with pid and script, control characters escaped", async (t) => {
  const { consoleFor, out } = consoles(true);
  const c = consoleFor(tree.path("root/hello.ts"));
  c.log("hello\nworld");
  c.log("a\x1b[31mred\r\nb\tc %s", '"quoted"', { n: 1 });
  c.log();
  t.same(out(), [
    "[pid 42] hello.ts: hello",
    "[pid 42] hello.ts: world",
    "[pid 42] hello.ts: a\\x1b[31mred",
    '[pid 42] hello.ts: b\tc "quoted" { n: 1 }',
    "[pid 42] hello.ts: ",
  ]);
});

t.test("stdout for log, info, debug, dir, table, count, time; stderr for warn, error, trace, assert", async (t) => {
  const { consoleFor, out, err } = consoles(true);
  const c = consoleFor(tree.path("root/_lib/db.ts"));
  c.log("log");
  c.info("info");
  c.debug("debug");
  c.dir({ a: 1 });
  c.count("n");
  c.warn("warn");
  c.error("error");
  c.assert(false, "assert");
  c.trace("trace");
  t.same(out(), [
    "[pid 42] _lib/db.ts: log",
    "[pid 42] _lib/db.ts: info",
    "[pid 42] _lib/db.ts: debug",
    "[pid 42] _lib/db.ts: { a: 1 }",
    "[pid 42] _lib/db.ts: n: 1",
  ]);
  const errors = err();
  t.same(errors.slice(0, 4), [
    "[pid 42] _lib/db.ts: warn",
    "[pid 42] _lib/db.ts: error",
    "[pid 42] _lib/db.ts: Assertion failed: assert",
    "[pid 42] _lib/db.ts: Trace: trace",
  ]);
  t.ok(errors.length > 4, "the trace has its frames");
  t.ok(
    errors.every((line) => line.startsWith("[pid 42] _lib/db.ts: ")),
    "every line of a trace is decorated",
  );
});

t.test("groups indent every line", async (t) => {
  const { consoleFor, out } = consoles(true);
  const c = consoleFor(tree.path("root/hello.ts"));
  c.group("g");
  c.log("a\nb");
  c.groupEnd();
  t.same(out(), ["[pid 42] hello.ts: g", "[pid 42] hello.ts:   a", "[pid 42] hello.ts:   b"]);
});

t.test("raw: exactly what the console printed", async (t) => {
  const { consoleFor, out, err } = consoles(false);
  const c = consoleFor(tree.path("root/hello.ts"));
  c.log("a\x1b[31mred\nb");
  c.error('"e"');
  t.same(out(), ["a\x1b[31mred", "b"]);
  t.same(err(), ['"e"']);
});

t.test("one console per file; names relative to the real root", async (t) => {
  const link = tree.path("link");
  symlinkSync(tree.path("root"), link);
  const out = capture();
  const consoleFor = scriptConsoles({ root: link, decorate: true, stdout: out.sink, stderr: out.sink, pid: 1 });
  const file = tree.path("root/hello.ts");
  t.equal(consoleFor(file), consoleFor(file));
  consoleFor(file).log("x");
  consoleFor(tree.path("elsewhere/x.ts")).log("y");
  t.same(out.text(), ["[pid 1] hello.ts: x", "[pid 1] ../elsewhere/x.ts: y"]);
});

t.test("a script that calls process.exit() loses none of its output", async (t) => {
  const url = (path: string) => JSON.stringify(new URL(path, import.meta.url).href);
  const source =
    `import { ScriptLoader } from ${url("../../src/scripts/loader.ts")};\n` +
    `import { scriptConsoles } from ${url("../../src/server/script-console.ts")};\n` +
    `const root = ${JSON.stringify(tree.path("root"))};\n` +
    "const loader = new ScriptLoader({ root, consoleFor: scriptConsoles({ root, decorate: true }) });\n" +
    "const mod = await loader.load(root + '/exits.ts');\n" +
    "mod.default();\n";
  const child = spawn(process.execPath, [...process.execArgv, "--input-type=module", "-e", source], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const status = await new Promise((resolve) => child.once("close", resolve));
  t.equal(status, 3);
  const pid = child.pid;
  t.equal(stdout, `[pid ${pid}] exits.ts: loaded\n[pid ${pid}] exits.ts: last\n[pid ${pid}] exits.ts: words\n`);
  t.match(stderr, `[pid ${pid}] exits.ts: and \\x1b[31man error\n`);
});

t.test("stderr is written at once, stdout once per event-loop turn", async (t) => {
  const file = tree.path("out.log");
  const errFile = tree.path("err.log");
  const out = new LogSink(file);
  const err = new LogSink(errFile);
  const c = scriptConsoles({ root: tree.path("root"), decorate: true, stdout: out, stderr: err, pid: 7 })(tree.path("root/hello.ts"));
  c.log("batched");
  c.error("at once: a script that then blocks its worker still leaves this in the log");
  t.equal(readFileSync(file, "utf8"), "", "stdout not yet written");
  t.equal(readFileSync(errFile, "utf8"), "[pid 7] hello.ts: at once: a script that then blocks its worker still leaves this in the log\n");
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(readFileSync(file, "utf8"), "[pid 7] hello.ts: batched\n");
  out.close();
  err.close();
});
