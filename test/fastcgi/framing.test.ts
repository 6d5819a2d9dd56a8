// Large STDOUT chunks are framed around the script's own bytes: same records, no copy, flushed before reuse.
import t from "tap";
import { RecordType } from "../../src/fastcgi/constants.ts";
import { FRAME_BY_REFERENCE } from "../../src/fastcgi/request.ts";
import { client, harness } from "./fixtures/fcgi.ts";

const GET = { REQUEST_METHOD: "GET" };

function stdout(records: { type: number; requestId: number; content: Buffer }[], id: number): Buffer {
  return Buffer.concat(records.filter((r) => r.type === RecordType.Stdout && r.requestId === id).map((r) => r.content));
}

t.test("a 64 KiB chunk becomes records of at most 65,535 bytes, padded to eight, in one corked write", async (t) => {
  const { conn, transport, requests } = harness();
  conn.receive(client.request(1, GET));
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const corksBefore = transport.corks;
  await requests[0].writeStdout(chunk);
  t.equal(transport.corks, corksBefore, "cork and uncork balance");
  requests[0].end(0);
  const records = transport.records();
  const out = records.filter((r) => r.type === RecordType.Stdout && r.content.length > 0);
  t.same(
    out.map((r) => r.content.length),
    [65535, 1],
  );
  t.ok(transport.output().length % 8 === 0, "every record is padded to eight");
  t.same(stdout(records, 1), chunk);
});

t.test("the write resolves only once the transport flushed the bytes, so the buffer can be reused", async (t) => {
  const { conn, transport, requests } = harness();
  conn.receive(client.request(1, GET));
  transport.full = true;
  const chunk = Buffer.alloc(FRAME_BY_REFERENCE, 0x62);
  let resolved = false;
  const write = requests[0].writeStdout(chunk).then(() => (resolved = true));
  await new Promise((r) => setImmediate(r));
  t.equal(resolved, false, "pending while the kernel buffer is full");
  transport.drain();
  await write;
  t.equal(resolved, true);
});

t.test("chunks just under the threshold are copied and give the same bytes", async (t) => {
  const { conn, transport, requests } = harness();
  conn.receive(client.request(1, GET));
  const small = Buffer.alloc(FRAME_BY_REFERENCE - 1, 0x63);
  const large = Buffer.alloc(FRAME_BY_REFERENCE + 3, 0x64);
  await requests[0].writeStdout(small);
  await requests[0].writeStdout(large);
  requests[0].end(0);
  t.same(stdout(transport.records(), 1), Buffer.concat([small, large]));
});

t.test("a write pending when the connection dies still settles", async (t) => {
  const { conn, transport, requests } = harness();
  conn.receive(client.request(1, GET));
  transport.full = true;
  const write = requests[0].writeStdout(Buffer.alloc(100_000));
  transport.destroy();
  conn.closed();
  await write;
  t.pass("settled");
});
