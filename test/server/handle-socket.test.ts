// HandleSocket: an accepted connection served through its libuv handle keeps what a net.Socket
// promises its peer: bytes in order, backpressure both ways, a clean end, and errors that close it.
import t, { type Test } from "tap";
import { createHash } from "node:crypto";
import { connect, createServer, type Socket } from "node:net";
import { takeAcceptedHandles } from "../../src/node-internals.ts";
import { HandleSocket } from "../../src/server/handle-socket.ts";
import { mulberry32 } from "../fastcgi/fixtures/fcgi.ts";

interface Pair {
  server: HandleSocket;
  client: Socket;
}

/** A HandleSocket for one accepted loopback connection, and the client's end of it. */
async function pair(t: Test): Promise<Pair> {
  const listener = createServer();
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  t.teardown(() => listener.close());
  const accepted = new Promise<HandleSocket>((resolve) =>
    takeAcceptedHandles(listener, (status, handle) => {
      if (status === 0 && handle !== undefined) resolve(new HandleSocket(handle));
    }),
  );
  const client = connect((listener.address() as { port: number }).port, "127.0.0.1");
  const server = await accepted;
  t.teardown(() => {
    client.destroy();
    server.destroy();
  });
  return { server, client };
}

/** Everything `socket` sends until its end. */
function readAll(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve) => socket.once("end", () => resolve(Buffer.concat(chunks))));
}

const closed = (socket: HandleSocket): Promise<boolean> => new Promise((resolve) => socket.once("close", resolve));

t.test("reads begin at resume(), arrive in order, and the peer's address is the client's", async (t) => {
  const { server, client } = await pair(t);
  const got: Buffer[] = [];
  server.on("data", (chunk: Buffer) => got.push(chunk));
  client.write("early");
  // Once written, the bytes are in the server's kernel buffer (loopback); a loop turn would read them.
  await new Promise((resolve) => client.write("", resolve));
  await new Promise((resolve) => setImmediate(resolve));
  t.same(got, [], "nothing is read before resume()");
  server.resume();
  client.write("-late");
  while (Buffer.concat(got).length < 10) await new Promise((resolve) => server.once("data", resolve));
  t.equal(Buffer.concat(got).toString(), "early-late");
  t.equal(server.remoteAddress, "127.0.0.1");
  t.equal(server.remotePort, client.localPort);
  t.ok(server.fd > 0, "its descriptor, for the watchdog");
  t.equal(server.bytesRead, 10);
  // Paused, it reads nothing more: what the peer sends next waits in the kernel, not here.
  server.pause();
  await new Promise((resolve) => client.write("!", resolve));
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(server.bytesRead, 10, "nothing is ever buffered here");
});

t.test("corked writes leave together, in order; callbacks run after write() returned", async (t) => {
  const { server, client } = await pair(t);
  const received = readAll(client);
  const order: string[] = [];
  server.cork();
  server.write(Buffer.from("a"), () => order.push("a"));
  server.cork();
  server.write(Buffer.from("b"));
  server.uncork();
  t.equal(server.writableLength, 2, "corked bytes count as not yet written");
  server.write(Buffer.from("c"), () => order.push("c"));
  server.uncork();
  order.push("returned");
  server.write(Buffer.alloc(0), () => order.push("empty"));
  server.end();
  t.equal((await received).toString(), "abc");
  t.same(order, ["returned", "a", "c", "empty"]);
});

t.test("a peer that does not read: write() says so, 'drain' comes once it does, every byte arrives", async (t) => {
  const { server, client } = await pair(t);
  client.pause();
  const chunk = Buffer.alloc(256 * 1024, 7);
  let writes = 0;
  while (server.write(chunk)) if (++writes > 4096) break;
  t.ok(writes < 4096, `write() returned false after ${writes} chunks`);
  t.ok(server.writableNeedDrain);
  t.ok(server.writableLength > 0, `${server.writableLength} bytes wait for the kernel`);
  const drained = new Promise((resolve) => server.once("drain", resolve));
  const received = readAll(client);
  client.resume();
  await drained;
  t.equal(server.writableLength, 0);
  t.notOk(server.writableNeedDrain);
  server.end();
  t.equal((await received).length, (writes + 1) * chunk.length);
});

t.test("corked writes over the mark: write() returns false, and 'drain' follows though the kernel took them at once", async (t) => {
  const { server, client } = await pair(t);
  const received = readAll(client);
  server.cork();
  t.equal(server.write(Buffer.alloc(64 * 1024, 3)), false, "64 KiB corked is over the 16 KiB mark");
  t.ok(server.writableNeedDrain);
  const drained = new Promise((resolve) => server.once("drain", resolve));
  server.uncork();
  await drained;
  t.equal(server.writableLength, 0);
  t.notOk(server.writableNeedDrain);
  server.end();
  t.equal((await received).length, 64 * 1024);
});

t.test("pause() stops reading at once: what the peer sends waits in the kernel", async (t) => {
  const { server, client } = await pair(t);
  let read = 0;
  server.on("data", (chunk: Buffer) => (read += chunk.length));
  server.resume();
  server.pause();
  // More than both kernels' buffers hold: the rest stays in the client's.
  const total = 64 * 1024 * 1024;
  client.write(Buffer.alloc(total));
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(read, 0, "nothing read while paused");
  t.ok(client.writableLength > 0, `${client.writableLength} bytes wait in the client`);
  server.resume();
  client.end();
  t.equal(await closed(server), false, "read to the peer's end, then closed");
  t.equal(read, total, "every byte read after resume()");
});

