// The listen queue read from /proc/net/tcp: the rx_queue of the listening socket's inode.
import t from "tap";
import { createServer } from "node:net";
import { listenQueue, queueFromProcNet } from "../../src/pool/listen-queue.ts";

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
