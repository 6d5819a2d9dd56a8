// cgi.signal: fires on the client's abort and on request_timeout, and costs nothing once its request is over.
import t from "tap";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";
import { onSignalAbort, type Exchange } from "../../src/cgi/exchange.ts";
import { CgiContext } from "../../src/runtime/context.ts";

const REQUESTS = 200_000;
const SAMPLE_AT = 20_000;
const MAX_GROWTH = 4 * 1024 * 1024;

function exchange(): Exchange & { abort(reason: unknown): void } {
  const controller = new AbortController();
  return {
    params: {},
    readBody: async () => null,
    get aborted() {
      return controller.signal.aborted;
    },
    onAbort: (listener) => onSignalAbort(controller.signal, listener),
    respond: async () => {},
    head: async () => {},
    write: async () => {},
    end: () => {},
    abort: (reason) => controller.abort(reason),
  };
}

t.test("cgi.signal fires when the client goes away, with the exchange's reason", async (t) => {
  const ex = exchange();
  const ctx = new CgiContext(ex, { REQUEST_METHOD: "GET" }, 0);
  const seen: unknown[] = [];
  ctx.signal.addEventListener("abort", () => seen.push(ctx.signal.reason));
  ex.abort("gone");
  t.same(seen, ["gone"]);
  t.equal(ctx.signal.aborted, true);
});

t.test("cgi.signal read after the client left is already aborted", async (t) => {
  const ex = exchange();
  const ctx = new CgiContext(ex, { REQUEST_METHOD: "GET" }, 0);
  ex.abort("gone");
  t.same([ctx.signal.aborted, ctx.signal.reason], [true, "gone"]);
});

t.test("cgi.signal fires on a timeout abort, once, whichever comes first", async (t) => {
  const ex = exchange();
  const ctx = new CgiContext(ex, { REQUEST_METHOD: "GET" }, 0);
  let fired = 0;
  ctx.signal.addEventListener("abort", () => fired++);
  ctx.abort("timeout");
  ex.abort("gone");
  t.same([fired, ctx.signal.reason], [1, "timeout"]);
});

// Runs in a plain `node --expose-gc` child with dispatch bundled to JavaScript, so that no test
// harness (coverage, TypeScript hooks) holds on to anything.
const CHILD = `
import { Dispatcher } from ${JSON.stringify(fileURLToPath(new URL("../../src/server/dispatch.ts", import.meta.url)))};
import { Logger, LogSink } from ${JSON.stringify(fileURLToPath(new URL("../../src/server/log.ts", import.meta.url)))};
import { onSignalAbort } from ${JSON.stringify(fileURLToPath(new URL("../../src/cgi/exchange.ts", import.meta.url)))};

const [requests, sampleAt] = [Number(process.argv[2]), Number(process.argv[3])];
// A listener that never fires, capturing the request's context as real scripts' listeners do.
const script = (cgi) => {
  cgi.signal.addEventListener("abort", () => cgi.env.REQUEST_METHOD);
  return "ok";
};
const dispatcher = new Dispatcher({
  root: "/root",
  resolver: { resolve: () => ({ file: "/root/listen.ts", scriptName: "/listen", pathInfo: "" }) },
  loader: { load: () => ({ default: script }) },
  maxBodySize: 0,
  requestTimeout: 60_000,
  log: new Logger(new LogSink("off")),
  accessLog: null,
});
class Exchange {
  params = { REQUEST_METHOD: "GET", REQUEST_URI: "/listen", DOCUMENT_URI: "/listen" };
  #abort = new AbortController();
  body = "";
  get signal() { return this.#abort.signal; }
  get aborted() { return this.#abort.signal.aborted; }
  onAbort(listener) { return onSignalAbort(this.#abort.signal, listener); }
  async readBody() { return null; }
  async respond(status, headers, body) { this.body = Buffer.from(body ?? []).toString(); }
  async head(status, headers, chunk) { this.body = Buffer.from(chunk ?? []).toString(); }
  async write() {}
  end() {}
}
async function heap() {
  for (let i = 0; i < 4; i++) {
    globalThis.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}
const samples = {};
for (let i = 1; i <= requests; i++) {
  const ex = new Exchange();
  await dispatcher.dispatch(ex);
  if (ex.body !== "ok") throw new Error("request " + i + " answered " + ex.body);
  if (i === sampleAt || i === requests) samples[i] = await heap();
}
dispatcher.close();
console.log(JSON.stringify(samples));
`;

t.test(`${REQUESTS} requests whose script listens on cgi.signal keep the heap flat`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tscgi-signal-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "entry.mjs"), CHILD);
  buildSync({
    entryPoints: [join(dir, "entry.mjs")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["esbuild"],
    outfile: join(dir, "child.mjs"),
    logLevel: "silent",
  });
  // `env -i`: tap's process tracking injects NODE_OPTIONS (coverage) into child processes.
  const node = [process.execPath, "--expose-gc", join(dir, "child.mjs"), String(REQUESTS), String(SAMPLE_AT)];
  const output = execFileSync("env", ["-i", `PATH=${process.env.PATH ?? ""}`, ...node], { cwd: dir, encoding: "utf8", timeout: 100_000 });
  const samples = JSON.parse(output.trim().split("\n").pop()!) as Record<string, number>;
  const [early, late] = [samples[SAMPLE_AT], samples[REQUESTS]];
  const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(2) + " MiB";
  t.comment(`heapUsed after gc: request ${SAMPLE_AT} ${mib(early)}, request ${REQUESTS} ${mib(late)}, growth ${mib(late - early)}`);
  t.ok(late - early < MAX_GROWTH, `growth ${mib(late - early)} under ${mib(MAX_GROWTH)}`);
});
