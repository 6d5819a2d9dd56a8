// A script's fault costs its own request: process.exit(), a throw from a timer, an unhandled
// rejection and a script running on after its timeout are answered, logged with the script's
// file:line and counted, while the worker and its other requests carry on. In-process through the
// Dispatcher, then through nginx in front of a pool of real workers.
import t from "tap";
import { onSignalAbort, type Exchange, type ResponseOutcome, type StreamOutcome } from "../../src/cgi/exchange.ts";
import type { HeaderList } from "../../src/cgi/head.ts";
import type { Cgi } from "../../src/runtime/types.ts";
import { Dispatcher } from "../../src/server/dispatch.ts";
import { Logger, LogSink } from "../../src/server/log.ts";
import { ScriptFaults } from "../../src/server/script-faults.ts";
import { getFresh } from "../helpers/http.ts";
import { startLoad } from "../helpers/load.ts";
import { nginxMissing } from "../helpers/nginx.ts";
import { poolBehindNginx } from "../helpers/pool.ts";
import { childPids, repo, startTscgi, until } from "../helpers/tscgi.ts";

const fixtures = `${repo}test/fixtures/cgi-bin`;
const missing = nginxMissing();

class RecordingExchange implements Exchange {
  params: Record<string, string>;
  status = 0;
  headers: HeaderList = [];
  chunks: Buffer[] = [];
  ended = false;
  failed = false;
  aborted = false;
  readonly #abort = new AbortController();
  readonly #ended: Promise<void>;
  #end!: () => void;
  constructor(path: string) {
    this.params = { REQUEST_METHOD: "GET", REQUEST_URI: path, DOCUMENT_URI: path };
    this.#ended = new Promise((resolve) => (this.#end = resolve));
  }
  async readBody() {
    return null;
  }
  get signal() {
    return this.#abort.signal;
  }
  onAbort(listener: (reason: unknown) => void) {
    return onSignalAbort(this.#abort.signal, listener);
  }
  async respond(status: number, headers: HeaderList, body: Uint8Array | null, outcome: ResponseOutcome) {
    await this.head(status, headers, body);
    this.end(outcome === "failed" ? "failed" : "ok");
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
    this.#end();
  }
  /** Resolves once the response was ended, whoever ended it. */
  answered(): Promise<void> {
    return this.#ended;
  }
  get body() {
    return Buffer.concat(this.chunks).toString();
  }
}

const logged: string[] = [];
const sink = new LogSink("stderr");
sink.line = (text: string) => void logged.push(text);
const log = new Logger(sink, "debug");

function dispatcher(scripts: Record<string, (cgi: Cgi) => unknown>, options: { requestTimeout?: number; timeoutGrace?: number } = {}) {
  const retired: string[] = [];
  // Resolves at the first retire request: tests wait for it, not for the clock.
  let firstRetire: () => void = () => {};
  const retiredOnce = new Promise<void>((resolve) => (firstRetire = resolve));
  const faults = new ScriptFaults({ root: "/root", log });
  const d = new Dispatcher({
    root: "/root",
    resolver: { resolve: (path: string) => ({ file: `/root${path}.ts`, scriptName: path, pathInfo: "" }) },
    loader: { load: (file: string) => ({ default: scripts[file.slice(6, -3)] }) },
    maxBodySize: 0,
    requestTimeout: options.requestTimeout ?? 0,
    timeoutGrace: options.timeoutGrace ?? 0,
    retire: (reason) => {
      retired.push(reason);
      firstRetire();
    },
    faults,
    log,
    accessLog: null,
  });
  return { d, faults, retired, retiredOnce };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

t.test("process.exit() before any output: 500, logged with the code, counted; the process carries on", async (t) => {
  logged.length = 0;
  const { d, faults } = dispatcher({ exits: () => process.exit(3) });
  const ex = new RecordingExchange("/exits");
  await d.dispatch(ex);
  t.same([ex.status, ex.body, ex.failed], [500, "500 Internal Server Error\n", true]);
  await turn();
  t.match(logged.join("\n"), /ERROR: GET \/exits: script exits\.ts called process\.exit\(3\) before answering: answered 500/);
  t.match(faults.tally.list(), [{ script: "exits.ts", exit: 1, faults: 1 }]);
  t.equal(d.inflight, 0);
});

t.test("process.exit() after output ends the response as it stands, like PHP's exit", async (t) => {
  logged.length = 0;
  let after = false;
  const { d, faults } = dispatcher({
    partial: async (cgi) => {
      await cgi.write("so far");
      process.exit(0);
      after = true;
    },
    located: (cgi) => {
      cgi.header("Location", "/elsewhere");
      process.exit(0);
    },
  });
  const ex = new RecordingExchange("/partial");
  await d.dispatch(ex);
  t.same([ex.status, ex.body, ex.ended, ex.failed], [200, "so far", true, false]);
  t.equal(after, false, "the script stopped at process.exit");
  const located = new RecordingExchange("/located");
  await d.dispatch(located);
  t.same([located.status, located.headers], [302, ["Location", "/elsewhere"]], "what the script set goes out, a Location as 302");
  await turn();
  t.same(faults.tally.list(), [], "exit(0) after answering is no fault");
  t.notMatch(logged.join("\n"), /process\.exit/);
});

t.test("process.exit() from a timer after its request ended is logged and ignored", async (t) => {
  logged.length = 0;
  let exited!: () => void;
  const done = new Promise<void>((resolve) => (exited = resolve));
  const { d, faults } = dispatcher({
    later: () => {
      setTimeout(() => {
        try {
          process.exit(1);
        } finally {
          exited();
        }
      }, 1);
      return "answered";
    },
  });
  const ex = new RecordingExchange("/later");
  // The process.exit() in the timer throws to unwind; here that would reach the test runner.
  const swallow = (error: unknown) => void faults.caught("uncaught", error);
  process.on("uncaughtException", swallow);
  t.teardown(() => void process.off("uncaughtException", swallow));
  await d.dispatch(ex);
  await done;
  await turn();
  t.same([ex.status, ex.body], [200, "answered"]);
  t.match(logged.join("\n"), /WARN: script later\.ts called process\.exit\(1\) after its request \(GET \/later\) ended; ignored/);
  t.match(faults.tally.list(), [{ script: "later.ts", exit: 1 }]);
});

t.test("a throw from a timer while its request is open: that request gets 500 and its signal fires", async (t) => {
  logged.length = 0;
  let aborted: unknown = null;
  const { d, faults } = dispatcher({
    throws: (cgi) => {
      cgi.signal.addEventListener("abort", () => (aborted = cgi.signal.reason));
      setTimeout(() => {
        throw new Error("from a timer");
      }, 1);
      return new Promise(() => {});
    },
  });
  const swallow = (error: unknown) => {
    if (!faults.caught("uncaught", error)) throw error;
  };
  process.on("uncaughtException", swallow);
  t.teardown(() => void process.off("uncaughtException", swallow));
  const ex = new RecordingExchange("/throws");
  void d.dispatch(ex);
  await ex.answered();
  await turn();
  t.same([ex.status, ex.failed, (aborted as Error)?.message], [500, true, "from a timer"]);
  t.match(logged.join("\n"), /ERROR: GET \/throws: uncaught exception in script throws\.ts, its request answered 500: Error: from a timer/);
  t.equal(d.inflight, 0, "the request is over, although its handler never returns");
});

t.test("an unhandled rejection is traced to its script through the request's context", async (t) => {
  logged.length = 0;
  const { d, faults } = dispatcher({
    rejects: () => {
      setTimeout(() => void Promise.reject("no stack to go by"), 1);
      return "answered";
    },
  });
  let seen!: () => void;
  const handled = new Promise<void>((resolve) => (seen = resolve));
  const onRejection = (reason: unknown) => {
    t.ok(faults.caught("rejection", reason), "claimed by the script");
    seen();
  };
  process.on("unhandledRejection", onRejection);
  t.teardown(() => void process.off("unhandledRejection", onRejection));
  await d.dispatch(new RecordingExchange("/rejects"));
  await handled;
  await turn();
  t.match(
    logged.join("\n"),
    /ERROR: script rejects\.ts: unhandled promise rejection after its request \(GET \/rejects\) ended: non-error thrown: no stack to go by/,
  );
  t.match(faults.tally.list(), [{ script: "rejects.ts", rejection: 1 }]);
});

t.test("a fault no request claims and no script frame names is not a script's", async (t) => {
  const { faults } = dispatcher({});
  t.equal(faults.caught("uncaught", new Error("tscgi's own")), false);
  t.equal(faults.caught("rejection", "no stack"), false);
});

t.test("process.chdir() in a script is refused with a coded error; the cwd stays", async (t) => {
  const cwd = process.cwd();
  const { d } = dispatcher({
    chdir: () => {
      try {
        process.chdir("/");
        return "changed";
      } catch (error) {
        return `refused ${(error as { code?: string }).code}: ${(error as Error).message}`;
      }
    },
  });
  const ex = new RecordingExchange("/chdir");
  await d.dispatch(ex);
  t.match(ex.body, /^refused TSCGI_E_SERVER_SCRIPT_CHDIR: .*import\.meta\.dirname/);
  t.equal(process.cwd(), cwd);
});

t.test("a script still running past its timeout's grace is runaway: logged once, retire asked", async (t) => {
  logged.length = 0;
  let turns = 0;
  let stop = false;
  const { d, faults, retired, retiredOnce } = dispatcher(
    {
      loops: async () => {
        while (!stop) {
          turns++;
          await new Promise((resolve) => setImmediate(resolve));
        }
      },
      quits: async (cgi) => {
        await new Promise((resolve) => cgi.signal.addEventListener("abort", resolve));
        return "stopped";
      },
    },
    { requestTimeout: 50, timeoutGrace: 100 },
  );
  const loop = new RecordingExchange("/loops");
  const quit = new RecordingExchange("/quits");
  const running = d.dispatch(loop);
  await d.dispatch(quit);
  await loop.answered();
  t.same([loop.status, quit.status], [504, 504]);
  await retiredOnce;
  stop = true;
  await running;
  await turn();
  t.ok(turns > 10, `the loop ran on after its 504 (${turns} turns)`);
  t.equal(retired.length, 1);
  t.match(retired[0], /script loops\.ts still running 0\.1 s after its request timed out/);
  t.match(logged.join("\n"), /ERROR: script loops\.ts \(GET \/loops\) is still running 0\.1 s after request_timeout \(0\.05 s\)/);
  t.notMatch(logged.join("\n"), /quits\.ts \(GET \/quits\) is still running/, "a script that stopped on its signal is not runaway");
  t.match(faults.tally.list(), [{ script: "loops.ts", runaway: 1 }]);
  d.close();
});

t.test("through nginx, pool of 2: faulty GETs cost only themselves while POSTs run on the same workers", { skip: missing }, async (t) => {
  const { tscgi, nginx } = await poolBehindNginx(t, ["--root", fixtures, "--workers", "2", "--status-path", "/status"]);
  const master = tscgi.child.pid!;
  const before = childPids(master);
  t.equal(before.length, 2);
  // Requests in flight on both workers whenever a fault happens.
  const load = startLoad(`${nginx.url}/wait?ms=100`, {
    concurrency: 8,
    total: 400,
    maxMs: 60_000,
    post: { body: Buffer.from("x".repeat(1000)), contentType: "application/octet-stream" },
  });
  await until(() => load.count() >= 16, 20_000);
  const answers: Record<string, { status: number; body: string }> = {};
  for (const path of ["/exit", "/exit?write", "/exit?later", "/timer-throw", "/reject", "/timer-throw?open", "/reject?open"]) {
    answers[path] = await getFresh(`${nginx.url}${path}`);
  }
  // Five more: a script faulting again and again gets a line of its own.
  for (let i = 0; i < 4; i++) await getFresh(`${nginx.url}/exit`);
  await tscgi.waitFor(/script exit\.ts faults repeatedly: 5 faults in the last minute/);
  const result = await load.done;
  t.same(
    Object.fromEntries(Object.entries(answers).map(([path, a]) => [path, [a.status, a.body]])),
    {
      "/exit": [500, "500 Internal Server Error\n"],
      "/exit?write": [200, "partial"],
      "/exit?later": [200, "answered"],
      "/timer-throw": [200, "answered"],
      "/reject": [200, "answered"],
      "/timer-throw?open": [500, "500 Internal Server Error\n"],
      "/reject?open": [500, "500 Internal Server Error\n"],
    },
    "each faulty request answered as specified",
  );
  t.same(
    [result.statuses[200], result.failed],
    [result.sent, 0],
    `all ${result.sent} POSTs answered 200 (${JSON.stringify(result.statuses)})`,
  );
  t.same(childPids(master), before, "both workers are the ones that started");
  await tscgi.waitFor(
    /script timer-throw\.ts: uncaught exception after its request \(GET \/timer-throw\) ended: .* at test\/fixtures\/cgi-bin\/timer-throw\.ts:\d+:\d+/,
  );
  await tscgi.waitFor(
    /script reject\.ts: unhandled promise rejection after its request \(GET \/reject\) ended: .* at test\/fixtures\/cgi-bin\/reject\.ts:\d+:\d+/,
  );
  const log = tscgi.output();
  t.match(
    log,
    /GET \/exit: script exit\.ts called process\.exit\(1\) at test\/fixtures\/cgi-bin\/exit\.ts:\d+:\d+ before answering: answered 500/,
  );
  t.match(
    log,
    /script exit\.ts called process\.exit\(1\) at test\/fixtures\/cgi-bin\/exit\.ts:\d+:\d+ after its request \(GET \/exit\?later\) ended/,
  );
  t.match(log, /GET \/timer-throw\?open: uncaught exception in script timer-throw\.ts, its request answered 500/);
  t.notMatch(log, /exited with code|was killed by|recycled/, "no worker ended");
  t.equal(nginx.errorLog().match(/upstream prematurely closed/g), null, "nginx saw no connection cut");
  const status = JSON.parse((await getFresh(`${nginx.url}/status?json`)).body) as { "script faults": Array<Record<string, unknown>> };
  const byScript = Object.fromEntries(status["script faults"].map((f) => [f.script, f]));
  t.match(byScript, {
    "exit.ts": { faults: 7, exit: 7 },
    "timer-throw.ts": { faults: 2, uncaught: 2 },
    "reject.ts": { faults: 2, rejection: 2 },
  });
});

t.test("a runaway script after its timeout: 504, its signal fired, and after the grace its worker is replaced", async (t) => {
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "2", "--request-timeout", "2s", "--request-timeout-grace", "1s"]);
  t.teardown(() => tscgi.stop());
  const master = tscgi.child.pid!;
  const before = childPids(master);
  // Compiled before it counts: on a busy machine the first compile alone can take a second.
  t.equal((await getFresh(`http://127.0.0.1:${tscgi.httpPort}/runaway?warm`)).body, "warm");
  const res = await getFresh(`http://127.0.0.1:${tscgi.httpPort}/runaway`);
  t.equal(res.status, 504);
  await tscgi.waitFor(/runaway\.ts: signal fired: TSCGI_E_SERVER_REQUEST_TIMEOUT/);
  await tscgi.waitFor(/script runaway\.ts \(GET \/runaway\) is still running 1 s after request_timeout \(2 s\)/);
  await tscgi.waitFor(/worker (\d+) recycled: script runaway\.ts still running/);
  const pid = Number(/worker (\d+) recycled: script runaway\.ts/.exec(tscgi.output())![1]);
  t.ok(before.includes(pid), "one of the workers");
  t.ok(await until(() => !childPids(master).includes(pid) && childPids(master).length === 2, 20_000), "it was replaced");
  t.equal((await getFresh(`http://127.0.0.1:${tscgi.httpPort}/hello`)).status, 200);
});

