// A real tscgi process over raw FastCGI sockets: what nginx never sends, HAProxy might, and attackers will.
import t from "tap";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeParams } from "../../src/fastcgi/params.ts";
import { encodeRecord } from "../../src/fastcgi/record.ts";
import { RecordType } from "../../src/fastcgi/constants.ts";
import { beginRequest, FcgiClient, parseCgi, requestBytes } from "../helpers/fcgi-client.ts";
import { repo, startTscgi, type TscgiProcess } from "../helpers/tscgi.ts";

const root = join(repo, "test/fixtures/cgi-bin");
let tscgi: TscgiProcess;
t.before(async () => {
  tscgi = await startTscgi(["--root", root, "--max-params-bytes", "4k", "--log-level", "debug"]);
});
t.teardown(() => tscgi?.stop());

const get = (uri: string, extra: Record<string, string> = {}) => {
  const q = uri.indexOf("?");
  return {
    REQUEST_METHOD: "GET",
    REQUEST_URI: uri,
    DOCUMENT_URI: q === -1 ? uri : uri.slice(0, q),
    QUERY_STRING: q === -1 ? "" : uri.slice(q + 1),
    REMOTE_ADDR: "127.0.0.1",
    ...extra,
  };
};

t.test("SCRIPT_FILENAME from the web server never picks the file", async (t) => {
  const c = new FcgiClient(tscgi.fastcgiPort);
  const hostile = await c.request(1, get("/hello", { SCRIPT_FILENAME: join(root, "_private/secret.ts") }));
  t.same([parseCgi(hostile.stdout).status, parseCgi(hostile.stdout).body], [200, "Hello, world"]);
  const none = await c.request(2, get("/nope", { SCRIPT_FILENAME: join(root, "hello.ts") }));
  t.equal(parseCgi(none.stdout).status, 404);
  c.close();
});

t.test("garbage closes that connection only; the process keeps serving", async (t) => {
  const good = new FcgiClient(tscgi.fastcgiPort);
  t.equal(parseCgi((await good.request(1, get("/hello"))).stdout).status, 200);
  for (const garbage of [
    Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
    Buffer.from([2, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), // version 2
    Buffer.concat([beginRequest(1), beginRequest(1)]), // duplicate active id
    encodeRecord(RecordType.BeginRequest, 1, Buffer.alloc(3)), // short BEGIN_REQUEST body
  ]) {
    const bad = new FcgiClient(tscgi.fastcgiPort);
    bad.send(garbage);
    await bad.closed;
    t.pass(`closed after ${JSON.stringify(garbage.subarray(0, 8).toString("hex"))}`);
  }
  t.equal(parseCgi((await good.request(2, get("/hello?name=again"))).stdout).body, "Hello, again");
  good.close();
});

t.test("params over max_params_bytes close the connection with a log line", async (t) => {
  const c = new FcgiClient(tscgi.fastcgiPort);
  c.send(requestBytes(1, get("/hello", { HTTP_COOKIE: "x".repeat(8000) })));
  await c.closed;
  await tscgi.waitFor(/fastcgi: .*TSCGI_E_FCGI_PARAMS_TOO_LARGE|fastcgi: .*params/i);
  t.pass();
});

t.test("several request ids on one connection are served concurrently", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tscgi-mux-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const release = join(dir, "release");
  const c = new FcgiClient(tscgi.fastcgiPort);
  // Request 1 is held until the test releases it; request 2 must not wait behind it.
  const held = c.request(1, get(`/hold?id=mux&release=${encodeURIComponent(release)}`));
  await tscgi.waitFor("hold.ts: holding mux");
  const f = await c.request(2, get("/hello?name=fast"));
  t.equal(parseCgi(f.stdout).body, "Hello, fast", "answered while request 1 is still held");
  t.notOk(c.responses.get(1)?.done, "request 1 is still running");
  writeFileSync(release, "");
  t.equal(parseCgi((await held).stdout).body, "released");
  c.close();
});

