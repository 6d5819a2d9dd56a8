// BufferPool and the STDIN path over reused read buffers: a block comes back only once every
// holder gave it back, and a chunk a reader keeps is never overwritten by a later read.

import t from "tap";
import { BufferPool, POOL_BLOCK_SIZE } from "../../src/fastcgi/buffer-pool.ts";
import { RecordType } from "../../src/fastcgi/constants.ts";
import { client, harness } from "./fixtures/fcgi.ts";

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
  receivePooled(pool, (c) => conn.receive(c), client.record(RecordType.Stdin, 1, first));
  receivePooled(pool, (c) => conn.receive(c), client.record(RecordType.Stdin, 1, Buffer.alloc(1000, "b")));
  const chunk = await request.readStdin();
  t.ok(Buffer.from(chunk!).equals(first), "the first chunk is as it was sent");
  t.ok(pool.allocated <= 2, "the read buffers were reused");
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
