// A TCP relay in front of tscgi that counts the connections a web server opens to it, so a test
// can tell whether the server keeps its upstream connections.
import { connect, createServer, type AddressInfo } from "node:net";

export interface CountingRelay {
  address: string;
  connections(): number;
  close(): void;
}

export async function countingRelay(port: number): Promise<CountingRelay> {
  let connections = 0;
  const relay = createServer((client) => {
    connections++;
    const upstream = connect(port, "127.0.0.1");
    client.pipe(upstream).pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${(relay.address() as AddressInfo).port}`,
    connections: () => connections,
    close: () => relay.close(),
  };
}