t.test("FCGI_GET_VALUES is answered with the known names asked for", async (t) => {
  const c = new FcgiClient(tscgi.fastcgiPort);
  c.send(encodeRecord(RecordType.GetValues, 0, encodeParams({ FCGI_MPXS_CONNS: "", FCGI_MAX_REQS: "", UNKNOWN: "" })));
  await c.until(() => c.management.length > 0);
  const m = c.management[0];
  t.equal(m.type, RecordType.GetValuesResult);
  const text = m.content.toString("latin1");
  t.match(text, /FCGI_MPXS_CONNS1/);
  t.match(text, /FCGI_MAX_REQS100/);
  t.notMatch(text, /UNKNOWN/);
  c.close();
});

t.test("FCGI_ABORT_REQUEST fires the script's signal and ends the request once", async (t) => {
  const c = new FcgiClient(tscgi.fastcgiPort);
  c.send(requestBytes(7, get("/hold?id=abort")));
  await tscgi.waitFor("hold.ts: holding abort");
  c.send(encodeRecord(RecordType.AbortRequest, 7, Buffer.alloc(0)));
  await c.until(() => c.responses.get(7)?.done === true);
  // The access line is written once the request is over: anything it sent came before it.
  await tscgi.waitFor('"GET /hold?id=abort" 499');
  const ends = c.responses.get(7)!;
  t.not(ends.appStatus, 0, "a non-zero appStatus");
  t.equal(parseCgi((await c.request(8, get("/hello"))).stdout).status, 200, "the connection still serves");
  t.equal(c.endRequests.get(7), 1, "one END_REQUEST for the aborted request");
  c.close();
});

t.test("the Filter role gets FCGI_UNKNOWN_ROLE", async (t) => {
  const c = new FcgiClient(tscgi.fastcgiPort);
  c.send(beginRequest(3, 3));
  await c.until(() => c.responses.get(3)?.done === true);
  t.equal(c.responses.get(3)!.protocolStatus, 3);
  c.close();
});

t.test("without FCGI_KEEP_CONN the connection closes after END_REQUEST", async (t) => {
  const c = new FcgiClient(tscgi.fastcgiPort);
  c.send(requestBytes(1, get("/hello"), undefined, false));
  await c.closed;
  t.equal(c.responses.get(1)?.done, true);
  t.equal(parseCgi(c.responses.get(1)!.stdout).body, "Hello, world");
});

t.test("a POST body split across many STDIN records arrives whole", async (t) => {
  const c = new FcgiClient(tscgi.fastcgiPort);
  const body = Buffer.alloc(200_000, 7);
  const parts = [
    beginRequest(1),
    encodeRecord(RecordType.Params, 1, encodeParams({ ...get("/hash"), REQUEST_METHOD: "POST", CONTENT_LENGTH: String(body.length) })),
  ];
  parts.push(encodeRecord(RecordType.Params, 1, Buffer.alloc(0)));
  for (let i = 0; i < body.length; i += 30_000) parts.push(encodeRecord(RecordType.Stdin, 1, body.subarray(i, i + 30_000)));
  parts.push(encodeRecord(RecordType.Stdin, 1, Buffer.alloc(0)));
  c.send(Buffer.concat(parts));
  await c.until(() => c.responses.get(1)?.done === true);
  t.has(JSON.parse(parseCgi(c.responses.get(1)!.stdout).body), { bytes: 200_000 });
  c.close();
});

t.test("a body sent as many small STDIN records reaches the script in a few chunks, not one per record", async (t) => {
  // nginx sends an unbuffered body in records of client_body_buffer_size (8 KiB): one turn of the
  // script's loop per record made a script that writes each chunk to a file 4x slower.
  const c = new FcgiClient(tscgi.fastcgiPort);
  const body = Buffer.alloc(64 * 1024);
  for (let i = 0; i < body.length; i++) body[i] = i % 251;
  const parts = [
    beginRequest(1),
    encodeRecord(RecordType.Params, 1, encodeParams({ ...get("/hash"), REQUEST_METHOD: "POST", CONTENT_LENGTH: String(body.length) })),
    encodeRecord(RecordType.Params, 1, Buffer.alloc(0)),
  ];
  for (let i = 0; i < body.length; i += 1024) parts.push(encodeRecord(RecordType.Stdin, 1, body.subarray(i, i + 1024)));
  parts.push(encodeRecord(RecordType.Stdin, 1, Buffer.alloc(0)));
  c.send(Buffer.concat(parts));
  await c.until(() => c.responses.get(1)?.done === true);
  const answer = JSON.parse(parseCgi(c.responses.get(1)!.stdout).body) as { sha256: string; bytes: number; chunks: number };
  t.same({ sha256: answer.sha256, bytes: answer.bytes }, { sha256: createHash("sha256").update(body).digest("hex"), bytes: body.length });
  t.ok(answer.chunks <= 8, `64 records of 1 KiB in one write: ${answer.chunks} chunks`);
  c.close();
});

