// Named cases: inputs the fuzz (fuzz.test.ts) or review once found to matter, kept so they stay fixed.

import t from "tap";
import { RecordType } from "../../src/fastcgi/constants.ts";
import { encodeRecord } from "../../src/fastcgi/record.ts";
import { client, cut, harness } from "./fixtures/fcgi.ts";

// Found by the fuzz oracle: an id aborted before its PARAMS is inactive (section 3.3), so its
// oversize PARAMS are ignored and the connection is kept, not closed for the cap.
t.test("oversize PARAMS for an id aborted before them are ignored and the connection kept", async (t) => {
  const { conn, transport, logs } = harness({ maxParamsBytes: 64 });
  conn.receive(Buffer.concat([client.begin(1), client.abort(1), client.params(1, { BIG: "x".repeat(500) })]));
  t.notOk(transport.destroyed);
  t.same(logs, []);
});

// Found by the fuzz oracle: an id refused FCGI_OVERLOADED never becomes active, so its oversize
// PARAMS are ignored too.
t.test("oversize PARAMS for an id refused as overloaded are ignored and the connection kept", async (t) => {
  const { conn, transport, logs } = harness({ maxParamsBytes: 64, maxRequests: 1 });
  conn.receive(Buffer.concat([client.begin(1), client.begin(2), client.params(2, { BIG: "x".repeat(500) })]));
  t.notOk(transport.destroyed);
  t.same(logs, []);
  t.equal(conn.activeRequests, 1);
});

t.test("a four-byte name length of 2^31-1 is refused before anything is buffered", async (t) => {
  const { conn, transport, logs } = harness();
  const before = process.memoryUsage().arrayBuffers;
  conn.receive(Buffer.concat([client.begin(1), encodeRecord(RecordType.Params, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]))]));
  t.ok(transport.destroyed);
  t.match(logs[0], "TSCGI_E_FCGI_PARAMS_TOO_LARGE");
  t.ok(process.memoryUsage().arrayBuffers - before < 1 << 20, "no 2 GiB allocation");
});

t.test("a header whose length fields arrive one byte at a time after a full record", async (t) => {
  const { conn, requests } = harness();
  const input = Buffer.concat([client.begin(1), client.params(1, { A: "1" })]);
  for (const piece of cut(input, [16, 17, 18, 19, 20, 21, 22, 23])) conn.receive(piece);
  t.equal(requests.length, 1);
  t.equal(requests[0].params["A"], "1");
});

t.test("a 65535-byte STDIN record with 255 bytes of padding, cut everywhere interesting", async (t) => {
  const record = encodeRecord(RecordType.Stdin, 1, Buffer.alloc(65535, 0x61), 255);
  const input = Buffer.concat([client.begin(1), client.params(1, {}), record, client.record(RecordType.Stdin, 1)]);
  const base = input.length - record.length - 8;
  const { conn, requests } = harness({ stdinHighWaterMark: 1 << 20 });
  for (const piece of cut(input, [base + 7, base + 8, base + 9, base + 65543, base + 65544, base + 65700])) conn.receive(piece);
  const first = await requests[0].readStdin();
  t.equal(first!.length, 65535);
  t.equal(await requests[0].readStdin(), null);
});

t.test("a transport that throws while an answer is written never throws out of receive()", async (t) => {
  const { conn, transport, logs } = harness();
  transport.write = () => {
    throw new Error("EPIPE");
  };
  t.doesNotThrow(() => conn.receive(client.getValues(["FCGI_MAX_CONNS"])));
  t.ok(transport.destroyed);
  t.match(logs[0], /^error: fastcgi: internal error .*EPIPE/);
});

t.test("a handler that ends synchronously without FCGI_KEEP_CONN stops parsing the rest of the chunk", async (t) => {
  const { conn, transport, requests } = harness({}, (request) => request.end());
  conn.receive(Buffer.concat([client.request(1, {}, "", 0), client.request(2, {})]));
  t.equal(requests.length, 1);
  t.ok(transport.destroyed, "request 1's input ended in the chunk: closed outright");
  t.equal(transport.lateWrites, 0);
});
