// Workers start with few malloc arenas and a small V8 young generation, so one comes back near its
// start-up size after a load; a value the user set in the environment or NODE_OPTIONS wins.
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import t, { type Test } from "tap";
import { RecordType } from "../../src/fastcgi/constants.ts";
import { encodeParams } from "../../src/fastcgi/params.ts";
import { encodeRecord } from "../../src/fastcgi/record.ts";
import { workerExecArgv } from "../../src/pool/worker-memory.ts";
import { beginRequest, FcgiClient, parseCgi } from "../helpers/fcgi-client.ts";
import { getFresh } from "../helpers/http.ts";
import { childPids, repo, startTscgi } from "../helpers/tscgi.ts";

const root = `${repo}test/fixtures/cgi-bin`;

async function workerSees(
  t: Test,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ env: Record<string, string>; argv: string[] }> {
  const tscgi = await startTscgi(["--root", root, "--workers", "1", ...args], { env });
  t.teardown(() => tscgi.stop());
  const res = await getFresh(`http://127.0.0.1:${tscgi.httpPort}/process-env?names=MALLOC_ARENA_MAX`);
  t.equal(res.status, 200, res.body);
  const [worker] = childPids(tscgi.child.pid!);
  const argv = readFileSync(`/proc/${worker}/cmdline`, "utf8").split("\0");
  return { env: JSON.parse(res.body) as Record<string, string>, argv };
}

t.test("by default a worker runs with MALLOC_ARENA_MAX=2 and a 4 MiB semi-space", async (t) => {
  const seen = await workerSees(t, []);
  t.equal(seen.env.MALLOC_ARENA_MAX, "2");
  t.ok(seen.argv.includes("--max-semi-space-size=4"), seen.argv.join(" "));
});

t.test("the keys choose other values; 0 leaves glibc's and Node's defaults", async (t) => {
  const seen = await workerSees(t, ["--worker-malloc-arena-max", "4", "--worker-semi-space-size", "8"]);
  t.equal(seen.env.MALLOC_ARENA_MAX, "4");
  t.ok(seen.argv.includes("--max-semi-space-size=8"), seen.argv.join(" "));
  const off = await workerSees(t, ["--worker-malloc-arena-max", "0", "--worker-semi-space-size", "0"]);
  t.notOk("MALLOC_ARENA_MAX" in off.env);
  t.notOk(
    off.argv.some((arg) => arg.includes("semi-space")),
    off.argv.join(" "),
  );
});

t.test("the user's own MALLOC_ARENA_MAX wins, from tscgi's environment or from env", async (t) => {
  const launcher = await workerSees(t, [], { MALLOC_ARENA_MAX: "1" });
  t.equal(launcher.env.MALLOC_ARENA_MAX, "1", "kept even though clear_env keeps the rest out");
  const set = await workerSees(t, ["--env", "MALLOC_ARENA_MAX=3"], { MALLOC_ARENA_MAX: "1" });
  t.equal(set.env.MALLOC_ARENA_MAX, "3");
});

t.test("a semi-space size in NODE_OPTIONS or tscgi's own flags wins", async (t) => {
  const cap = { worker_malloc_arena_max: 2, worker_semi_space_size: 1 };
  t.same(workerExecArgv(cap, [], undefined), ["--max-semi-space-size=1"]);
  t.same(workerExecArgv(cap, [], "--max-old-space-size=512 --max-semi-space-size=4"), []);
  t.same(workerExecArgv(cap, ["--max_semi_space_size=4"], undefined), ["--max_semi_space_size=4"]);
  t.same(workerExecArgv(cap, ["--enable-source-maps"], ""), ["--enable-source-maps", "--max-semi-space-size=1"]);
});

/** A process's resident set now and at its peak since clear_refs, in MiB. */
function rss(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]);
  return { now: kib("VmRSS") / 1024, peak: kib("VmHWM") / 1024 };
}

/** Streams `mib` MiB to /hash in 8 KiB STDIN records, 8 to a write, as nginx sends an unbuffered body; resolves with the answer. */
async function streamUpload(port: number, mib: number): Promise<{ bytes: number; chunks: number }> {
  const c = new FcgiClient(port);
  const id = 1;
  const path = "/hash";
  const params = {
    REQUEST_METHOD: "POST",
    SCRIPT_NAME: path,
    REQUEST_URI: path,
    CONTENT_LENGTH: String(mib * 1024 * 1024),
    SERVER_PROTOCOL: "HTTP/1.1",
  };
  // The body bypasses the client's check of its own records, which needs only the request's begin.
  c.send(
    Buffer.concat([
      beginRequest(id),
      encodeRecord(RecordType.Params, id, encodeParams(params)),
      encodeRecord(RecordType.Params, id, Buffer.alloc(0)),
    ]),
  );
  const write = Buffer.concat(Array.from({ length: 8 }, (_, i) => encodeRecord(RecordType.Stdin, id, Buffer.alloc(8192, i))));
  for (let i = 0; i < mib * 16; i++) {
    if (!c.socket.write(write)) await once(c.socket, "drain");
  }
  c.socket.write(encodeRecord(RecordType.Stdin, id, Buffer.alloc(0)));
  await c.until(() => c.responses.get(id)?.done === true, 120_000);
  c.close();
  return JSON.parse(parseCgi(c.responses.get(id)!.stdout).body) as { bytes: number; chunks: number };
}

t.test("a worker streaming a 256 MiB upload to a script that reads it chunk by chunk grows by less than 16 MiB", async (t) => {
  const tscgi = await startTscgi(["--root", root, "--workers", "1", "--max-body-size", "1g"]);
  t.teardown(() => tscgi.stop());
  const [worker] = childPids(tscgi.child.pid!).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("worker"));
  t.equal((await streamUpload(tscgi.fastcgiPort, 16)).bytes, 16 * 1024 * 1024, "a first upload, to warm up");
  writeFileSync(`/proc/${worker}/clear_refs`, "5");
  const before = rss(worker).now;
  const answer = await streamUpload(tscgi.fastcgiPort, 256);
  t.equal(answer.bytes, 256 * 1024 * 1024);
  const growth = rss(worker).peak - before;
  t.comment(`worker RSS ${before.toFixed(1)} MiB before, peak ${rss(worker).peak.toFixed(1)} MiB (${answer.chunks} chunks)`);
  t.ok(growth < 16, `peak RSS grew by ${growth.toFixed(1)} MiB`);
});

t.test("a worker serving FastCGI alone never loads node:http; one with the HTTP front does", async (t) => {
  const uri = "/builtins?names=http,_http_server,net";
  const fastcgiOnly = await startTscgi(["--root", root, "--workers", "1"], { http: false });
  t.teardown(() => fastcgiOnly.stop());
  const c = new FcgiClient(fastcgiOnly.fastcgiPort);
  t.teardown(() => c.close());
  const answer = await c.request(1, { REQUEST_METHOD: "GET", REQUEST_URI: uri, SCRIPT_NAME: "/builtins", QUERY_STRING: uri.split("?")[1] });
  t.same(JSON.parse(parseCgi(answer.stdout).body), ["net"], "0.6 MiB and 5 ms of start-up a worker does not spend");
  const withFront = await startTscgi(["--root", root, "--workers", "1"]);
  t.teardown(() => withFront.stop());
  const res = await getFresh(`http://127.0.0.1:${withFront.httpPort}${uri}`);
  t.same(JSON.parse(res.body), ["http", "_http_server", "net"]);
});
