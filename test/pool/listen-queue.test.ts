// The listen queue read from /proc/net/tcp: the rx_queue of the listening socket's inode.
import t from "tap";
import { spawnSync } from "node:child_process";
import { connect, createServer, type Server, type Socket } from "node:net";
import { until } from "../helpers/tscgi.ts";
import { listenQueue, queueFromProcNet, readListenRows } from "../../src/pool/listen-queue.ts";

const sample = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:2328 00000000:0000 0A 000001FF:00000003 00:00000000 00000000     0        0 424242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 00000000:0000 0A 00000080:00000000 00:00000000 00000000     0        0 1234 1 0000000000000000 100 0 0 10 0
`;

t.test("parses rx_queue for the inode", async (t) => {
  t.equal(queueFromProcNet(sample, "424242"), 3);
  t.equal(queueFromProcNet(sample, "1234"), 0);
  t.equal(queueFromProcNet(sample, "999"), null);
});

t.test("a listening socket of this process reads 0 when nothing waits; a bad fd reads 0", async (t) => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
  t.equal(listenQueue(fd), 0);
  t.equal(listenQueue(-1), 0);
  server.close();
});

t.test("reading stops at the first socket that is not listening: TIME-WAIT rows are not read", async (t) => {
  const timeWait = Array.from(
    { length: 20000 },
    (_, i) => `  ${i + 2}: 0100007F:2328 0100007F:C350 06 00000000:00000000 03:00000A1B 00000000     0        0 0 3 0000000000000000\n`,
  );
  const whole = Buffer.from(sample + timeWait.join(""), "latin1");
  let offset = 0;
  let reads = 0;
  const text = readListenRows((buf) => {
    reads++;
    const n = whole.copy(buf, 0, offset, Math.min(whole.length, offset + buf.length));
    offset += n;
    return n;
  });
  t.equal(reads, 1, "one 16 KiB read, not the 2 MB file");
  t.equal(queueFromProcNet(text, "424242"), 3);
  t.ok(offset < whole.length / 50);
});

t.test("connections no process has accepted yet are counted, among many accepted ones", async (t) => {
  const server = createServer((s) => s.on("error", () => {}));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
  const open = await Promise.all(
    Array.from(
      { length: 200 },
      () =>
        new Promise<Socket>((resolve) => {
          const c = connect(port, "127.0.0.1", () => resolve(c));
        }),
    ),
  );
  t.ok(await until(async () => (await connections(server)) === 200));
  t.equal(listenQueue(fd), 0, "all accepted");
  // This process is blocked in spawnSync while the child connects, so nothing accepts them.
  const child = spawnSync(process.execPath, [
    "-e",
    `
    const net = require("node:net"); let n = 0;
    for (let i = 0; i < 5; i++) net.connect(${port}, "127.0.0.1", () => { if (++n === 5) process.exit(0); });
  `,
  ]);
  t.equal(child.status, 0);
  t.equal(listenQueue(fd), 5);
  for (const c of open) c.destroy();
  server.close();
});

function connections(server: Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((_e, n) => resolve(n)));
}
