// What FastCgiServer does at its limits: timeouts, max_connections, peers that do not read, stopping.
import t, { type Test } from "tap";
import { createServer } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { encodeParams } from "../../src/fastcgi/params.ts";
import { encodeRecord } from "../../src/fastcgi/record.ts";
import { RecordType } from "../../src/fastcgi/constants.ts";
import { defaultConnectionOptions } from "../../src/fastcgi/connection.ts";
import { takeAcceptedHandles } from "../../src/node-internals.ts";
import { bindListener, type BoundListener } from "../../src/server/bind.ts";
import { HandleSocket } from "../../src/server/handle-socket.ts";
import type { FastCgiServer, FastCgiServerOptions } from "../../src/server/fastcgi-server.ts";
import { Answering, CapturedLog, CountingClient, fastCgiServer, requestBytes } from "./fixtures/fastcgi-peers.ts";

const GET_VALUES = encodeRecord(RecordType.GetValues, 0, encodeParams({ FCGI_MPXS_CONNS: "" }));
const BEGIN = encodeRecord(RecordType.BeginRequest, 1, Buffer.from([0, 1, 1, 0, 0, 0, 0, 0]));

interface Setup {
  server: FastCgiServer;
  side: Answering;
  log: CapturedLog;
  port: number;
}

async function setup(t: Test, options: Partial<FastCgiServerOptions>): Promise<Setup> {
  const side = new Answering("A");
  const log = new CapturedLog();
  const server = fastCgiServer(side, { log: log.logger, ...options });
  const bound: BoundListener = await bindListener({ host: "127.0.0.1", port: 0 }, "test");
  await server.listen(bound.handle);
  t.teardown(() => {
    server.destroyAll();
    bound.close();
  });
  return { server, side, log, port: (bound.address as { port: number }).port };
}

/** A client the server has accepted: it answered a GET_VALUES. Nothing else was sent. */
async function accepted(port: number): Promise<CountingClient> {
  const client = new CountingClient(port);
  client.socket.write(GET_VALUES);
  await client.until(() => client.management.length > 0);
  return client;
}

t.test("params_timeout closes a connection that sends nothing, or half its PARAMS; a kept-alive one stays", async (t) => {
  const { port, log } = await setup(t, { paramsTimeout: 300 });
  const kept = await accepted(port);
  kept.socket.write(requestBytes(1, { N: "1" }));
  await kept.answered(1);
  const silent = await accepted(port);
  const half = await accepted(port);
  half.socket.write(Buffer.concat([BEGIN, encodeRecord(RecordType.Params, 1, encodeParams({ A: "b" }))]));
  await Promise.all([silent.closed, half.closed]);
  t.notOk(kept.socket.destroyed || kept.socket.readyState !== "open", "idle after a complete request: not params_timeout's business");
  t.notOk(silent.ends.size + half.ends.size, "closed without an answer");
  t.match(log.matching(/TSCGI_E_FCGI_PARAMS_TIMEOUT/), [/^warn: fastcgi: .*params_timeout \(300 ms\)/]);
  t.equal(log.matching(/TSCGI_E_FCGI_PARAMS_TIMEOUT/).length, 1, "two timeouts, one line (rate-limited)");
  kept.socket.write(requestBytes(2, { N: "2" }));
  await kept.answered(2);
  t.equal(kept.body(2), "A:2:0", "and serves its next request");
  kept.socket.destroy();
});

t.test("keepalive_timeout closes an idle kept-alive connection, never one with a request running", async (t) => {
  const { port, side, log } = await setup(t, { keepaliveTimeout: 300 });
  const busy = await accepted(port);
  busy.socket.write(requestBytes(1, { N: "slow", WAIT: "" }));
  await side.waiting("slow");
  const idle = await accepted(port);
  idle.socket.write(requestBytes(1, { N: "quick" }));
  await idle.answered(1);
  await idle.closed;
  t.equal(busy.socket.readyState, "open", "the connection running a request outlived the idle one");
  side.release("slow");
  await busy.answered(1);
  await busy.closed;
  t.pass("closed once idle for keepalive_timeout");
  t.same(log.matching(/^warn/), [], "a normal close is not a warning");
});

