// An in-process FastCGI responder built on our own Connection, for the client tests.
import { createServer, type Server, type Socket } from "node:net";
import { Connection, defaultConnectionOptions } from "../../src/fastcgi/connection.ts";
import type { FcgiRequest } from "../../src/fastcgi/request.ts";
import type { ConnectionOptions } from "../../src/fastcgi/transport.ts";

export interface Responder {
  /** The `listen` value that reaches it: "127.0.0.1:PORT", "[::1]:PORT" or the socket path. */
  listen: string;
  /** The params of every request it received, in order. */
  requests: Record<string, string>[];
  close: () => Promise<void>;
}

/** Listens on `where` ("127.0.0.1", "::1", or a socket path) and hands every request to `handler`. */
export async function startResponder(
  where: string,
  handler: (request: FcgiRequest) => void,
  options: Partial<ConnectionOptions> = {},
): Promise<Responder> {
  const requests: Record<string, string>[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    const connection = new Connection(
      socket,
      (request) => {
        requests.push({ ...request.params });
        handler(request);
      },
      { ...defaultConnectionOptions, ...options },
    );
    socket.on("data", (chunk: Buffer) => connection.receive(chunk));
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      sockets.delete(socket);
      connection.closed();
    });
  });
  const isPath = where.includes("/");
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    if (isPath) server.listen(where, resolve);
    else server.listen(0, where, resolve);
  });
  let listen = where;
  if (!isPath) {
    const port = (server.address() as { port: number }).port;
    listen = where.includes(":") ? `[${where}]:${port}` : `${where}:${port}`;
  }
  return {
    listen,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Ends `request` with a CGI response. */
export function respond(request: FcgiRequest, status: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  let head = `Status: ${status}\r\n`;
  for (const [name, value] of Object.entries({ "Content-Type": "text/plain", ...headers })) head += `${name}: ${value}\r\n`;
  request.end(0, Buffer.concat([Buffer.from(`${head}\r\n`), Buffer.from(body)]));
}

/** Collects what a command writes to stdout or stderr. */
export class Captured {
  text = "";
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}
