// The FastCGI listener: accepts connections and feeds each socket to a protocol Connection.
import { createServer, type Server, type Socket } from "node:net";
import { Connection, type ConnectionOptions } from "../fastcgi/connection.ts";
import type { Dispatcher } from "./dispatch.ts";
import type { Logger } from "./log.ts";
import { listenOn, splitListen, type ListenAddress } from "./address.ts";
import { FastCgiExchange } from "./fastcgi-exchange.ts";

export interface FastCgiServerOptions {
  listen: string;
  maxConnections: number;
  connection: ConnectionOptions;
  log?: Logger;
}

export class FastCgiServer {
  readonly #server: Server;
  readonly #connections = new Map<Socket, Connection>();
  readonly #options: FastCgiServerOptions;
  #address: ListenAddress;

  constructor(dispatcher: Dispatcher, options: FastCgiServerOptions) {
    this.#options = options;
    this.#address = splitListen(options.listen);
    const handler = (request: Parameters<ConstructorParameters<typeof Connection>[1]>[0]) => {
      void dispatcher.dispatch(new FastCgiExchange(request));
    };
    this.#server = createServer({ noDelay: true }, (socket) => {
      if (options.log?.enabled("debug")) {
        options.log.debug(`fastcgi connection from ${socket.remoteAddress}:${socket.remotePort}`);
      }
      const connection = new Connection(socket, handler, options.connection);
      this.#connections.set(socket, connection);
      socket.on("data", (chunk: Buffer) => connection.receive(chunk));
      socket.on("error", () => socket.destroy());
      socket.on("close", () => {
        this.#connections.delete(socket);
        connection.closed();
      });
    });
    this.#server.maxConnections = options.maxConnections;
  }

  /** The address actually bound (the real port when 0 was asked for). */
  get address(): ListenAddress {
    return this.#address;
  }

  async listen(): Promise<ListenAddress> {
    this.#address = await listenOn(this.#server, this.#address, this.#options.listen);
    return this.#address;
  }

  /** Stops accepting; open connections stay until closeIdle or destroyAll. */
  stopAccepting(): void {
    this.#server.close();
  }

  /** Closes keep-alive connections that carry no request. */
  closeIdle(): void {
    for (const [socket, connection] of this.#connections) if (connection.activeRequests === 0) socket.end();
  }

  destroyAll(): void {
    for (const socket of this.#connections.keys()) socket.destroy();
  }
}
