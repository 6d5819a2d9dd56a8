// BufferPool and the STDIN path over reused read buffers: a block comes back only once every
// holder gave it back, and a chunk a reader keeps is never overwritten by a later read.

import t from "tap";
import { BufferPool, POOL_BLOCK_SIZE } from "../../src/fastcgi/buffer-pool.ts";
import { RecordType } from "../../src/fastcgi/constants.ts";
import { client, cut, harness, mulberry32 } from "./fixtures/fcgi.ts";

t.test("a block whose every holder gave it back is the next one taken", async (t) => {
  const pool = new BufferPool(4);
  const block = pool.take();
  t.equal(block.length, POOL_BLOCK_SIZE);
  const chunk = block.subarray(10, 20);
  pool.retain(chunk);
  pool.release(block);
  t.not(pool.take(), block, "still held by the chunk: a new block");
  pool.release(chunk);
  t.equal(pool.take(), block, "given back: reused");
  t.equal(pool.allocated, 2);
});

t.test("chunks from elsewhere are ignored, and a block held forever is never reused", async (t) => {
  const pool = new BufferPool(4);
  pool.release(Buffer.alloc(8));
  pool.retain(Buffer.alloc(8));
  const block = pool.take();
  pool.retain(block.subarray(0, 4));
  pool.release(block);
  for (let i = 0; i < 3; i++) t.not(pool.take(), block);
});

/** Feeds `bytes` to the connection the way pooled socket reads do: in a taken block, given back after the read. */
function receivePooled(pool: BufferPool, receive: (chunk: Buffer) => void, bytes: Buffer): void {
  for (let i = 0; i < bytes.length; i += POOL_BLOCK_SIZE) {
    const block = pool.take();
    const n = bytes.copy(block, 0, i, i + POOL_BLOCK_SIZE);
    receive(block.subarray(0, n));
    pool.release(block);
    // The next read's buffer, scribbled over: the block just given back if no chunk holds it.
    const next = pool.take();
    next.fill(0x21);
    pool.release(next);
  }
}

t.test("STDIN a reader keeps without giving back survives the reuse of the read buffers", async (t) => {
  const pool = new BufferPool(4);
  const { conn, requests } = harness({ readPool: pool });
  receivePooled(pool, (c) => conn.receive(c), Buffer.concat([client.begin(1), client.params(1, { REQUEST_METHOD: "POST" })]));
  const request = requests[0];
  const first = Buffer.alloc(1000, "a");
  const second = Buffer.alloc(1000, "b");
  receivePooled(pool, (c) => conn.receive(c), client.record(RecordType.Stdin, 1, first));
  receivePooled(pool, (c) => conn.receive(c), client.record(RecordType.Stdin, 1, second));
  const chunk = (await request.readStdin())!;
  t.notOk(pool.owns(chunk), "a copy, not a view into a read buffer");
  t.ok(Buffer.from(chunk).equals(Buffer.concat([first, second])), "both records as they were sent, in one chunk");
  const allocated = pool.allocated;
  receivePooled(pool, (c) => conn.receive(c), client.record(RecordType.Stdin, 1, Buffer.alloc(1000, "c")));
  receivePooled(pool, (c) => conn.receive(c), client.record(RecordType.Stdin, 1, Buffer.alloc(1000, "d")));
  t.equal(pool.allocated, allocated, "once read, the read buffers they were in are reused");
  const next = (await request.readStdin())!;
  t.ok(Buffer.from(chunk).equals(Buffer.concat([first, second])), "the kept chunk is intact");
  t.equal(Buffer.from(next).toString(), "c".repeat(1000) + "d".repeat(1000));
});

t.test("STDIN a reader gives back stays in the read buffer until then", async (t) => {
  const pool = new BufferPool(4);
  const { conn, requests } = harness({ readPool: pool });
  receivePooled(pool, (c) => conn.receive(c), Buffer.concat([client.begin(1), client.params(1, { REQUEST_METHOD: "POST" })]));
  const request = requests[0];
  const waiting = request.readStdin();
  receivePooled(pool, (c) => conn.receive(c), client.record(RecordType.Stdin, 1, Buffer.alloc(1000, "a")));
  // The first chunk a reader gives back switches the request to keeping chunks in the read buffers.
  request.releaseStdin((await waiting)!);
  receivePooled(pool, (c) => conn.receive(c), client.record(RecordType.Stdin, 1, Buffer.alloc(1000, "b")));
  receivePooled(pool, (c) => conn.receive(c), client.record(RecordType.Stdin, 1, Buffer.alloc(1000, "c")));
  const b = (await request.readStdin())!;
  t.ok(pool.owns(b), "kept in a read buffer, not copied");
  t.ok(Buffer.from(b).equals(Buffer.alloc(1000, "b")), "held, so the next read did not overwrite it");
  const c = (await request.readStdin())!;
  t.ok(Buffer.from(c).equals(Buffer.alloc(1000, "c")));
  request.releaseStdin(b);
  request.releaseStdin(c);
  const allocated = pool.allocated;
  receivePooled(pool, (c) => conn.receive(c), client.record(RecordType.Stdin, 1, Buffer.alloc(1000, "d")));
  t.equal(pool.allocated, allocated, "given back, the buffers are reused");
});

