// Record headers and single-record encoding: literal bytes, decoded and re-encoded.

import t from "tap";
import { RecordType } from "../../src/fastcgi/constants.ts";
import { RecordTooLargeError } from "../../src/fastcgi/errors.ts";
import { decodeHeader, encodeRecord, paddingFor, recordLength } from "../../src/fastcgi/record.ts";
import { isTscgiError } from "../../src/errors.ts";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

// name, bytes on the wire, header fields, content
const table: [string, string, { type: number; requestId: number; contentLength: number; paddingLength: number }, string][] = [
  [
    "BEGIN_REQUEST, responder, keep-conn",
    "01 01 0001 0008 00 00  0001 01 0000000000",
    { type: 1, requestId: 1, contentLength: 8, paddingLength: 0 },
    "0001010000000000",
  ],
  ["empty PARAMS ends the stream", "01 04 0001 0000 00 00", { type: 4, requestId: 1, contentLength: 0, paddingLength: 0 }, ""],
  [
    "STDOUT of 5 bytes padded with 3",
    "01 06 0102 0005 03 00  68656c6c6f 000000",
    { type: 6, requestId: 0x0102, contentLength: 5, paddingLength: 3 },
    "68656c6c6f",
  ],
  [
    "END_REQUEST, appStatus 0, complete",
    "01 03 ffff 0008 00 00  00000000 00 000000",
    { type: 3, requestId: 0xffff, contentLength: 8, paddingLength: 0 },
    "0000000000000000",
  ],
  ["ABORT_REQUEST, no content", "01 02 0007 0000 00 00", { type: 2, requestId: 7, contentLength: 0, paddingLength: 0 }, ""],
  [
    "UNKNOWN_TYPE for type 0x42 on the null id",
    "01 0b 0000 0008 00 00  42 00000000000000",
    { type: 11, requestId: 0, contentLength: 8, paddingLength: 0 },
    "4200000000000000",
  ],
];

for (const [name, wire, fields, content] of table) {
  t.test(`${name}: decoded and re-encoded`, async (t) => {
    const bytes = hex(wire);
    t.same(decodeHeader(bytes), { version: 1, ...fields });
    t.same(bytes.subarray(8, 8 + fields.contentLength).toString("hex"), content);
    t.same(encodeRecord(fields.type, fields.requestId, hex(content)).toString("hex"), bytes.toString("hex"));
  });
}

t.test("padding rounds content up to a multiple of eight", async (t) => {
  const cases: [number, number][] = [
    [0, 0],
    [1, 7],
    [7, 1],
    [8, 0],
    [9, 7],
    [65535, 1],
    [65528, 0],
  ];
  for (const [length, padding] of cases) {
    t.equal(paddingFor(length), padding, `content ${length}`);
    t.equal(recordLength(length) % 8, 0);
  }
});

t.test("an explicit padding length is written as given and zero-filled", async (t) => {
  const record = encodeRecord(RecordType.Stdin, 3, Buffer.from("ab"), 255);
  t.equal(record.length, 8 + 2 + 255);
  t.equal(decodeHeader(record).paddingLength, 255);
  t.ok(record.subarray(10).every((b) => b === 0));
});

t.test("a record over 65535 content bytes is refused with a coded error", async (t) => {
  const error = t.throws(() => encodeRecord(RecordType.Stdout, 1, Buffer.alloc(65536))) as unknown;
  t.ok(error instanceof RecordTooLargeError);
  t.ok(isTscgiError(error));
  t.equal((error as RecordTooLargeError).code, "TSCGI_E_FCGI_RECORD_TOO_LARGE");
});
