// The listener's timeouts cost no timer per connection: one sweep checks them all.
import t from "tap";
import { bindListener } from "../../src/server/bind.ts";
import { sweepPeriod, SWEEP_MAX_PERIOD, SWEEP_MIN_PERIOD } from "../../src/server/timeout-sweep.ts";
import { Answering, CountingClient, fastCgiServer, requestBytes } from "./fixtures/fastcgi-peers.ts";

t.test("the sweep runs at 1/8 of the shorter timeout, within 10 ms and 1 s; none without a timeout", async (t) => {
  t.equal(sweepPeriod(0, 0), 0);
  t.equal(sweepPeriod(400, 0), 50);
  t.equal(sweepPeriod(0, 800), 100);
  t.equal(sweepPeriod(10_000, 90_000), SWEEP_MAX_PERIOD);
  t.equal(sweepPeriod(20, 90_000), SWEEP_MIN_PERIOD);
});

t.test("accepting and serving connections with both timeouts set arms no timer per connection", async (t) => {
  const side = new Answering("A");
  const server = fastCgiServer(side, { paramsTimeout: 10_000, keepaliveTimeout: 90_000 });
  const bound = await bindListener({ host: "127.0.0.1", port: 0 }, "test");
  await server.listen(bound.handle);
  const port = (bound.address as { port: number }).port;
  const clients: CountingClient[] = [];
  t.teardown(() => {
    for (const c of clients) c.socket.destroy();
    server.destroyAll();
    bound.close();
  });
  const real = globalThis.setTimeout;
  let armed = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    armed++;
    return real(...args);
  }) as typeof setTimeout;
  try {
    for (let i = 0; i < 20; i++) {
      const client = new CountingClient(port);
      clients.push(client);
      client.socket.write(requestBytes(1, { N: String(i) }));
      await client.answered(1);
    }
  } finally {
    globalThis.setTimeout = real;
  }
  t.equal(server.connections, 20, "all 20 connections are open and served");
  t.ok(armed < 20, `timers armed for 20 connections: ${armed}`);
});