t.test("a reader that lends from its first read gets a queued body as views, none joined into a copy", async (t) => {
  const pool = new BufferPool(4);
  const { conn, requests } = harness({ readPool: pool });
  receivePooled(pool, (c) => conn.receive(c), Buffer.concat([client.begin(1), client.params(1, { REQUEST_METHOD: "POST" })]));
  const request = requests[0];
  // The whole body is queued before the script reads, as when nginx has it in memory.
  receivePooled(pool, (c) => conn.receive(c), client.record(RecordType.Stdin, 1, Buffer.alloc(1000, "a")));
  receivePooled(pool, (c) => conn.receive(c), client.record(RecordType.Stdin, 1, Buffer.alloc(1000, "b")));
  request.lendStdin();
  const a = (await request.readStdin())!;
  t.ok(pool.owns(a), "the first chunk is a view into its read buffer");
  t.ok(Buffer.from(a).equals(Buffer.alloc(1000, "a")), "one record, not both joined");
  request.releaseStdin(a);
  const b = (await request.readStdin())!;
  t.ok(pool.owns(b));
  t.ok(Buffer.from(b).equals(Buffer.alloc(1000, "b")));
  request.releaseStdin(b);
  const allocated = pool.allocated;
  receivePooled(pool, (c) => conn.receive(c), client.record(RecordType.Stdin, 1, Buffer.alloc(1000, "c")));
  t.equal(pool.allocated, allocated, "given back, the buffers are reused");
});

t.test("seeded: whatever the records, the reads and the reader, STDIN arrives whole, in order, and stays intact", async (t) => {
  const random = mulberry32(0x5eed1);
  const int = (n: number) => Math.floor(random() * n);
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  const failed: string[] = [];
  let joined = 0;
  for (let round = 0; round < 300; round++) {
    const pooled = random() < 0.5;
    const releasing = random() < 0.5;
    const lending = releasing && random() < 0.5;
    const pool = new BufferPool(4);
    const { conn, requests } = harness(pooled ? { readPool: pool, stdinHighWaterMark: 4096 } : { stdinHighWaterMark: 4096 });
    const feed = (bytes: Buffer) => (pooled ? receivePooled(pool, (c) => conn.receive(c), bytes) : conn.receive(Buffer.from(bytes)));
    feed(Buffer.concat([client.begin(1), client.params(1, { REQUEST_METHOD: "POST" })]));
    const request = requests[0];
    const body = Buffer.from(Array.from({ length: int(20_000) }, () => int(256)));
    const records: Buffer[] = [];
    for (let at = 0; at < body.length;) {
      const size = 1 + int(random() < 0.2 ? 65_535 : 3000);
      records.push(client.record(RecordType.Stdin, 1, body.subarray(at, at + size)));
      at += size;
    }
    records.push(client.record(RecordType.Stdin, 1));
    const stream = Buffer.concat(records);
    const pieces = cut(
      stream,
      Array.from({ length: int(30) }, () => int(stream.length + 1)),
    );
    const got: Uint8Array[] = [];
    if (lending) request.lendStdin();
    const reading = (async () => {
      for (let chunk = await request.readStdin(); chunk !== null; chunk = await request.readStdin()) {
        if (releasing) {
          got.push(Buffer.from(chunk));
          request.releaseStdin(chunk);
        } else {
          got.push(chunk);
        }
        if (random() < 0.3) await turn();
      }
    })();
    for (const piece of pieces) {
      feed(piece);
      if (random() < 0.5) await turn();
    }
    await reading;
    if (got.length < records.length - 1) joined++;
    if (!Buffer.concat(got).equals(body)) failed.push(`round ${round} (pooled ${pooled}, releasing ${releasing}, lending ${lending})`);
  }
  t.same(failed, [], "every body read back as sent, kept chunks unchanged by later reads");
  t.ok(joined > 0, `records joined into fewer chunks in ${joined} of 300 rounds`);
});
