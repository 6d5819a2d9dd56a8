// RecordReader: any chunking, any padding, version faults, no copies for contiguous records, fastcgi-stream both ways.

import { EventEmitter } from "node:events";
import fcgi from "fastcgi-stream";
import t from "tap";
import { RecordType } from "../../src/fastcgi/constants.ts";
import { BadVersionError } from "../../src/fastcgi/errors.ts";
import { encodeParams } from "../../src/fastcgi/params.ts";
import { encodeRecord } from "../../src/fastcgi/record.ts";
import { RecordReader } from "../../src/fastcgi/reader.ts";
import { encodeEndRequest, encodeGetValuesResult, encodeStream, encodeUnknownType } from "../../src/fastcgi/writer.ts";
import { type DecodedRecord, cut, decodeRecords, mulberry32 } from "./fixtures/fcgi.ts";

function readAll(pieces: Buffer[]): DecodedRecord[] {
  const out: DecodedRecord[] = [];
  const reader = new RecordReader((type, requestId, content) => out.push({ type, requestId, content: Buffer.from(content) }));
  for (const piece of pieces) reader.push(piece);
  return out;
}

const sample = Buffer.concat([
  encodeRecord(RecordType.BeginRequest, 1, Buffer.from("0001010000000000", "hex")),
  encodeRecord(RecordType.Params, 1, encodeParams({ REQUEST_METHOD: "POST", CONTENT_LENGTH: "5" }), 0),
  encodeRecord(RecordType.Params, 1, Buffer.alloc(0), 255),
  encodeRecord(RecordType.Stdin, 1, Buffer.from("hello"), 11),
  encodeRecord(RecordType.Stdin, 1),
  encodeRecord(RecordType.GetValues, 0, encodeParams({ FCGI_MPXS_CONNS: "" }), 1),
]);
const expected = readAll([sample]);

t.test("the sample stream decodes into its six records", async (t) => {
  t.same(
    expected.map((r) => [r.type, r.requestId, r.content.length]),
    [
      [1, 1, 8],
      [4, 1, 37],
      [4, 1, 0],
      [5, 1, 5],
      [5, 1, 0],
      [9, 0, 17],
    ],
  );
  t.equal(expected[3].content.toString(), "hello");
});

t.test("fed one byte at a time, the records are the same", async (t) => {
  t.same(readAll([...sample].map((b) => Buffer.of(b))), expected);
});

t.test("cut at every single point, the records are the same", async (t) => {
  for (let i = 0; i <= sample.length; i++) {
    if (JSON.stringify(readAll(cut(sample, [i]))) !== JSON.stringify(expected)) t.fail(`cut at ${i}`);
  }
  t.pass(`${sample.length + 1} cuts`);
});

t.test("cut at random points, the records are the same", async (t) => {
  const random = mulberry32(7);
  for (let round = 0; round < 500; round++) {
    const points = Array.from({ length: 1 + Math.floor(random() * 10) }, () => Math.floor(random() * sample.length));
    if (JSON.stringify(readAll(cut(sample, points))) !== JSON.stringify(expected)) t.fail(`cuts ${points.join(",")}`);
  }
  t.pass("500 random chunkings");
});

t.test("any padding from 0 to 255 is skipped", async (t) => {
  for (let padding = 0; padding <= 255; padding++) {
    const bytes = Buffer.concat([encodeRecord(RecordType.Stdin, 2, Buffer.from("abc"), padding), encodeRecord(RecordType.Stdin, 2)]);
    const records = readAll(cut(bytes, [5, 12]));
    if (records.length !== 2 || records[0].content.toString() !== "abc") t.fail(`padding ${padding}`);
  }
  t.pass("256 paddings");
});

t.test("a record contiguous in one chunk is handed out as a view, not a copy", async (t) => {
  const chunk = Buffer.concat([encodeRecord(RecordType.Stdin, 1, Buffer.from("abcdefgh")), encodeRecord(RecordType.Stdin, 1)]);
  const seen: Buffer[] = [];
  new RecordReader((_type, _id, content) => seen.push(content)).push(chunk);
  t.equal(seen[0].buffer, chunk.buffer);
  t.equal(seen[0].byteOffset, chunk.byteOffset + 8);
});

