// Connection: the protocol state machine over an in-memory transport, one behaviour per test.

import t from "tap";
import { Connection, defaultConnectionOptions } from "../../src/fastcgi/connection.ts";
import type { FcgiRequest } from "../../src/fastcgi/request.ts";
import { ProtocolStatus, RecordType, Role } from "../../src/fastcgi/constants.ts";
import { ConnectionClosedError, RequestAbortedError } from "../../src/fastcgi/errors.ts";
import { encodeParams } from "../../src/fastcgi/params.ts";
import { type DecodedRecord, client, harness } from "./fixtures/fcgi.ts";

const CLOSE = 0;

/** True if the promise settled within one turn of the event loop. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

function endRequests(records: DecodedRecord[]): [number, number, number][] {
  return records.filter((r) => r.type === RecordType.EndRequest).map((r) => [r.requestId, r.content.readUInt32BE(0), r.content[4]]);
}

function stdoutOf(records: DecodedRecord[], id: number): string {
  return Buffer.concat(records.filter((r) => r.type === RecordType.Stdout && r.requestId === id).map((r) => r.content)).toString();
}

t.test("the handler gets complete params as soon as the empty PARAMS record arrives, before STDIN", async (t) => {
  const { conn, requests } = harness();
  conn.receive(Buffer.concat([client.begin(1), client.params(1, { REQUEST_METHOD: "GET", SCRIPT_NAME: "/hi" })]));
  t.equal(requests.length, 1);
  const request = requests[0];
  t.equal(request.id, 1);
  t.equal(request.role, Role.Responder);
  t.equal(request.keepConn, true);
  t.same({ ...request.params }, { REQUEST_METHOD: "GET", SCRIPT_NAME: "/hi" });
  t.equal(Object.getPrototypeOf(request.params), null);
  t.equal(conn.activeRequests, 1);
});

t.test("a request with no pairs gets an empty null-prototype params object", async (t) => {
  const { conn, requests } = harness();
  conn.receive(Buffer.concat([client.begin(1), client.record(RecordType.Params, 1)]));
  t.same(Object.keys(requests[0].params), []);
  t.equal(Object.getPrototypeOf(requests[0].params), null);
});

t.test("a small response leaves in one write: STDOUT, empty STDOUT, END_REQUEST", async (t) => {
  const { conn, transport } = harness({}, (request) => request.end(0, Buffer.from("Content-Type: text/plain\r\n\r\nhi")));
  conn.receive(client.request(1, { REQUEST_METHOD: "GET" }));
  t.equal(transport.written.length, 1);
  t.equal(transport.corks, 0, "cork and uncork balance");
  const records = transport.records();
  t.same(
    records.map((r) => [r.type, r.requestId, r.content.length]),
    [
      [RecordType.Stdout, 1, 30],
      [RecordType.Stdout, 1, 0],
      [RecordType.EndRequest, 1, 8],
    ],
  );
  t.same(endRequests(records), [[1, 0, ProtocolStatus.RequestComplete]]);
  t.equal(transport.output().length % 8, 0);
  t.equal(conn.activeRequests, 0);
  t.notOk(transport.ended, "keep-conn: stays open");
});

t.test("STDIN chunks are read in order, then null", async (t) => {
  const { conn, requests } = harness();
  conn.receive(Buffer.concat([client.begin(1), client.params(1, {})]));
  const request = requests[0];
  const first = request.readStdin();
  conn.receive(client.record(RecordType.Stdin, 1, Buffer.from("abc")));
  t.equal(Buffer.from((await first)!).toString(), "abc");
  conn.receive(client.record(RecordType.Stdin, 1, Buffer.from("def")));
  t.equal(Buffer.from((await request.readStdin())!).toString(), "def", "queued, then read");
  const last = request.readStdin();
  conn.receive(client.record(RecordType.Stdin, 1));
  t.equal(await last, null);
  t.equal(await request.readStdin(), null, "and null again");
});

t.test("the STDIN records of one read reach a reader as one chunk, and the end after them", async (t) => {
  const { conn, requests } = harness();
  conn.receive(Buffer.concat([client.begin(1), client.params(1, {})]));
  const request = requests[0];
  const waiting = request.readStdin();
  const later = request.readStdin();
  conn.receive(
    Buffer.concat([
      client.record(RecordType.Stdin, 1, Buffer.from("abc")),
      client.record(RecordType.Stdin, 1, Buffer.from("def")),
      client.record(RecordType.Stdin, 1, Buffer.from("ghi")),
      client.record(RecordType.Stdin, 1),
    ]),
  );
  t.equal(Buffer.from((await waiting)!).toString(), "abcdefghi", "the waiting reader: every record of the read");
  t.equal(await later, null, "the next one: the end, after the data");
  // Records queued while nobody reads: the next read takes all of them.
  const { conn: conn2, requests: requests2 } = harness();
  conn2.receive(Buffer.concat([client.begin(1), client.params(1, {})]));
  conn2.receive(client.record(RecordType.Stdin, 1, Buffer.from("12")));
  conn2.receive(client.record(RecordType.Stdin, 1, Buffer.from("34")));
  conn2.receive(client.record(RecordType.Stdin, 1));
  t.equal(Buffer.from((await requests2[0].readStdin())!).toString(), "1234");
  t.equal(await requests2[0].readStdin(), null);
});

t.test("STDIN that arrives before the params are complete is kept for the handler", async (t) => {
  const { conn, requests } = harness();
  conn.receive(
    Buffer.concat([
      client.begin(1),
      client.record(RecordType.Stdin, 1, Buffer.from("early")),
      client.params(1, {}),
      client.record(RecordType.Stdin, 1),
    ]),
  );
  t.equal(Buffer.from((await requests[0].readStdin())!).toString(), "early");
  t.equal(await requests[0].readStdin(), null);
});

t.test("several request ids are multiplexed on one connection and served concurrently", async (t) => {
  const { conn, transport, requests } = harness();
  const interleaved = Buffer.concat([
    client.begin(1),
    client.begin(2),
    client.params(2, { N: "two" }),
    client.begin(3),
    client.params(1, { N: "one" }),
    client.record(RecordType.Stdin, 2, Buffer.from("body-2")),
    client.params(3, { N: "three" }),
    client.stdin(1),
    client.record(RecordType.Stdin, 2),
    client.stdin(3),
  ]);
  conn.receive(interleaved);
  t.same(
    requests.map((r) => [r.id, r.params["N"]]),
    [
      [2, "two"],
      [1, "one"],
      [3, "three"],
    ],
  );
  t.equal(conn.activeRequests, 3);
  const two = requests[0];
  t.equal(Buffer.from((await two.readStdin())!).toString(), "body-2");
  for (const request of [...requests].reverse()) {
    await request.writeStdout(Buffer.from(`out-${request.id}`));
    request.end(0);
  }
  const records = transport.records();
  t.equal(stdoutOf(records, 1), "out-1");
  t.equal(stdoutOf(records, 2), "out-2");
  t.equal(stdoutOf(records, 3), "out-3");
  t.same(
    endRequests(records).map((e) => e[0]),
    [3, 1, 2],
  );
  t.equal(conn.activeRequests, 0);
});

t.test("a new id over maxRequests is answered FCGI_OVERLOADED and the connection is kept", async (t) => {
  const { conn, transport, requests } = harness({ maxRequests: 2 });
  conn.receive(Buffer.concat([client.begin(1), client.begin(2), client.begin(3), client.params(3, {}), client.stdin(3)]));
  t.same(endRequests(transport.records()), [[3, 0, ProtocolStatus.Overloaded]]);
  t.equal(conn.activeRequests, 2);
  t.equal(requests.length, 0, "the refused id's records are ignored");
  t.notOk(transport.destroyed || transport.ended);
  conn.receive(Buffer.concat([client.params(1, {}), client.stdin(1)]));
  requests[0].end();
  conn.receive(client.begin(3));
  t.equal(conn.activeRequests, 2, "a freed slot takes the next id");
});

t.test("with mpxsConns false, a second concurrent id is answered FCGI_CANT_MPX_CONN", async (t) => {
  const { conn, transport } = harness({ getValues: { maxConns: 1, maxReqs: 1, mpxsConns: false } });
  conn.receive(Buffer.concat([client.begin(1), client.begin(2)]));
  t.same(endRequests(transport.records()), [[2, 0, ProtocolStatus.CantMpxConn]]);
  t.equal(conn.activeRequests, 1);
});

t.test("Filter and unknown roles are answered FCGI_UNKNOWN_ROLE; an Authorizer reaches the handler", async (t) => {
  const { conn, transport, requests } = harness();
  conn.receive(Buffer.concat([client.begin(1, Role.Authorizer), client.params(1, {}), client.begin(2, Role.Filter), client.begin(3, 99)]));
  t.same(endRequests(transport.records()), [
    [2, 0, ProtocolStatus.UnknownRole],
    [3, 0, ProtocolStatus.UnknownRole],
  ]);
  t.equal(requests.length, 1);
  t.equal(requests[0].role, Role.Authorizer);
  t.equal(conn.activeRequests, 1);
  t.notOk(transport.ended, "keep-conn refusals keep the connection");
});

t.test("an unknown role without FCGI_KEEP_CONN closes the connection after the refusal", async (t) => {
  const { conn, transport } = harness();
  conn.receive(client.begin(1, Role.Filter, CLOSE));
  t.same(endRequests(transport.records()), [[1, 0, ProtocolStatus.UnknownRole]]);
  t.ok(transport.ended);
});

t.test("without FCGI_KEEP_CONN the connection is closed after END_REQUEST", async (t) => {
  const { conn, transport } = harness({}, (request) => request.end(0, Buffer.from("x")));
  conn.receive(client.request(1, {}, "", CLOSE));
  // Answered as its PARAMS ended; its empty STDIN came in the same chunk, so nothing more is due
  // from the web server: closed outright, no half-close and no wait for its FIN (nginx's GET).
  t.ok(transport.destroyed);
  t.notOk(transport.ended);
  t.equal(transport.lateWrites, 0);
  conn.receive(client.request(2, {}));
  t.equal(endRequests(transport.records()).length, 1, "input after the close is ignored");
});

t.test("without FCGI_KEEP_CONN, a request answered mid-chunk whose STDIN goes on in the next chunk gets a half-close", async (t) => {
  const { conn, transport } = harness({}, (request) => request.end(0, Buffer.from("x")));
  // The chunk ends inside the body: the web server is still sending.
  conn.receive(
    Buffer.concat([client.begin(1, Role.Responder, CLOSE), client.params(1, {}), client.record(RecordType.Stdin, 1, Buffer.from("part"))]),
  );
  t.ok(transport.ended);
  t.notOk(transport.destroyed);
});

t.test("without FCGI_KEEP_CONN the close waits until no other request is active", async (t) => {
  const { conn, transport, requests } = harness();
  conn.receive(Buffer.concat([client.request(1, {}), client.request(2, {}, "", CLOSE)]));
  requests[1].end();
  t.notOk(transport.ended, "request 1 is still active");
  requests[0].end();
  t.ok(transport.destroyed, "both requests' input was read whole: closed outright");
  t.same(
    endRequests(transport.records()).map((e) => e[0]),
    [2, 1],
  );
});

t.test("without FCGI_KEEP_CONN, a request whose input was read whole is closed outright, not half-closed", async (t) => {
  const { conn, transport, requests } = harness();
  conn.receive(client.request(1, {}, "body", CLOSE));
  requests[0].end(0, Buffer.from("x"));
  // No shutdown and no wait for the peer's FIN: the web server has nothing more to send.
  t.ok(transport.destroyed);
  t.notOk(transport.ended);
  t.equal(transport.lateWrites, 0);
});

t.test("without FCGI_KEEP_CONN, a request answered before its STDIN ended gets a half-close", async (t) => {
  const { conn, transport, requests } = harness();
  conn.receive(Buffer.concat([client.begin(1, Role.Responder, CLOSE), client.params(1, {})]));
  requests[0].end(0, Buffer.from("x"));
  // The web server may still be sending the body: reading it to its end spares it a reset.
  t.ok(transport.ended);
  t.notOk(transport.destroyed);
});

t.test("without FCGI_KEEP_CONN, an answer still queued is flushed before the connection is closed", async (t) => {
  const { conn, transport, requests } = harness();
  conn.receive(client.request(1, {}, "", CLOSE));
  transport.full = true;
  requests[0].end(0, Buffer.from("x"));
  t.notOk(transport.destroyed, "waits for the kernel to take the answer");
  transport.full = false;
  transport.drain();
  await new Promise((resolve) => setImmediate(resolve));
  t.ok(transport.destroyed);
});

t.test("with FCGI_KEEP_CONN the connection serves request after request", async (t) => {
  const { conn, transport } = harness({}, (request) => request.end(0, Buffer.from(String(request.id))));
  for (let id = 1; id <= 5; id++) conn.receive(client.request(1, { I: String(id) }));
  t.equal(endRequests(transport.records()).length, 5);
  t.notOk(transport.ended || transport.destroyed);
});

t.test("FCGI_ABORT_REQUEST fires the signal, rejects readStdin, sends exactly one END_REQUEST and drops later output", async (t) => {
  const { conn, transport, requests } = harness();
  conn.receive(Buffer.concat([client.begin(1), client.params(1, {})]));
  const request = requests[0];
  const signal = request.signal;
  t.notOk(signal.aborted);
  const pending = request.readStdin();
  let fired = 0;
  signal.addEventListener("abort", () => {
    fired++;
    request.end(0, Buffer.from("from the abort listener"));
  });
  conn.receive(client.abort(1));
  t.equal(fired, 1);
  t.ok(request.aborted);
  t.ok(signal.reason instanceof RequestAbortedError);
  await t.rejects(pending, RequestAbortedError);
  await t.rejects(request.readStdin(), { code: "TSCGI_E_FCGI_REQUEST_ABORTED" });
  await request.writeStdout(Buffer.from("late"));
  request.writeStderr(Buffer.from("late"));
  request.end(0, Buffer.from("late"));
  conn.receive(Buffer.concat([client.abort(1), client.stdin(1, "late")]));
  const records = transport.records();
  t.same(
    records.map((r) => r.type),
    [RecordType.EndRequest],
    "nothing but one END_REQUEST",
  );
  t.same(endRequests(records), [[1, 1, ProtocolStatus.RequestComplete]]);
  t.equal(conn.activeRequests, 0);
});

t.test("the signal is created lazily and is already aborted when first read after the abort", async (t) => {
  const { conn, requests } = harness();
  conn.receive(Buffer.concat([client.begin(1), client.params(1, {}), client.abort(1)]));
  const request = requests[0];
  t.ok(request.aborted);
  t.ok(request.signal.aborted);
  t.ok(request.signal.reason instanceof RequestAbortedError);
  t.equal(request.signal, request.signal, "the same signal on every access");
});

t.test("onAbort: called once with the signal's reason, without building the signal; removable; never after end()", async (t) => {
  const { conn, requests } = harness();
  conn.receive(Buffer.concat([client.begin(1), client.params(1, {}), client.begin(2), client.params(2, {})]));
  const [one, two] = requests;
  const reasons: unknown[] = [];
  one.onAbort((reason) => reasons.push(reason));
  const off = one.onAbort(() => reasons.push("removed"));
  off();
  off();
  two.onAbort(() => reasons.push("after end"));
  two.end();
  conn.receive(Buffer.concat([client.abort(1), client.abort(1)]));
  t.equal(reasons.length, 1, "one call, none for the removed listener or the ended request");
  t.ok(reasons[0] instanceof RequestAbortedError);
  t.equal(one.signal.reason, reasons[0], "the reason the signal gives");
  one.onAbort((reason) => reasons.push(reason));
  t.equal(reasons[1], reasons[0], "a listener added after the abort is called at once");
  two.onAbort(() => reasons.push("added after end"));
  t.equal(reasons.length, 2, "a listener added after a normal end is never called");
});

t.test("onAbort fires when the connection closes", async (t) => {
  const { conn, requests } = harness();
  conn.receive(Buffer.concat([client.begin(1), client.params(1, {})]));
  let reason: unknown;
  requests[0].onAbort((r) => (reason = r));
  conn.closed();
  t.ok(reason instanceof ConnectionClosedError);
});

t.test("an abort before the params are complete ends the id without calling the handler", async (t) => {
  const { conn, transport, requests } = harness();
  conn.receive(Buffer.concat([client.begin(1), client.abort(1), client.params(1, {})]));
  t.equal(requests.length, 0);
  t.same(endRequests(transport.records()), [[1, 1, 0]]);
});

t.test("an abort without FCGI_KEEP_CONN closes the connection after its END_REQUEST", async (t) => {
  const { conn, transport } = harness();
  conn.receive(Buffer.concat([client.begin(1, Role.Responder, CLOSE), client.params(1, {}), client.abort(1)]));
  t.same(endRequests(transport.records()), [[1, 1, 0]]);
  t.ok(transport.ended);
});

t.test("closing the connection aborts every active request and writes nothing", async (t) => {
  const { conn, transport, requests } = harness();
  conn.receive(Buffer.concat([client.begin(1), client.params(1, {}), client.begin(2), client.params(2, {})]));
  const reads = requests.map((r) => r.readStdin());
  const one = requests[0].signal;
  conn.closed();
  t.ok(one.aborted);
  t.ok(requests[1].signal.aborted);
  t.ok(one.reason instanceof ConnectionClosedError);
  for (const read of reads) await t.rejects(read, { code: "TSCGI_E_FCGI_CONNECTION_CLOSED" });
  requests[0].end(0, Buffer.from("late"));
  await requests[1].writeStdout(Buffer.from("late"));
  t.equal(transport.written.length, 0);
  t.equal(conn.activeRequests, 0);
  conn.closed();
  t.pass("closed() twice is harmless");
});

t.test("an unknown management record type is answered FCGI_UNKNOWN_TYPE and the connection kept", async (t) => {
  const { conn, transport, logs } = harness({}, (request) => request.end());
  conn.receive(
    Buffer.concat([client.record(0x42, 0, Buffer.from("whatever")), client.record(RecordType.BeginRequest, 0, Buffer.alloc(8))]),
  );
  const records = transport.records();
  t.same(
    records.map((r) => [r.type, r.requestId, r.content[0]]),
    [
      [RecordType.UnknownType, 0, 0x42],
      [RecordType.UnknownType, 0, 1],
    ],
  );
  t.ok(records.every((r) => r.content.length === 8));
  conn.receive(client.request(1, {}));
  t.equal(endRequests(transport.records()).length, 1, "still serving");
  t.same(logs, []);
});

t.test("FCGI_GET_VALUES is answered at any time with only the known names asked for", async (t) => {
  const { conn, transport } = harness({ getValues: { maxConns: 7, maxReqs: 9, mpxsConns: true } });
  conn.receive(
    Buffer.concat([client.begin(1), client.params(1, {}), client.getValues(["FCGI_MPXS_CONNS", "FCGI_UNHEARD_OF", "FCGI_MAX_CONNS"])]),
  );
  conn.receive(client.getValues(["FCGI_MAX_REQS"]));
  conn.receive(client.getValues([]));
  const answers = transport.records().filter((r) => r.type === RecordType.GetValuesResult);
  t.equal(answers.length, 3);
  t.ok(answers.every((a) => a.requestId === 0));
  t.equal(
    answers[0].content.toString("hex"),
    encodeParams([
      ["FCGI_MPXS_CONNS", "1"],
      ["FCGI_MAX_CONNS", "7"],
    ]).toString("hex"),
  );
  t.equal(answers[1].content.toString("hex"), encodeParams([["FCGI_MAX_REQS", "9"]]).toString("hex"));
  t.equal(answers[2].content.length, 0);
  t.equal(conn.activeRequests, 1);
});

t.test("records for ids that are not active are ignored", async (t) => {
  const { conn, transport, requests, logs } = harness();
  conn.receive(
    Buffer.concat([
      client.params(9, { A: "1" }),
      client.stdin(9, "x"),
      client.abort(9),
      client.record(RecordType.Data, 9, Buffer.from("d")),
    ]),
  );
  t.equal(transport.written.length, 0);
  t.equal(requests.length, 0);
  t.same(logs, []);
});

t.test("DATA and application-to-server record types on an active id are ignored", async (t) => {
  const { conn, transport, requests } = harness();
  conn.receive(client.begin(1));
  for (const type of [
    RecordType.Data,
    RecordType.Stdout,
    RecordType.Stderr,
    RecordType.EndRequest,
    RecordType.GetValues,
    RecordType.UnknownType,
    200,
  ]) {
    conn.receive(client.record(type, 1, Buffer.from("junk")));
  }
  conn.receive(client.params(1, {}));
  t.equal(requests.length, 1);
  t.equal(transport.written.length, 0);
});

t.test("STDIN that arrives after END_REQUEST is ignored", async (t) => {
  const { conn, transport, requests } = harness({}, (request) => request.end());
  conn.receive(Buffer.concat([client.begin(1), client.params(1, {})]));
  conn.receive(client.stdin(1, "x".repeat(100_000)));
  t.equal(requests.length, 1);
  t.equal(transport.records().length, 2, "only the response");
  t.equal(transport.pauses, 0);
});

t.test("PARAMS after the empty PARAMS record are ignored", async (t) => {
  const { conn, requests } = harness();
  conn.receive(Buffer.concat([client.begin(1), client.params(1, { A: "1" }), client.params(1, { A: "2" })]));
  t.equal(requests.length, 1);
  t.equal(requests[0].params["A"], "1");
});

for (const [name, bytes, code] of [
  ["a version other than 1", Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "TSCGI_E_FCGI_BAD_VERSION"],
  ["a BEGIN_REQUEST for an id that is still active", Buffer.concat([client.begin(1), client.begin(1)]), "TSCGI_E_FCGI_DUPLICATE_REQUEST"],
  [
    "a BEGIN_REQUEST body that is not 8 bytes",
    client.record(RecordType.BeginRequest, 1, Buffer.alloc(7)),
    "TSCGI_E_FCGI_BAD_BEGIN_REQUEST",
  ],
  [
    "a PARAMS stream ending inside a pair",
    Buffer.concat([client.begin(1), client.record(RecordType.Params, 1, Buffer.from([5, 5, 65])), client.record(RecordType.Params, 1)]),
    "TSCGI_E_FCGI_MALFORMED_PARAMS",
  ],
  ["a malformed GET_VALUES body", client.record(RecordType.GetValues, 0, Buffer.from([0x80])), "TSCGI_E_FCGI_MALFORMED_PARAMS"],
  [
    "PARAMS over maxParamsBytes",
    Buffer.concat([client.begin(1), client.params(1, { BIG: "x".repeat(200_000) })]),
    "TSCGI_E_FCGI_PARAMS_TOO_LARGE",
  ],
  [
    "PARAMS with more pairs than maxParamsPairs",
    Buffer.concat([client.begin(1), client.params(1, Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`P${i}`, ""])))]),
    "TSCGI_E_FCGI_TOO_MANY_PARAMS",
  ],
] as const) {
  t.test(`${name} closes the connection with one log line`, async (t) => {
    const { conn, transport, requests, logs } = harness();
    conn.receive(Buffer.concat([client.begin(7), client.params(7, {})]));
    const survivor = requests[0];
    t.doesNotThrow(() => conn.receive(bytes));
    t.ok(transport.destroyed);
    t.equal(logs.length, 1);
    t.match(logs[0], code);
    t.ok(survivor.aborted, "the connection's requests are aborted");
    t.doesNotThrow(() => conn.receive(client.request(2, {})));
    t.equal(logs.length, 1, "input after the fault is ignored");
    t.equal(transport.lateWrites, 0);
  });
}

t.test("protocol faults are the peer's: logged as warnings, once, with one fastcgi: prefix", async (t) => {
  const big = harness({ maxParamsBytes: 16 });
  big.conn.receive(Buffer.concat([client.begin(1), client.params(1, { A: "x".repeat(20) })]));
  t.match(big.logs[0], /^warn: .*max_params_bytes/);
  const bad = harness();
  bad.conn.receive(Buffer.from("\x02\x01"));
  bad.conn.receive(Buffer.alloc(6));
  t.match(bad.logs[0], /^warn: fastcgi: record header has version 2/);
  t.notMatch(bad.logs[0], /fastcgi: fastcgi:/);
});

t.test("a handler that throws gets END_REQUEST with appStatus 1 and a log line; the connection lives", async (t) => {
  let calls = 0;
  const { conn, transport, logs } = harness({}, () => {
    if (calls++ === 0) throw new Error("boom");
  });
  conn.receive(client.request(1, {}));
  t.same(endRequests(transport.records()), [[1, 1, 0]]);
  t.equal(logs.length, 1);
  t.match(logs[0], /boom/);
  conn.receive(client.request(2, {}));
  t.equal(conn.activeRequests, 1);
  t.notOk(transport.destroyed);
});

t.test("writeStdout waits for 'drain' when the transport is full, with one shared promise", async (t) => {
  const { conn, transport, requests } = harness();
  conn.receive(Buffer.concat([client.request(1, {}), client.request(2, {})]));
  const [one, two] = requests as [(typeof requests)[0], (typeof requests)[0]];
  const fast1 = one.writeStdout(Buffer.from("a"));
  const fast2 = two.writeStdout(Buffer.from("b"));
  t.equal(fast1, fast2, "the fast path returns a shared promise");
  t.ok(await settled(fast1));
  transport.full = true;
  const slow1 = one.writeStdout(Buffer.from("c"));
  const slow2 = two.writeStdout(Buffer.from("d"));
  t.equal(slow1, slow2, "writers blocked on the same stall share a promise");
  t.equal(transport.drainListeners, 1);
  t.notOk(await settled(slow1), "pending while the transport is full");
  transport.drain();
  t.ok(await settled(slow1), "resolved by 'drain'");
  t.equal(await one.writeStdout(Buffer.alloc(0)), undefined, "an empty write sends nothing");
  t.equal(stdoutOf(transport.records(), 1), "ac");
});

t.test("writers waiting on 'drain' are released when the connection closes", async (t) => {
  const { conn, transport, requests } = harness();
  conn.receive(client.request(1, {}));
  transport.full = true;
  const pending = requests[0].writeStdout(Buffer.from("x"));
  t.notOk(await settled(pending));
  conn.closed();
  t.ok(await settled(pending));
});

t.test("buffered STDIN over the high-water mark pauses the transport; reading it down resumes", async (t) => {
  const { conn, transport, requests } = harness({ stdinHighWaterMark: 10 });
  conn.receive(Buffer.concat([client.begin(1), client.params(1, {})]));
  const chunk = () => client.record(RecordType.Stdin, 1, Buffer.alloc(8, 0x61));
  conn.receive(chunk());
  t.notOk(transport.paused, "8 bytes buffered");
  conn.receive(chunk());
  t.ok(transport.paused, "16 bytes buffered");
  conn.receive(chunk());
  t.equal(transport.pauses, 1, "paused once");
  t.equal((await requests[0].readStdin())!.length, 24, "a read takes all that is buffered");
  t.notOk(transport.paused, "nothing buffered: resumed");
  t.equal(transport.resumes, 1);
  conn.receive(chunk());
  conn.receive(chunk());
  t.ok(transport.paused, "16 bytes buffered again");
  // A reader that gives chunks back takes them one record at a time.
  requests[0].releaseStdin((await requests[0].readStdin())!);
  conn.receive(chunk());
  conn.receive(chunk());
  conn.receive(chunk());
  t.equal((await requests[0].readStdin())!.length, 8);
  t.ok(transport.paused, "16 bytes still buffered");
  await requests[0].readStdin();
  t.notOk(transport.paused, "8 bytes buffered: resumed");
  t.equal(transport.resumes, 3);
});

t.test("a request that ends with STDIN unread resumes the transport", async (t) => {
  const { conn, transport, requests } = harness({ stdinHighWaterMark: 4 });
  conn.receive(Buffer.concat([client.begin(1), client.params(1, {}), client.record(RecordType.Stdin, 1, Buffer.alloc(8))]));
  t.ok(transport.paused);
  requests[0].end();
  t.notOk(transport.paused);
  t.equal(await requests[0].readStdin(), null, "nothing to read after end()");
});

t.test("the transport stays paused while any request is over its high-water mark", async (t) => {
  const { conn, transport, requests } = harness({ stdinHighWaterMark: 4 });
  conn.receive(Buffer.concat([client.begin(1), client.params(1, {}), client.begin(2), client.params(2, {})]));
  conn.receive(Buffer.concat([client.record(RecordType.Stdin, 1, Buffer.alloc(8)), client.record(RecordType.Stdin, 2, Buffer.alloc(8))]));
  t.equal(transport.pauses, 1);
  requests[0].end();
  t.ok(transport.paused);
  conn.receive(client.abort(2));
  t.notOk(transport.paused);
});

t.test("end() is idempotent and output after it is dropped", async (t) => {
  const { conn, transport, requests } = harness();
  conn.receive(client.request(1, {}));
  const request = requests[0];
  request.end(0, Buffer.from("once"));
  request.end(0, Buffer.from("twice"));
  await request.writeStdout(Buffer.from("late"));
  request.writeStderr(Buffer.from("late"));
  t.equal(transport.written.length, 1);
  t.same(endRequests(transport.records()), [[1, 0, 0]]);
  t.notOk(request.aborted);
  t.notOk(request.signal.aborted, "a normal end is not an abort");
});

t.test("STDERR is forwarded and its stream ended before END_REQUEST", async (t) => {
  const { conn, transport, requests } = harness();
  conn.receive(client.request(1, {}));
  requests[0].writeStderr(Buffer.from("a warning"));
  requests[0].end(2);
  const records = transport.records();
  t.same(
    records.map((r) => [r.type, r.content.length]),
    [
      [RecordType.Stderr, 9],
      [RecordType.Stdout, 0],
      [RecordType.Stderr, 0],
      [RecordType.EndRequest, 8],
    ],
  );
  t.same(endRequests(records), [[1, 2, 0]]);
});

t.test("a large response is split into records of at most 65535 bytes", async (t) => {
  const body = Buffer.alloc(150_000, 0x62);
  const { conn, transport } = harness({}, (request) => {
    void request.writeStdout(body).then(() => request.end(0, body));
  });
  conn.receive(client.request(1, {}));
  await new Promise((resolve) => setImmediate(resolve));
  const records = transport.records();
  t.ok(records.every((r) => r.content.length <= 65535));
  t.equal(stdoutOf(records, 1).length, 300_000);
  t.equal(transport.output().length % 8, 0);
});

t.test("fed one byte at a time, an exchange gives the same output", async (t) => {
  const input = Buffer.concat([
    client.request(1, { A: "1" }, "body"),
    client.getValues(["FCGI_MAX_REQS"]),
    client.request(2, { B: "x".repeat(300) }),
  ]);
  const run = async (pieces: Buffer[]): Promise<string> => {
    const { conn, transport } = harness({}, (request) => {
      void (async () => {
        let body = "";
        for (let chunk = await request.readStdin(); chunk !== null; chunk = await request.readStdin())
          body += Buffer.from(chunk).toString();
        request.end(0, Buffer.from(`${request.id}:${Object.keys(request.params).join()}:${body}`));
      })();
    });
    for (const piece of pieces) conn.receive(piece);
    await new Promise((resolve) => setImmediate(resolve));
    return transport.output().toString("hex");
  };
  t.equal(await run([...input].map((b) => Buffer.of(b))), await run([input]));
});

t.test("the default options are the documented ones and frozen", async (t) => {
  t.same(defaultConnectionOptions, {
    maxParamsBytes: 131072,
    maxPendingParamsBytes: 524288,
    maxParamsPairs: 1000,
    maxRequests: 100,
    stdinHighWaterMark: 262144,
    getValues: { maxConns: 1024, maxReqs: 100, mpxsConns: true },
  });
  t.ok(Object.isFrozen(defaultConnectionOptions));
});

t.test("quiesce: an idle connection is quiet at once and detaches with nothing unread", async (t) => {
  const { conn, transport } = harness();
  conn.receive(client.getValues(["FCGI_MPXS_CONNS"]));
  let quiet = 0;
  conn.quiesce(() => quiet++);
  t.equal(quiet, 1);
  t.ok(conn.quiet);
  const rest = conn.detach();
  t.same(rest, Buffer.alloc(0));
  t.notOk(transport.ended || transport.destroyed, "detach never touches the transport");
  conn.receive(client.request(1, {}));
  t.equal(transport.records().filter((r) => r.type === RecordType.EndRequest).length, 0, "a detached connection reads nothing");
});

t.test("quiesce: a busy connection goes quiet when its last request ends; what follows stays unparsed", async (t) => {
  const { conn, transport, requests } = harness();
  conn.receive(client.request(1, { N: "1" }));
  let quiet = 0;
  conn.quiesce(() => quiet++);
  t.equal(quiet, 0);
  t.equal(conn.detach(), null, "not while a request is active");
  // The web server pipelines the next request; it arrives while request 1 still runs, in one chunk with its STDIN.
  const next = client.request(2, { N: "2" });
  requests[0].end(0, Buffer.from("one"));
  t.equal(quiet, 1);
  conn.receive(next);
  t.equal(requests.length, 1, "request 2 never reached the handler here");
  t.same(conn.detach(), next, "and is handed on whole");
  t.same(endRequests(transport.records()), [[1, 0, 0]]);
});

t.test("quiesce: a request ending synchronously mid-chunk leaves the rest of the chunk unparsed", async (t) => {
  const { conn, requests } = harness({}, (request) => request.end(0, Buffer.from(`r${request.id}`)));
  let quiet = 0;
  conn.receive(client.begin(1));
  conn.quiesce(() => quiet++);
  // PARAMS end (the handler answers at once), then STDIN for the ended id 1, then request 3.
  const tail = Buffer.concat([client.stdin(1, "body"), client.request(3, {})]);
  conn.receive(Buffer.concat([client.params(1, { A: "b" }), tail]));
  t.equal(requests.length, 1);
  t.equal(quiet, 1, "told once the chunk was parsed, not from inside it");
  t.same(conn.detach(), tail, "the next owner ignores the stale STDIN (section 3.3) and serves request 3");
});

t.test("quiesce: a connection in the middle of a record waits for the rest of it", async (t) => {
  const { conn, transport } = harness();
  const query = client.getValues(["FCGI_MAX_CONNS"]);
  conn.receive(query.subarray(0, 11));
  let quiet = 0;
  conn.quiesce(() => quiet++);
  t.equal(quiet, 0);
  t.notOk(conn.quiet);
  const next = client.request(1, {});
  conn.receive(Buffer.concat([query.subarray(11), next.subarray(0, 5)]));
  t.equal(quiet, 1);
  t.equal(transport.records()[0]?.type, RecordType.GetValuesResult, "the record was answered here");
  t.same(conn.detach(), next.subarray(0, 5));
});

t.test("the events: paramsPending when a request starts waiting for PARAMS, idle when the last one ends", async (t) => {
  const { transport } = harness();
  const log: string[] = [];
  const requests: FcgiRequest[] = [];
  const conn = new Connection(transport, (r) => requests.push(r), defaultConnectionOptions, {
    paramsPending: () => log.push("params"),
    idle: () => log.push("idle"),
  });
  conn.receive(Buffer.concat([client.begin(1), client.begin(2)]));
  t.same(log, ["params"], "once for the first of two pending ids");
  t.ok(conn.paramsPending);
  conn.receive(Buffer.concat([client.params(1, {}), client.params(2, {})]));
  t.notOk(conn.paramsPending);
  requests[0].end();
  t.same(log, ["params"]);
  requests[1].end();
  t.same(log, ["params", "idle"]);
  conn.receive(client.begin(3, Role.Filter));
  t.same(log, ["params", "idle", "idle"], "a refusal with nothing active leaves it idle");
  t.equal(conn.requestsBegun, 3);
});

t.test("unfinished PARAMS across ids are capped per connection; finished ones stop counting", async (t) => {
  const half = (id: number) => client.record(RecordType.Params, id, encodeParams({ COOKIE: "x".repeat(3000) }));
  const { conn, transport, logs } = harness({ maxPendingParamsBytes: 10_000 });
  for (let id = 1; id <= 3; id++) conn.receive(Buffer.concat([client.begin(id), half(id)]));
  t.notOk(transport.destroyed, "9 KB pending: under the cap");
  conn.receive(Buffer.concat([client.begin(4), half(4)]));
  t.ok(transport.destroyed, "12 KB pending: closed");
  t.match(logs, [/^warn: .*max_pending_params_bytes.*\[TSCGI_E_FCGI_PENDING_PARAMS_TOO_LARGE\]/]);

  const serial = harness({ maxPendingParamsBytes: 10_000 }, (request) => request.end());
  for (let id = 1; id <= 20; id++)
    serial.conn.receive(Buffer.concat([client.begin(id), half(id), client.params(id, {}), client.stdin(id)]));
  t.notOk(serial.transport.destroyed, "20 requests of 3 KB, one after another");
  t.equal(endRequests(serial.transport.records()).length, 20);

  const aborted = harness({ maxPendingParamsBytes: 10_000 });
  for (let id = 1; id <= 20; id++) aborted.conn.receive(Buffer.concat([client.begin(id), half(id), client.abort(id)]));
  t.notOk(aborted.transport.destroyed, "an aborted request's PARAMS stop counting");
});

t.test("a peer that sends without reading its answers stops being read until they drain", async (t) => {
  const { conn, transport } = harness();
  transport.full = true;
  conn.receive(Buffer.concat(Array.from({ length: 50 }, () => client.record(99, 0))));
  t.ok(transport.paused, "reading paused while the answers are queued");
  t.equal(transport.drainListeners, 1);
  conn.receive(client.record(99, 0));
  t.equal(transport.pauses, 1, "one pause per stall");
  transport.drain();
  t.notOk(transport.paused, "resumed on drain");
  conn.receive(client.record(99, 0));
  t.notOk(transport.paused, "answers the kernel takes at once pause nothing");
  t.equal(transport.records().length, 52);
});