t.test("at max_connections the oldest never-used connection makes room, then the one idle longest", async (t) => {
  const { server, port, log } = await setup(t, { maxConnections: 3 });
  const used1 = await accepted(port);
  used1.socket.write(requestBytes(1, { N: "u1" }));
  await used1.answered(1);
  const never = await accepted(port);
  const used2 = await accepted(port);
  used2.socket.write(requestBytes(1, { N: "u2" }));
  await used2.answered(1);

  const fourth = await accepted(port);
  await never.closed;
  t.equal(server.connections, 3);
  t.equal(server.maxConnectionsReached, 1);
  fourth.socket.write(requestBytes(1, { N: "4" }));
  await fourth.answered(1);
  const fifth = await accepted(port);
  await used1.closed;
  t.equal(used2.socket.readyState, "open", "the one idle for less time stays");
  t.equal(server.maxConnectionsReached, 2);
  fifth.socket.write(requestBytes(1, { N: "5" }));
  await fifth.answered(1);
  t.equal(fifth.body(1), "A:5:0");
  t.match(log.matching(/TSCGI_E_SERVER_MAX_CONNECTIONS/), [
    /^warn: fastcgi: max_connections \(3\) reached: the connection idle longest was closed/,
  ]);
  for (const c of [used2, fourth, fifth]) c.socket.destroy();
});

t.test("at max_connections with every connection busy, new ones are refused, counted, and logged once", async (t) => {
  const { server, side, port, log } = await setup(t, { maxConnections: 2, logInterval: 1000 });
  const busy = await Promise.all([accepted(port), accepted(port)]);
  for (const [i, c] of busy.entries()) c.socket.write(requestBytes(1, { N: `b${i}`, WAIT: "" }));
  await Promise.all([side.waiting("b0"), side.waiting("b1")]);
  const refused = Array.from({ length: 20 }, () => new CountingClient(port));
  await Promise.all(refused.map((c) => c.closed));
  t.equal(server.maxConnectionsReached, 20);
  // One line at once; the others are counted into a line at the end of each interval.
  const counted = () =>
    log.matching(/TSCGI_E_SERVER_MAX_CONNECTIONS/).reduce((sum, line) => sum + Number(/\((\d+) more like this/.exec(line)?.[1] ?? 1), 0);
  await log.until(/TSCGI_E_SERVER_MAX_CONNECTIONS/, 2);
  await new Promise<void>((resolve) => {
    const check = (): void =>
      void (counted() >= 20 ? resolve() : log.until(/more like this/, log.matching(/more like this/).length + 1).then(check));
    check();
  });
  const lines = log.matching(/TSCGI_E_SERVER_MAX_CONNECTIONS/);
  t.equal(counted(), 20, `20 refusals in ${lines.length} lines`);
  t.ok(lines.length < 10, "not a line per refusal");
  t.match(lines[0], /every connection carries a request: a new connection was refused/);
  t.match(lines[1], /\(\d+ more like this in the last 1 s\)$/);
  side.release("b0");
  side.release("b1");
  await Promise.all(busy.map((c) => c.answered(1)));
  const after = await accepted(port);
  after.socket.write(requestBytes(1, { N: "after" }));
  await after.answered(1);
  t.equal(after.body(1), "A:after:0", "served again once a connection is free");
  for (const c of [...busy, after]) c.socket.destroy();
});

const FLOOD_MIB = 24;

t.test("a peer that floods tiny records and never reads stops being read; the answers queued stay small", async (t) => {
  const side = new Answering("A");
  const server = fastCgiServer(side);
  let serverSide: HandleSocket | null = null;
  const paused = new Promise<void>((resolve) => {
    const plain = createServer();
    plain.listen(0, "127.0.0.1");
    t.teardown(() => plain.close());
    plain.once("listening", () => {
      takeAcceptedHandles(plain, (_status, handle) => {
        const socket = new HandleSocket(handle!);
        serverSide = socket;
        socket.once("pause", () => resolve());
        server.adopt(socket);
      });
      const port = (plain.address() as { port: number }).port;
      const flood = new CountingClient(port);
      flood.socket.pause(); // never reads
      // 24 MiB of 8-byte records of an unknown management type, each answered with 16 bytes:
      // far more than the socket buffers both ways hold.
      const record = encodeRecord(99, 0);
      const chunk = Buffer.concat(Array.from({ length: 131072 }, () => record));
      for (let i = 0; i < FLOOD_MIB; i++) flood.socket.write(chunk);
      // With no backpressure the server reads it all; then the test must fail, not hang.
      flood.socket.once("drain", () => resolve());
      t.teardown(() => flood.socket.destroy());
    });
  });
  t.teardown(() => server.destroyAll());
  await paused;
  const socket = serverSide!;
  t.ok(socket.isPaused(), "reading stopped");
  t.ok(
    socket.writableLength < 4 * 1024 * 1024,
    `answers queued in the server: ${socket.writableLength} bytes (unbounded: twice what it read)`,
  );
  t.ok(socket.bytesRead < FLOOD_MIB * 1024 * 1024, `read ${socket.bytesRead} of ${FLOOD_MIB} MiB before stopping`);
});

t.test("unfinished PARAMS across request ids close the connection at the cap, and the memory is returned", async (t) => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const log = new CapturedLog();
  const server = fastCgiServer(new Answering("A"), {
    log: log.logger,
    connection: { ...defaultConnectionOptions, maxPendingParamsBytes: 512 * 1024 },
  });
  // The server's own sockets, to know when each is really closed and its buffers released.
  const closing: Promise<void>[] = [];
  const plain = createServer();
  await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
  takeAcceptedHandles(plain, (_status, handle) => {
    const socket = new HandleSocket(handle!);
    closing.push(new Promise((resolve) => socket.once("close", () => resolve())));
    server.adopt(socket);
  });
  t.teardown(() => plain.close());
  const port = (plain.address() as { port: number }).port;
  gc();
  const before = process.memoryUsage().arrayBuffers;
  // 30 connections, each beginning 8 requests with 100 KB of PARAMS that never end.
  const clients = await Promise.all(Array.from({ length: 30 }, () => accepted(port)));
  const value = "v".repeat(100 * 1024);
  for (const client of clients) {
    const parts: Buffer[] = [];
    for (let id = 1; id <= 8; id++) {
      parts.push(encodeRecord(RecordType.BeginRequest, id, Buffer.from([0, 1, 1, 0, 0, 0, 0, 0])));
      const pairs = encodeParams({ [`HTTP_X_${id}`]: value });
      for (let at = 0; at < pairs.length; at += 0xffff) parts.push(encodeRecord(RecordType.Params, id, pairs.subarray(at, at + 0xffff)));
    }
    client.socket.write(Buffer.concat(parts));
  }
  await Promise.all(clients.map((c) => c.closed));
  t.equal(server.connections, 0, "each connection closed at max_pending_params_bytes");
  t.match(log.matching(/TSCGI_E_FCGI_PENDING_PARAMS_TOO_LARGE/), [/^warn: fastcgi: .*max_pending_params_bytes/]);
  await Promise.all(closing);
  // What the clients of this test wrote is theirs, not the server's: let it go too.
  clients.length = 0;
  // A destroyed socket's last write request lets go of its Buffer on a later turn of the loop, later
  // still on a busy machine: collect again over a bounded number of turns until the figure settles.
  let after = Infinity;
  for (let turn = 0; turn < 50 && after - before >= 8 * 1024 * 1024; turn++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    after = process.memoryUsage().arrayBuffers;
  }
  t.ok(after - before < 8 * 1024 * 1024, `buffers after the close: ${((after - before) / 1048576).toFixed(1)} MiB over the start`);
});

