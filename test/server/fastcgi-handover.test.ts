// A retiring FastCgiServer hands its connections to another at record boundaries: no request lost or answered twice.
import t from "tap";
import { fork } from "node:child_process";
import { encodeParams } from "../../src/fastcgi/params.ts";
import { encodeRecord } from "../../src/fastcgi/record.ts";
import { RecordType } from "../../src/fastcgi/constants.ts";
import { bindListener, type BoundListener } from "../../src/server/bind.ts";
import type { FastCgiServer } from "../../src/server/fastcgi-server.ts";
import { mulberry32 } from "../fastcgi/fixtures/fcgi.ts";
import { Answering, CapturedLog, CountingClient, fastCgiServer, requestBytes } from "./fixtures/fastcgi-peers.ts";

async function listening(server: FastCgiServer): Promise<{ port: number; bound: BoundListener }> {
  const bound = await bindListener({ host: "127.0.0.1", port: 0 }, "test");
  await server.listen(bound.handle);
  return { port: (bound.address as { port: number }).port, bound };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

const GET_VALUES = encodeRecord(RecordType.GetValues, 0, encodeParams({ FCGI_MPXS_CONNS: "" }));

/** A connection the server has accepted and answered once, with no request begun: "fresh". */
async function accepted(port: number): Promise<CountingClient> {
  const client = new CountingClient(port);
  client.socket.write(GET_VALUES);
  await client.until(() => client.management.length > 0);
  client.management.length = 0;
  return client;
}

t.test("idle, busy, fresh and mid-record connections are each handed over at the right moment", async (t) => {
  const a = new Answering("A");
  const b = new Answering("B");
  const retiring = fastCgiServer(a);
  const next = fastCgiServer(b);
  const { port, bound } = await listening(retiring);
  t.teardown(() => {
    bound.close();
    next.destroyAll();
    retiring.destroyAll();
  });

  const busy = await accepted(port);
  busy.socket.write(requestBytes(1, { N: "1" }));
  await busy.answered(1);
  busy.socket.write(requestBytes(2, { N: "2", WAIT: "" }, "body"));
  await a.waiting("2");
  const idle = await accepted(port);
  idle.socket.write(requestBytes(1, { N: "3" }));
  await idle.answered(1);
  const fresh = await accepted(port);
  // A request in flight, and the first bytes of a record behind it.
  const midRecord = await accepted(port);
  midRecord.socket.write(Buffer.concat([requestBytes(1, { N: "9", WAIT: "" }), GET_VALUES.subarray(0, 5)]));
  await a.waiting("9");

  const handed: number[] = [];
  const done = retiring.handOver((socket, unread) => {
    handed.push(unread.length);
    next.adopt(socket, unread);
  });
  t.equal(retiring.connections, 2, "the idle and the fresh connection move at once");
  t.equal(next.connections, 2);

  a.release("9");
  await midRecord.answered(1);
  t.equal(midRecord.body(1), "A:9:0");
  t.equal(retiring.connections, 2, "a connection holding part of a record waits for the rest");
  // The rest of the record, and a whole request right behind it in the same chunk: the record is
  // answered here, the request is kept unparsed and served by the next owner.
  const four = requestBytes(2, { N: "4" });
  midRecord.socket.write(Buffer.concat([GET_VALUES.subarray(5), four]));
  await midRecord.answered(2);
  t.same(midRecord.management, [RecordType.GetValuesResult]);
  t.equal(midRecord.body(2), "B:4:0");
  t.ok(handed.includes(four.length), "the request read with the record's end was handed on unread");

  a.release("2");
  await busy.answered(2);
  t.equal(busy.body(2), "A:2:4", "the request in flight ends where it began");
  await done;
  t.equal(retiring.connections, 0, "handOver resolves once no connection is left");

  // Each connection now talks to the other server, byte by byte even.
  const later = requestBytes(3, { N: "5" }, "xyz");
  for (let i = 0; i < later.length; i++) busy.socket.write(later.subarray(i, i + 1));
  idle.socket.write(requestBytes(2, { N: "6" }));
  fresh.socket.write(requestBytes(1, { N: "7" }));
  await Promise.all([busy.answered(3), idle.answered(2), fresh.answered(1)]);
  t.same([busy.body(3), idle.body(2), fresh.body(1)], ["B:5:3", "B:6:0", "B:7:0"]);
  t.same(a.served.sort(), ["1", "2", "3", "9"]);
  t.same(b.served.sort(), ["4", "5", "6", "7"]);
  for (const c of [busy, idle, fresh, midRecord])
    t.same(
      [...c.ends.values()].filter((n) => n !== 1),
      [],
      "one END_REQUEST per request",
    );
  for (const c of [busy, idle, fresh, midRecord]) c.socket.destroy();
});

t.test("pipelining clients, random splits, a hand-over at a random moment: every request answered exactly once", async (t) => {
  const random = mulberry32(0x4a11d0);
  const CLIENTS = 12;
  const IDS = [1, 2, 3, 4, 5, 6];
  const total = CLIENTS * IDS.length;
  for (let round = 0; round < 8; round++) {
    const a = new Answering("A");
    const b = new Answering("B");
    const retiring = fastCgiServer(a);
    const next = fastCgiServer(b);
    const { port, bound } = await listening(retiring);
    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => accepted(port)));
    const trigger = Math.floor(total / 4 + (random() * total) / 2);
    const expected = new Map<string, string>();
    let sent = 0;
    let handOver: Promise<void> = Promise.resolve();
    await Promise.all(
      clients.map(async (client, c) => {
        const pipelined = random() < 0.5;
        for (const id of IDS) {
          const body = "x".repeat(Math.floor(random() * 3000));
          expected.set(`${c}.${id}`, `${c}.${id}:${body.length}`);
          const bytes = requestBytes(id, { N: `${c}.${id}` }, body);
          // Cut anywhere: inside headers, inside content, inside padding.
          const cuts = Array.from({ length: 1 + Math.floor(random() * 4) }, () => Math.floor(random() * bytes.length));
          let at = 0;
          for (const cut of [...cuts.sort((x, y) => x - y), bytes.length]) {
            if (cut <= at) continue;
            client.socket.write(bytes.subarray(at, cut));
            at = cut;
            for (let k = Math.floor(random() * 3); k > 0; k--) await turn();
          }
          if (++sent === trigger) handOver = retiring.handOver((socket, unread) => next.adopt(socket, unread));
          if (!pipelined) await client.answered(id);
        }
      }),
    );
    await Promise.all(clients.flatMap((client) => IDS.map((id) => client.answered(id))));
    await handOver;
    t.equal(retiring.connections, 0, `round ${round}: the retiring server holds nothing`);
    let answers = 0;
    for (const [c, client] of clients.entries()) {
      for (const id of IDS) {
        answers += client.ends.get(id)!;
        const [side, ...rest] = client.body(id).split(":");
        if (rest.join(":") !== expected.get(`${c}.${id}`) || (side !== "A" && side !== "B"))
          t.fail(`request ${c}.${id} answered ${client.body(id)}`);
      }
    }
    t.equal(answers, total, `round ${round}: ${total} END_REQUESTs for ${total} requests`);
    t.equal(a.served.length + b.served.length, total, `round ${round}: each request ran once (A ${a.served.length}, B ${b.served.length})`);
    t.equal(new Set([...a.served, ...b.served]).size, total);
    for (const client of clients) client.socket.destroy();
    next.destroyAll();
    bound.close();
  }
});

