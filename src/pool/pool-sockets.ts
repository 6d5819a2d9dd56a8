// The pool's listening sockets: bound by the master and passed to every worker, or under pm
// ondemand accepted on by the master itself, which hands each connection to a worker.
import { createServer, type Server } from "node:net";
import type { Config } from "../config/types.ts";
import { takeAcceptedHandles, type StreamHandle } from "../node-internals.ts";
import { describeListeners } from "../server/address.ts";
import { listenOnHandle } from "../server/bind.ts";
import { AcceptError } from "../server/errors.ts";
import { uvError } from "../server/handle-socket.ts";
import { RateLimitedLog } from "../server/log-limit.ts";
import type { Logger } from "../server/log.ts";
import { bindListeners, type Listeners } from "../server/serve.ts";
import { listenQueue } from "./listen-queue.ts";
import type { WorkerProcess } from "./worker-process.ts";

export class PoolSockets {
  #listeners: Listeners | null = null;
  /** The master's own servers on the listeners (ondemand). */
  readonly #acceptors: Server[] = [];
  #announced = false;

  /** The sockets bound now; null before the first bind and once closed. */
  get listeners(): Listeners | null {
    return this.#listeners;
  }

  /** Binds listen and http as `config` says. The sockets bound before stay open: the caller closes them. */
  async bind(config: Config): Promise<Listeners> {
    this.#listeners = await bindListeners(config);
    return this.#listeners;
  }

  /**
   * Ondemand: the master takes connections and hands each to `route`, as a bare handle that
   * nothing reads here (a net.Socket would be built for nothing). A failed accept (out of file
   * descriptors) is logged, rate-limited, and the master carries on.
   */
  async acceptInMaster(backlog: number, route: (which: "fastcgi" | "http", handle: StreamHandle) => void, log: Logger): Promise<void> {
    const listeners = this.#listeners!;
    const limited = new RateLimitedLog(log);
    const refused = (status: number): void => {
      const failure = new AcceptError(uvError(status, "accept"));
      limited.write("warn", failure.code, `${failure.message} [${failure.code}]`);
    };
    const add = async (which: "fastcgi" | "http", handle: Listeners["fastcgi"]["handle"]) => {
      const server = createServer();
      await listenOnHandle(server, handle, backlog);
      takeAcceptedHandles(
        server,
        (status, accepted) => {
          if (status !== 0 || accepted === undefined) return refused(status);
          route(which, accepted);
        },
        true,
      );
      this.#acceptors.push(server);
    };
    await add("fastcgi", listeners.fastcgi.handle);
    if (listeners.http) await add("http", listeners.http.handle);
  }

  /** The master stops accepting; the listeners stay open. */
  closeAcceptors(): void {
    for (const server of this.#acceptors.splice(0)) server.close();
  }

  /** Logs where the pool listens, once, when it first can serve. */
  announce(log: Logger): void {
    if (this.#announced || !this.#listeners) return;
    this.#announced = true;
    for (const line of describeListeners(this.#listeners)) log.info(line);
    log.flush();
  }

  /** Hands the listening sockets to a worker that accepts on them itself. */
  passTo(worker: WorkerProcess): void {
    if (!this.#listeners) return;
    worker.send({ type: "listen", which: "fastcgi" }, this.#listeners.fastcgi.handle);
    if (this.#listeners.http) worker.send({ type: "listen", which: "http" }, this.#listeners.http.handle);
  }

  /** Connections waiting in the kernel's queue of the FastCGI socket; null when nothing is bound. */
  queue(): number | null {
    return this.#listeners ? listenQueue(this.#listeners.fastcgi.handle.fd) : null;
  }

  close(): void {
    this.#listeners?.fastcgi.close();
    this.#listeners?.http?.close();
    this.#listeners = null;
  }
}