t.test("a record straddling chunks is copied once into a fresh buffer", async (t) => {
  const chunk = encodeRecord(RecordType.Stdin, 1, Buffer.from("abcdefgh"));
  const seen: Buffer[] = [];
  const reader = new RecordReader((_type, _id, content) => seen.push(content));
  reader.push(chunk.subarray(0, 11));
  reader.push(chunk.subarray(11));
  chunk.fill(0);
  t.equal(seen[0].toString(), "abcdefgh", "independent of the chunks it came from");
});

t.test("a header with version other than 1 throws BadVersionError and stops the reader", async (t) => {
  const seen: number[] = [];
  const reader = new RecordReader((type) => seen.push(type));
  const bad = Buffer.concat([encodeRecord(RecordType.Stdin, 1), Buffer.from("GET / HTTP/1.1\r\n")]);
  const error = t.throws(() => reader.push(bad)) as unknown;
  t.ok(error instanceof BadVersionError);
  t.equal((error as BadVersionError).code, "TSCGI_E_FCGI_BAD_VERSION");
  t.equal((error as BadVersionError).version, 0x47);
  t.same(seen, [RecordType.Stdin]);
  t.ok(reader.stopped);
  reader.push(encodeRecord(RecordType.Stdin, 1));
  t.same(seen, [RecordType.Stdin], "nothing more after the fault");
});

t.test("stop() from the callback ends parsing of the rest of the chunk", async (t) => {
  const seen: number[] = [];
  const reader = new RecordReader((type) => {
    seen.push(type);
    reader.stop();
  });
  reader.push(Buffer.concat([encodeRecord(RecordType.Stdin, 1), encodeRecord(RecordType.Stdin, 1)]));
  t.same(seen, [RecordType.Stdin]);
});

t.test("records encoded by fastcgi-stream decode identically", async (t) => {
  const source = new EventEmitter() as EventEmitter & { write(data: Buffer): boolean };
  const written: Buffer[] = [];
  source.write = (data: Buffer) => written.push(data) > 0;
  const theirs = new fcgi.FastCGIStream(source);
  const { records } = fcgi;
  theirs.writeRecord(1, new records.BeginRequest(1, 1));
  theirs.writeRecord(
    1,
    new records.Params([
      ["SCRIPT_NAME", "/x"],
      ["HTTP_HOST", "h".repeat(300)],
    ]),
  );
  theirs.writeRecord(1, new records.Params());
  theirs.writeRecord(1, new records.StdIn(Buffer.from("body")));
  theirs.writeRecord(1, new records.StdIn());
  theirs.writeRecord(0, new records.GetValues(["FCGI_MAX_CONNS"]));
  theirs.writeRecord(3, new records.AbortRequest());
  const bytes = Buffer.concat(written);
  const decoded = readAll(cut(bytes, [3, 17, 40, 41, 200]));
  t.same(
    decoded.map((r) => [r.type, r.requestId, r.content.length]),
    [
      [1, 1, 8],
      [4, 1, 2 + 11 + 2 + 5 + 9 + 300],
      [4, 1, 0],
      [5, 1, 4],
      [5, 1, 0],
      [9, 0, 16],
      [2, 3, 0],
    ],
  );
  t.equal(decoded[0].content.toString("hex"), "0001010000000000");
  t.equal(decoded[3].content.toString(), "body");
});

