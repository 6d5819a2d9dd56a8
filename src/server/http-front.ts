// The embedded HTTP front (--http): for development and trying tscgi without a web server.
import { createServer, type Server } from "node:http";
import type { Dispatcher } from "./dispatch.ts";
import { formatAddress, listenOn, splitListen, type ListenAddress } from "./address.ts";
import { HttpExchange, paramsFromHttp } from "./http-exchange.ts";

/** Percent-decodes the path once, as nginx does for DOCUMENT_URI; null when it is malformed. */
export function decodePath(url: string): string | null {
  const q = url.indexOf("?");
  const raw = q === -1 ? url : url.slice(0, q);
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

export class HttpFront {
  readonly #server: Server;
  readonly #listen: string;
  #address: ListenAddress;

  constructor(dispatcher: Dispatcher, listen: string) {
    this.#listen = listen;
    this.#address = splitListen(listen);
    this.#server = createServer((req, res) => {
      const path = decodePath(req.url ?? "/");
      if (path === null || !path.startsWith("/")) {
        res.writeHead(400, { "content-type": "text/plain; charset=utf-8" }).end("400 Bad Request\n");
        return;
      }
      void dispatcher.dispatch(new HttpExchange(req, res, paramsFromHttp(req, path)));
    });
  }

  get address(): ListenAddress {
    return this.#address;
  }

  async listen(): Promise<ListenAddress> {
    this.#address = await listenOn(this.#server, this.#address, this.#listen);
    return this.#address;
  }

  toString(): string {
    return `http://${formatAddress(this.#address)}`;
  }

  stopAccepting(): void {
    this.#server.close();
    this.#server.closeIdleConnections();
  }

  destroyAll(): void {
    this.#server.closeAllConnections();
  }
}