t.test("one process (--workers 0) names a runaway script and says it cannot be replaced", async (t) => {
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "0", "--request-timeout", "2s", "--request-timeout-grace", "500ms"]);
  t.teardown(() => tscgi.stop("SIGKILL"));
  t.equal((await getFresh(`http://127.0.0.1:${tscgi.httpPort}/runaway?warm`)).body, "warm");
  t.equal((await getFresh(`http://127.0.0.1:${tscgi.httpPort}/runaway`)).status, 504);
  await tscgi.waitFor(
    /script runaway\.ts \(GET \/runaway\) is still running 0\.5 s after request_timeout \(2 s\).*a single process cannot be replaced: restart it/,
  );
  t.equal((await getFresh(`http://127.0.0.1:${tscgi.httpPort}/exit`)).status, 500, "process.exit() does not end it either");
  t.equal((await getFresh(`http://127.0.0.1:${tscgi.httpPort}/hello`)).status, 200);
});

t.test("a fault no script caused: the worker finishes its requests, then is replaced", async (t) => {
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "1", "--status-path", "/status"]);
  t.teardown(() => tscgi.stop());
  const base = `http://127.0.0.1:${tscgi.httpPort}`;
  const pid = Number((await getFresh(`${base}/own-fault`)).body);
  const slow = getFresh(`${base}/wait?ms=1500`);
  // Waits until the status page shows the slow request running on that worker.
  const running = async () => {
    const status = JSON.parse((await getFresh(`${base}/status?json&full`)).body) as { processes: Array<Record<string, unknown>> };
    return status.processes.some((p) => p.pid === pid && p.state === "Running" && p["request uri"] === "/wait?ms=1500");
  };
  t.ok(await until(running, 10_000), "the slow request is in flight");
  process.kill(pid, "SIGUSR2");
  await tscgi.waitFor(/uncaught exception in tscgi itself, no script's: worker \d+ is replaced once its requests finish/);
  await tscgi.waitFor(new RegExp(`worker ${pid} recycled: uncaught exception in tscgi itself`));
  const res = await slow;
  t.same([res.status, res.body], [200, "waited 1500"], "its request in flight finished");
  t.ok(await until(() => childPids(tscgi.child.pid!).some((p) => p !== pid), 20_000), "a new worker took over");
});