t.test("end(): the peer gets everything, then EOF; the socket closes at the peer's own end", async (t) => {
  const { server, client } = await pair(t);
  server.resume();
  const received = readAll(client);
  server.write(Buffer.from("bye"));
  server.end();
  t.equal(
    server.write(Buffer.from("more"), (error) => t.match(error, { code: "EPIPE" })),
    false,
    "no write after end()",
  );
  t.equal((await received).toString(), "bye");
  t.notOk(server.destroyed, "still open for the peer's last bytes");
  const closing = closed(server);
  client.end();
  t.equal(await closing, false, "closed without an error");
});

t.test("the peer's EOF: what is queued still goes out, then the socket closes; a later write fails", async (t) => {
  const { server, client } = await pair(t);
  const received = readAll(client);
  client.pause();
  const big = Buffer.alloc(8 * 1024 * 1024, 1);
  server.write(big);
  server.resume();
  const closing = closed(server);
  client.end();
  await new Promise((resolve) => setImmediate(resolve));
  client.resume();
  t.equal((await received).length, big.length, "the queued 8 MiB arrived in full");
  t.equal(await closing, false);
  const failed = await new Promise((resolve) => server.write(Buffer.from("x"), resolve));
  t.match(failed, { code: "EPIPE" });
});

t.test("a reset by the peer: 'error' with its code, then 'close'", async (t) => {
  const { server, client } = await pair(t);
  server.resume();
  const error = new Promise((resolve) => server.once("error", resolve));
  const closing = closed(server);
  client.resetAndDestroy();
  t.match(await error, { code: "ECONNRESET", syscall: "read" });
  t.equal(await closing, true, "closed with an error");
});

t.test("a write to a connection the peer reset fails at once: its callback, 'error' and 'close' say why", async (t) => {
  const { server, client } = await pair(t);
  // Not reading: only the write can find out.
  const gone = new Promise((resolve) => client.once("close", resolve));
  client.resetAndDestroy();
  await gone;
  const error = new Promise((resolve) => server.once("error", resolve));
  const closing = closed(server);
  const failed = new Promise((resolve) => server.write(Buffer.from("late"), resolve));
  t.ok(server.destroyed, "destroyed by the failed write");
  t.match(await failed, { code: /^(ECONNRESET|EPIPE)$/, syscall: "write" });
  t.match(await error, { code: /^(ECONNRESET|EPIPE)$/ });
  t.equal(await closing, true);
});

t.test("destroy() with writes still corked: their callbacks get an error, none runs twice", async (t) => {
  const { server } = await pair(t);
  const errors: unknown[] = [];
  server.cork();
  server.write(Buffer.from("lost"), (error) => errors.push(error));
  server.destroy();
  await closed(server);
  t.equal(errors.length, 1);
  t.match(errors[0], { code: "ECANCELED" });
  t.ok(server.destroyed);
  t.equal(server.write(Buffer.from("x")), false, "no write after destroy()");
});

t.test("readInto(): reads land in the buffers given, each handed on with its length", async (t) => {
  const { server, client } = await pair(t);
  const given: Buffer[] = [];
  let bytes = 0;
  const hash = createHash("sha256");
  server.readInto(
    () => {
      const buf = Buffer.alloc(4096);
      given.push(buf);
      return buf;
    },
    (n, buf) => {
      t.equal(buf, given[given.length - 1], "the buffer given last");
      hash.update(buf.subarray(0, n));
      bytes += n;
    },
  );
  server.resume();
  const body = Buffer.alloc(100_000, "tscgi");
  client.end(body);
  await closed(server);
  t.equal(bytes, body.length);
  t.equal(hash.digest("hex"), createHash("sha256").update(body).digest("hex"), "in order");
  t.ok(given.length >= Math.ceil(body.length / 4096), `${given.length} buffers of 4 KiB`);
});

t.test("random writes, corks and reads on both sides (fixed seed): the bytes arrive as written", async (t) => {
  const random = mulberry32(0x50c4e7);
  for (let round = 0; round < 6; round++) {
    const { server, client } = await pair(t);
    const written = createHash("sha256");
    let total = 0;
    const received = readAll(client);
    client.pause();
    let callbacks = 0;
    let expected = 0;
    const errors: unknown[] = [];
    for (let i = 0; i < 200; i++) {
      const size = Math.floor(random() ** 3 * 200_000);
      const chunk = Buffer.alloc(size, i & 0xff);
      written.update(chunk);
      total += size;
      if (random() < 0.2) server.cork();
      if (random() < 0.5) {
        expected++;
        server.write(chunk, (error) => {
          if (error) errors.push(error);
          callbacks++;
        });
      } else server.write(chunk);
      if (random() < 0.3) server.uncork();
      if (random() < 0.1) {
        client.resume();
        await new Promise((resolve) => setImmediate(resolve));
        client.pause();
      }
    }
    server.end();
    client.resume();
    const bytes = await received;
    t.equal(bytes.length, total, `round ${round}: ${total} bytes`);
    t.equal(createHash("sha256").update(bytes).digest("hex"), written.digest("hex"), `round ${round}: in order`);
    t.equal(callbacks, expected, `round ${round}: every callback ran once`);
    t.same(errors, [], `round ${round}: without an error`);
  }
});