t.test("a raw handle sent to another process (net.Native) continues the stream there", async (t) => {
  const a = new Answering("A");
  const retiring = fastCgiServer(a);
  const { port, bound } = await listening(retiring);
  const child = fork(new URL("./fixtures/fastcgi-adopter.ts", import.meta.url));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  t.teardown(async () => {
    bound.close();
    if (child.exitCode === null) child.kill();
    await exited;
  });
  await new Promise<void>((resolve) => child.once("message", () => resolve()));

  const clients = await Promise.all([accepted(port), accepted(port), accepted(port)]);
  clients[0].socket.write(requestBytes(1, { N: "0" }));
  clients[1].socket.write(requestBytes(1, { N: "1" }));
  // The third has a request in flight and the first bytes of a record behind it.
  clients[2].socket.write(Buffer.concat([requestBytes(1, { N: "2", WAIT: "" }), GET_VALUES.subarray(0, 5)]));
  await Promise.all([clients[0].answered(1), clients[1].answered(1), a.waiting("2")]);
  let sent = 0;
  const done = retiring.handOver((socket, unread) => {
    // Sent as a bare handle, so the receiving process reads nothing until it wraps it in a Socket.
    const handle = socket.handle;
    child.send({ unread: unread.toString("base64") }, handle as never, () => {
      sent++;
      socket.destroy();
    });
  });
  a.release("2");
  await clients[2].answered(1);
  // The record's end and part of the next request in one chunk: the part is handed on unread.
  const late = requestBytes(2, { N: "late" }, "abc");
  clients[2].socket.write(Buffer.concat([GET_VALUES.subarray(5), late.subarray(0, 13)]));
  await clients[2].until(() => clients[2].management.length > 0);
  clients[2].socket.write(late.subarray(13));
  clients[0].socket.write(requestBytes(2, { N: "again" }));
  await Promise.all([clients[2].answered(2), clients[0].answered(2), done]);
  t.equal(retiring.connections, 0);
  t.equal(clients[2].body(2), "child:late:3");
  t.equal(clients[0].body(2), "child:again:0");
  t.same(a.served.sort(), ["0", "1", "2"]);
  for (const c of clients) c.socket.destroy();
  t.equal(sent, 3);
});

t.test("a hand-over callback that throws costs that connection only, never the request that just ended", async (t) => {
  const a = new Answering("A");
  const log = new CapturedLog();
  const retiring = fastCgiServer(a, { log: log.logger });
  const { port, bound } = await listening(retiring);
  t.teardown(() => bound.close());
  const busy = await accepted(port);
  busy.socket.write(requestBytes(1, { N: "1", WAIT: "" }));
  await a.waiting("1");
  const done = retiring.handOver(() => {
    throw new Error("channel closed");
  });
  a.release("1");
  await busy.answered(1);
  t.equal(busy.body(1), "A:1:0");
  await Promise.all([busy.closed, done]);
  t.match(log.matching(/handing a connection over failed/), [/^error: .*channel closed/]);
});