t.test("a script reads at most CONTENT_LENGTH bytes of the body, whatever the web server sends", async (t) => {
  const c = new FcgiClient(tscgi.fastcgiPort);
  const post = { ...get("/hash"), REQUEST_METHOD: "POST", CONTENT_LENGTH: "10" };
  const over = await c.request(1, post, Buffer.alloc(60_000, 0x61));
  t.match(JSON.parse(parseCgi(over.stdout).body), { bytes: 10 });
  const short = await c.request(2, { ...post, CONTENT_LENGTH: "100" }, Buffer.alloc(30, 0x61));
  t.match(JSON.parse(parseCgi(short.stdout).body), { bytes: 30 }, "a short body as it came");
  t.equal(parseCgi((await c.request(3, get("/hello"))).stdout).status, 200, "the connection goes on");
  c.close();
});

t.test("protocol faults are logged once as warnings with one fastcgi: prefix, however many connections send garbage", async (t) => {
  const before = tscgi.output().length;
  for (let i = 0; i < 10; i++) {
    const bad = new FcgiClient(tscgi.fastcgiPort);
    bad.send(Buffer.from([9, 1, 0, 1, 0, 0, 0, 0]));
    await bad.closed;
  }
  const good = new FcgiClient(tscgi.fastcgiPort);
  t.equal(parseCgi((await good.request(1, get("/hello"))).stdout).status, 200);
  good.close();
  const lines = tscgi
    .output()
    .split("\n")
    .filter((line) => line.includes("TSCGI_E_FCGI_BAD_VERSION"));
  t.ok(lines.length >= 1 && lines.length <= 2, `${lines.length} line(s) for 10 garbage connections and earlier ones`);
  t.same(
    lines.filter((line) => !/ WARN: fastcgi: record header/.test(line)),
    [],
    "WARN, one prefix",
  );
  t.notMatch(tscgi.output(), /fastcgi: fastcgi:/);
  t.notMatch(tscgi.output().slice(before), /ERROR/);
});

t.test("with few file descriptors, connections stop short of the limit: logged, and the server carries on", async (t) => {
  // 128 descriptors leave room for 64 connections (FD_RESERVE is 64); 100 arrive and stay idle.
  const own = await startTscgi(["--root", root, "--workers", "0"], { openFiles: 128 });
  t.teardown(() => own.stop());
  await own.waitFor(
    /WARN: max_connections is 1024, but the open-file limit \(RLIMIT_NOFILE\) is 128: .* each keeps at most 64 connections open/,
  );
  const flood: FcgiClient[] = [];
  for (let i = 0; i < 100; i++) {
    const c = new FcgiClient(own.fastcgiPort);
    c.send(encodeRecord(RecordType.GetValues, 0, encodeParams({ FCGI_MPXS_CONNS: "" })));
    flood.push(c);
  }
  await own.waitFor(
    /WARN: fastcgi: max_connections \(64, lowered to fit the open-files limit\) reached: the connection idle longest was closed.*\[TSCGI_E_SERVER_MAX_CONNECTIONS\]/,
  );
  await Promise.all(flood.slice(0, 36).map((c) => c.closed));
  t.pass("the 36 oldest made room");
  const c = new FcgiClient(own.fastcgiPort);
  t.equal(parseCgi((await c.request(1, get("/hello"))).stdout).body, "Hello, world", "a new connection is served during the flood");
  t.notMatch(own.output(), /EMFILE|uncaught/i);
  c.close();
  for (const f of flood) f.close();
});