t.test("close(): idle connections at once, a busy one when its request ends, a fresh one after its first request", async (t) => {
  const { server, side, port } = await setup(t, {});
  const idle = await Promise.all([accepted(port), accepted(port), accepted(port)]);
  for (const c of idle) c.socket.write(requestBytes(1, { N: "i" }));
  await Promise.all(idle.map((c) => c.answered(1)));
  const busy = await accepted(port);
  busy.socket.write(requestBytes(1, { N: "busy", WAIT: "" }));
  await side.waiting("busy");
  // Accepted, nothing sent yet: a web server opened it for a request on its way.
  const fresh = new CountingClient(port);
  for (let turns = 0; server.connections < 5 && turns < 100_000; turns++) await new Promise((resolve) => setImmediate(resolve));
  t.equal(server.connections, 5, "all five accepted");

  let closed = false;
  const done = server.close().then(() => (closed = true));
  await Promise.all(idle.map((c) => c.closed));
  t.pass("idle connections closed at once (destroy: a pooled Apache connection never answers end())");
  fresh.socket.write(requestBytes(1, { N: "first" }));
  await fresh.answered(1);
  t.equal(fresh.body(1), "A:first:0", "a fresh connection's first request is served");
  await fresh.closed;
  t.notOk(closed, "still waiting for the busy connection");
  side.release("busy");
  await busy.answered(1);
  await busy.closed;
  await done;
  t.equal(server.connections, 0);
});
