// Scripts' stderr batched in shared memory: one write per event-loop turn, yet written out by
// another thread while this one is blocked, and on exit; in a pool worker, a script's last line
// before it blocks its worker reaches the log.
import t from "tap";
import { execFileSync } from "node:child_process";
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";
import { SharedLineSink, SHARED_LINE_BYTES } from "../../src/server/shared-line-sink.ts";
import { getFresh } from "../helpers/http.ts";
import { repo, startTscgi } from "../helpers/tscgi.ts";

const dir = mkdtempSync(join(tmpdir(), "tscgi-shared-sink-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const source = fileURLToPath(new URL("../../src/server/shared-line-sink.ts", import.meta.url));

/** The module bundled to plain JavaScript, for a thread or process that cannot load TypeScript. */
function bundle(name: string, code: string): string {
  writeFileSync(join(dir, `${name}.entry.mjs`), code);
  buildSync({
    entryPoints: [join(dir, `${name}.entry.mjs`)],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile: join(dir, `${name}.mjs`),
    logLevel: "silent",
  });
  return join(dir, `${name}.mjs`);
}

t.test("the first line of a turn is written at once, the ones after it when the turn ends", async (t) => {
  const file = join(dir, "turn.log");
  const fd = openSync(file, "w");
  t.teardown(() => closeSync(fd));
  const sink = new SharedLineSink(fd);
  for (let i = 1; i <= 1000; i++) sink.line(`line ${i}`);
  t.equal(readFileSync(file, "utf8"), "line 1\n", "only the first line written within the turn");
  await new Promise((resolve) => setImmediate(resolve));
  const lines = readFileSync(file, "utf8").split("\n");
  t.equal(lines.length, 1001);
  t.same([lines[0], lines[999], lines[1000]], ["line 1", "line 1000", ""]);
  sink.line("next turn");
  t.equal(readFileSync(file, "utf8").split("\n").length, 1002, "the next turn's first line at once again");
  await new Promise((resolve) => setImmediate(resolve));
});

t.test("more than the buffer holds is written as it fills, in order; a huge line as it comes", async (t) => {
  const file = join(dir, "full.log");
  const fd = openSync(file, "w");
  t.teardown(() => closeSync(fd));
  const sink = new SharedLineSink(fd, 1024);
  const long = "é".repeat(2000);
  for (let i = 1; i <= 100; i++) sink.line(`line ${i} ✓`);
  sink.line(long);
  sink.line("after");
  t.ok(readFileSync(file, "utf8").length > 0, "written before the turn ended");
  sink.flush();
  const expected = Array.from({ length: 100 }, (_, i) => `line ${i + 1} ✓`).concat(long, "after", "");
  t.same(readFileSync(file, "utf8").split("\n"), expected);
  t.ok(SHARED_LINE_BYTES >= 64 * 1024);
});

t.test("another thread writes out the lines while this thread is blocked", async (t) => {
  const thread = bundle(
    "thread",
    `import { parentPort, workerData } from "node:worker_threads";
     import { flushShared } from ${JSON.stringify(source)};
     parentPort.postMessage("ready");
     // Keeps writing out what the blocked main thread holds, as the watchdog does.
     const end = Date.now() + 20_000;
     const wait = new Int32Array(new SharedArrayBuffer(4));
     while (Date.now() < end) {
       flushShared(workerData.buffer, workerData.fd);
       Atomics.wait(wait, 0, 0, 5);
     }`,
  );
  const file = join(dir, "blocked.log");
  const fd = openSync(file, "w");
  t.teardown(() => closeSync(fd));
  const sink = new SharedLineSink(fd);
  const { Worker } = await import("node:worker_threads");
  // execArgv []: none of the test runner's module hooks in the thread.
  const worker = new Worker(thread, { workerData: { buffer: sink.buffer, fd }, execArgv: [] });
  t.teardown(() => worker.terminate());
  await new Promise((resolve) => worker.once("message", resolve));
  for (let i = 1; i <= 500; i++) sink.line(`line ${i}`);
  sink.line("the last words before blocking");
  // Blocked from here on (as a script stuck in a loop), until the file shows the last line.
  const end = Date.now() + 15_000;
  let text = "";
  while (!text.includes("the last words before blocking\n") && Date.now() < end) text = readFileSync(file, "utf8");
  t.match(text, /^line 1\n/);
  t.match(text, /line 500\nthe last words before blocking\n$/, "every line, the last one too, without this thread's help");
});

t.test("lines held when the process exits are written", async (t) => {
  const child = bundle(
    "exits",
    `import { SharedLineSink } from ${JSON.stringify(source)};
     const sink = new SharedLineSink(1);
     for (let i = 1; i <= 3; i++) sink.line("line " + i);
     process.exit(0);`,
  );
  t.equal(execFileSync(process.execPath, [child], { encoding: "utf8" }), "line 1\nline 2\nline 3\n");
});

t.test("a pool worker: a script's stderr flood, then a block: every line reaches the log, the last one too", async (t) => {
  const tscgi = await startTscgi(["--root", `${repo}test/fixtures/cgi-bin`, "--workers", "1", "--request-timeout", "30s"]);
  t.teardown(() => tscgi.stop("SIGKILL"));
  void getFresh(`http://127.0.0.1:${tscgi.httpPort}/spin?lines=20000`).catch(() => {});
  // Waits for the log, never for the clock: the worker's event loop is blocked from the last line on.
  await tscgi.waitFor(/spin\.ts: spinning from now on/, 20_000);
  const log = tscgi.output();
  t.match(log, /spin\.ts: line 1 of 20000\n/);
  t.match(log, /spin\.ts: line 20000 of 20000\n.*spin\.ts: spinning from now on\n/);
  t.equal(log.match(/spin\.ts: line \d+ of 20000\n/g)?.length, 20000, "no line lost");
});
