// OpenConnection: a connection whose request body is read goes on reading into the pool's reused
// buffers, whether the reader gives its chunks back or keeps them (then it gets copies).
import t from "tap";
import { BufferPool, POOL_MAX_FREE } from "../../src/fastcgi/buffer-pool.ts";
import { defaultConnectionOptions } from "../../src/fastcgi/connection.ts";
import { RecordType } from "../../src/fastcgi/constants.ts";
import { encodeParams } from "../../src/fastcgi/params.ts";
import { encodeRecord } from "../../src/fastcgi/record.ts";
import { bindListener } from "../../src/server/bind.ts";
import { Answering, CountingClient, fastCgiServer } from "./fixtures/fastcgi-peers.ts";

t.test("a body read by a reader that keeps its chunks comes through reused read buffers", async (t) => {
  const pool = new BufferPool(POOL_MAX_FREE);
  const side = new Answering("A");
  const server = fastCgiServer(side, { connection: { ...defaultConnectionOptions, readPool: pool } });
  const bound = await bindListener({ host: "127.0.0.1", port: 0 }, "test");
  await server.listen(bound.handle);
  t.teardown(() => {
    bound.close();
    server.destroyAll();
  });
  const client = new CountingClient((bound.address as { port: number }).port);
  const body = Buffer.alloc(4 * 1024 * 1024, 0x61);
  client.socket.write(
    Buffer.concat([
      encodeRecord(RecordType.BeginRequest, 1, Buffer.from([0, 1, 1, 0, 0, 0, 0, 0])),
      encodeRecord(RecordType.Params, 1, encodeParams({ N: "1", REQUEST_METHOD: "POST", CONTENT_LENGTH: String(body.length) })),
      encodeRecord(RecordType.Params, 1),
    ]),
  );
  // nginx's records for a spooled body: 32 KiB each.
  for (let at = 0; at < body.length; at += 32 * 1024)
    client.socket.write(encodeRecord(RecordType.Stdin, 1, body.subarray(at, at + 32 * 1024)));
  client.socket.write(encodeRecord(RecordType.Stdin, 1));
  await client.answered(1);
  t.equal(client.body(1), `A:1:${body.length}`, "every byte arrived");
  t.ok(pool.allocated > 0, "the socket read into the pool once the body was read");
  t.ok(pool.allocated <= POOL_MAX_FREE, `4 MiB through ${pool.allocated} read buffers`);
});
