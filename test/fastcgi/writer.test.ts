// Output records: stream splitting, padding, END_REQUEST, GET_VALUES_RESULT, UNKNOWN_TYPE.

import t from "tap";
import { ProtocolStatus, RecordType } from "../../src/fastcgi/constants.ts";
import {
  encodeEndRequest,
  encodeGetValuesResult,
  encodeResponseEnd,
  encodeStream,
  encodeUnknownType,
  streamLength,
} from "../../src/fastcgi/writer.ts";
import { decodeRecords } from "./fixtures/fcgi.ts";

const hex = (s: string): string => s.replace(/\s+/g, "");

t.test("a short STDOUT chunk is one record padded to eight", async (t) => {
  t.equal(encodeStream(RecordType.Stdout, 1, Buffer.from("hi")).toString("hex"), hex("01 06 0001 0002 06 00 6869 000000000000"));
});

t.test("empty data encodes to no record at all (an empty record would end the stream)", async (t) => {
  t.equal(encodeStream(RecordType.Stdout, 1, Buffer.alloc(0)).length, 0);
  t.equal(streamLength(0), 0);
});

t.test("content over 65535 bytes is split into several records, each padded to eight", async (t) => {
  for (const size of [65535, 65536, 65535 * 2, 65535 * 2 + 9, 200_000]) {
    const data = Buffer.alloc(size, 0x61);
    for (let i = 0; i < size; i += 997) data[i] = i & 0xff;
    const bytes = encodeStream(RecordType.Stdout, 9, data);
    t.equal(bytes.length, streamLength(size), `length for ${size}`);
    t.equal(bytes.length % 8, 0);
    const records = decodeRecords(bytes);
    t.equal(records.length, Math.ceil(size / 65535), `record count for ${size}`);
    t.ok(records.every((r) => r.type === RecordType.Stdout && r.requestId === 9 && r.content.length <= 65535));
    t.ok(Buffer.concat(records.map((r) => r.content)).equals(data), `content for ${size}`);
  }
});

t.test("END_REQUEST carries appStatus as unsigned 32 bits and the protocol status", async (t) => {
  t.equal(encodeEndRequest(1, 0, ProtocolStatus.RequestComplete).toString("hex"), hex("01 03 0001 0008 00 00 00000000 00 000000"));
  t.equal(encodeEndRequest(2, 1, ProtocolStatus.Overloaded).toString("hex"), hex("01 03 0002 0008 00 00 00000001 02 000000"));
  t.equal(encodeEndRequest(3, -1, ProtocolStatus.UnknownRole).toString("hex"), hex("01 03 0003 0008 00 00 ffffffff 03 000000"));
});

t.test("the end of a response is STDOUT, empty STDOUT, END_REQUEST in one buffer", async (t) => {
  t.equal(
    encodeResponseEnd(1, 0, 0, Buffer.from("ok"), false).toString("hex"),
    hex("01 06 0001 0002 06 00 6f6b 000000000000  01 06 0001 0000 00 00  01 03 0001 0008 00 00 00000000 00 000000"),
  );
});

t.test("the end of a response after STDERR also ends the STDERR stream", async (t) => {
  t.equal(
    encodeResponseEnd(4, 2, 0, undefined, true).toString("hex"),
    hex("01 06 0004 0000 00 00  01 07 0004 0000 00 00  01 03 0004 0008 00 00 00000002 00 000000"),
  );
});

t.test("GET_VALUES_RESULT is name-value pairs on the null id", async (t) => {
  t.equal(
    encodeGetValuesResult([["FCGI_MPXS_CONNS", "1"]]).toString("hex"),
    hex("01 0a 0000 0012 06 00  0f 01") + Buffer.from("FCGI_MPXS_CONNS1").toString("hex") + "00".repeat(6),
  );
});

t.test("UNKNOWN_TYPE names the type in the first body byte", async (t) => {
  t.equal(encodeUnknownType(0xc8).toString("hex"), hex("01 0b 0000 0008 00 00 c8 00000000000000"));
});
