// ScavengePacer and the STDIN path: every SCAVENGE_EVERY bytes of request body handed to scripts
// bring a young-generation collection, so dead chunks and bodies are freed at that pace, whether
// the script keeps its chunks or gives them back; bodies under the pace cost none.

import t from "tap";
import { BufferPool } from "../../src/fastcgi/buffer-pool.ts";
import { RecordType } from "../../src/fastcgi/constants.ts";
import { ScavengePacer } from "../../src/fastcgi/scavenge-pacer.ts";
import { client, harness } from "./fixtures/fcgi.ts";

t.test("one scavenge per `every` bytes, however they are cut", async (t) => {
  let runs = 0;
  const pacer = new ScavengePacer(100, () => runs++);
  pacer.allocated(99);
  t.equal(runs, 0, "under the pace: none");
  pacer.allocated(1);
  t.equal(runs, 1, "at the pace: one");
  for (let i = 0; i < 30; i++) pacer.allocated(10);
  t.equal(runs, 4, "300 bytes more in pieces of 10: three more");
  pacer.allocated(1000);
  t.equal(runs, 5, "one large chunk: one, not ten");
});

/** A POST request on a harnessed connection, and a way to send it one STDIN record. */
function upload(options: Parameters<typeof harness>[0]) {
  const h = harness(options);
  h.conn.receive(Buffer.concat([client.begin(1), client.params(1, { REQUEST_METHOD: "POST" })]));
  return { ...h, request: h.requests[0], send: (bytes: Buffer) => h.conn.receive(client.record(RecordType.Stdin, 1, bytes)) };
}

t.test("chunks are paced by their bytes, kept or given back", async (t) => {
  let runs = 0;
  const pacer = new ScavengePacer(10_000, () => runs++);
  const keeping = upload({ readPool: new BufferPool(4), scavengePacer: pacer });
  let kept = 0;
  for (let i = 0; i < 25; i++) {
    keeping.send(Buffer.alloc(2000, i));
    kept += (await keeping.request.readStdin())!.length;
  }
  t.equal(kept, 50_000);
  t.equal(runs, 5, "50,000 bytes kept: 5 scavenges at one per 10,000");

  const giving = upload({ readPool: new BufferPool(4), scavengePacer: pacer });
  for (let i = 0; i < 25; i++) {
    giving.send(Buffer.alloc(2000, i));
    giving.request.releaseStdin((await giving.request.readStdin())!);
  }
  t.equal(runs, 10, "50,000 bytes given back to the read buffers: 5 more");
});

t.test("without a pacer, chunks are handed out as before", async (t) => {
  const { request, send } = upload({ readPool: new BufferPool(4) });
  send(Buffer.alloc(3000, "a"));
  send(Buffer.alloc(3000, "b"));
  const chunk = (await request.readStdin())!;
  t.equal(Buffer.from(chunk).toString(), "a".repeat(3000) + "b".repeat(3000));
});
