// The idle connections retiring workers hand over: each goes on to another worker, or waits here
// while every worker that could take it is still starting.
import type { ListenHandle } from "../server/bind.ts";
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