t.test("records we encode are decoded by fastcgi-stream", async (t) => {
  const socket = new EventEmitter() as EventEmitter & { write(data: Buffer): boolean };
  socket.write = () => true;
  const theirs = new fcgi.FastCGIStream(socket);
  const got: [number, number, unknown][] = [];
  theirs.on("record", (requestId: number, record: { TYPE: number } & Record<string, unknown>) => {
    const detail =
      record.TYPE === 6 || record.TYPE === 7
        ? String(record["data"])
        : record.TYPE === 3
          ? [record["appStatus"], record["protocolStatus"]]
          : record.TYPE === 10
            ? record["values"]
            : record["type"];
    got.push([record.TYPE, requestId, detail]);
  });
  const big = Buffer.alloc(70_000, 0x7a);
  const ours = Buffer.concat([
    encodeStream(RecordType.Stdout, 5, Buffer.from("Status: 200\r\n\r\nhi")),
    encodeStream(RecordType.Stderr, 5, Buffer.from("warn")),
    encodeStream(RecordType.Stdout, 5, big),
    encodeEndRequest(5, 3, 0),
    encodeGetValuesResult([["FCGI_MAX_REQS", "100"]]),
    encodeUnknownType(42),
  ]);
  for (const piece of cut(ours, [1, 9, 30, 65_000, 70_010])) socket.emit("data", piece);
  t.same(got, [
    [6, 5, "Status: 200\r\n\r\nhi"],
    [7, 5, "warn"],
    [6, 5, "z".repeat(65535)],
    [6, 5, "z".repeat(70_000 - 65535)],
    [3, 5, [3, 0]],
    [10, 0, [["FCGI_MAX_REQS", "100"]]],
    [11, 0, 42],
  ]);
});

t.test("holdAtBoundary keeps everything after the first boundary where it holds, in any chunking", async (t) => {
  // Hold once the empty STDIN record (the fifth) is read: the GET_VALUES record is kept, unparsed.
  const boundary = sample.length - encodeRecord(RecordType.GetValues, 0, encodeParams({ FCGI_MPXS_CONNS: "" }), 1).length;
  const random = mulberry32(7);
  for (let round = 0; round < 200; round++) {
    const points = Array.from({ length: 1 + Math.floor(random() * 6) }, () => Math.floor(random() * sample.length));
    const seen: number[] = [];
    const reader = new RecordReader((type) => seen.push(type));
    reader.holdAtBoundary(() => seen.length >= 5);
    for (const piece of cut(sample, points)) reader.push(piece);
    t.same(seen, [1, 4, 4, 5, 5], `cut at ${points.join(",")}`);
    t.ok(reader.held && reader.atBoundary);
    t.equal(reader.heldBytes, sample.length - boundary);
    t.same(reader.takeHeld(), sample.subarray(boundary));
    t.ok(reader.stopped, "taking the held bytes stops the reader");
  }
});

t.test("a hold asked for mid-record starts at the end of that record, padding included", async (t) => {
  const records = decodeRecords(sample);
  const seen: number[] = [];
  const reader = new RecordReader((type) => seen.push(type));
  // Inside the STDIN "hello" record, whose 11 bytes of padding follow it.
  const stdinAt = sample.indexOf(encodeRecord(RecordType.Stdin, 1, Buffer.from("hello"), 11));
  reader.push(sample.subarray(0, stdinAt + 10));
  t.notOk(reader.atBoundary);
  reader.holdAtBoundary(() => true);
  t.notOk(reader.held, "not until the record and its padding are read");
  reader.push(sample.subarray(stdinAt + 10, stdinAt + 8 + 5 + 3));
  t.notOk(reader.held);
  reader.push(sample.subarray(stdinAt + 8 + 5 + 3));
  t.same(seen, [1, 4, 4, 5]);
  t.ok(reader.held);
  t.same(reader.takeHeld(), sample.subarray(stdinAt + 8 + 5 + 11));
  t.equal(records.length, 6);
});

t.test("a reader at a boundary holds at once, and keeps later chunks in order", async (t) => {
  const reader = new RecordReader(() => t.fail("nothing is parsed"));
  reader.holdAtBoundary(() => true);
  t.ok(reader.held);
  reader.push(sample.subarray(0, 3));
  reader.push(sample.subarray(3));
  t.same(reader.takeHeld(), sample);
  const empty = new RecordReader(() => {});
  empty.holdAtBoundary(() => true);
  t.equal(empty.takeHeld().length, 0, "nothing held is an empty buffer");
});
