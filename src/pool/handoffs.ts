// The idle connections retiring workers hand over: each goes on to another worker, or waits here
// while every worker that could take it is still starting.
import type { ListenHandle } from "../server/bind.ts";
import { takerFor } from "./connection-balance.ts";
import { adopterFor } from "./pm.ts";
import type { WorkerProcess } from "./worker-process.ts";

export class ConnectionHandoffs {
  readonly #workers: ReadonlyMap<number, WorkerProcess>;
  /** Connections handed over by retiring workers, waiting for a worker that is starting. */
  readonly #waiting: Array<{ handle: ListenHandle; unread: Uint8Array | null; slot: number }> = [];
  #closed = false;

  /** `workers`: the pool's workers by id, read at each placement. */
  constructor(workers: ReadonlyMap<number, WorkerProcess>) {
    this.#workers = workers;
  }

  /** A connection `from` handed over: shed to even out the pool (placeShed), or as it retires (place). */
  received(from: WorkerProcess, handle: ListenHandle | undefined, unread: Uint8Array | null, shed: boolean): void {
    if (shed) {
      if (handle) this.placeShed(handle, unread, from);
      return;
    }
    if (handle) this.place(handle, unread, from.slot);
    from.handedOver++;
  }

  /**
   * A retiring worker's idle connection: it goes to another worker instead of being closed, since
   * closing a kept-alive connection races the web server's next request on it (nginx answers 502
   * to a POST it had started writing). Nobody has read from it since its last request ended, so
   * the next request is still in the socket (or in `unread`).
   */
  place(handle: ListenHandle, unread: Uint8Array | null, slot: number): void {
    if (this.#closed) return void handle.close();
    const takers = [...this.#workers.values()]
      .filter((w) => w.state !== "finishing")
      .map((w) => ({ id: w.id, slot: w.slot, ready: w.state === "ready", retiring: w.retiring, adopted: w.adopted }));
    const to = adopterFor(slot, takers);
    if (to === "wait") return void this.#waiting.push({ handle, unread, slot });
    const worker = to === "close" ? undefined : this.#workers.get(to);
    // The handle goes out with the message; the master's own copy of the fd is closed after that.
    const close = () => handle.close();
    if (!worker?.send({ type: "conn", which: "fastcgi", unread }, handle, close)) return close();
    worker.adopted++;
  }

  /**
   * An idle connection a worker shed to even out the pool (see connection-balance.ts): to the ready
   * worker holding the fewest, counted there at once so that the next goes elsewhere if it should.
   * With no other taker it goes back to `from`, which still serves: closing it would race the web
   * server's next request on it.
   */
  placeShed(handle: ListenHandle, unread: Uint8Array | null, from: WorkerProcess): void {
    if (this.#closed) return void handle.close();
    const takers = [...this.#workers.values()].filter((w) => w.state === "ready" && !w.retiring);
    const id = takerFor(from.id, takers);
    const to = (id === null ? undefined : this.#workers.get(id)) ?? from;
    const close = () => handle.close();
    if (!to.send({ type: "conn", which: "fastcgi", unread }, handle, close)) return close();
    // Until their next load reports: a connection sent back to its sender changes no count.
    if (to === from) return;
    to.connections++;
    from.connections--;
  }

  /** A worker became ready or exited: the waiting connections are placed again. */
  placeWaiting(): void {
    for (const { handle, unread, slot } of this.#waiting.splice(0)) this.place(handle, unread, slot);
  }

  /** Shutdown: the waiting connections are closed, and so is any handed over from now on. */
  close(): void {
    this.#closed = true;
    for (const { handle } of this.#waiting.splice(0)) handle.close();
  }
}
