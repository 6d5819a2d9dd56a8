// Requests sent to another process, each waiting under its own id for the reply that names it.

export class PendingReplies<T> {
  #lastId = 0;
  readonly #waiting = new Map<number, (reply: T) => void>();

  /** Sends a request under a new id (`send` puts the id in the message) and resolves with its reply. */
  ask(send: (id: number) => void): Promise<T> {
    const id = ++this.#lastId;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      send(id);
    });
  }

  /** Resolves the request `id` with `reply`; a reply to no pending request is dropped. */
  settle(id: number, reply: T): void {
    const resolve = this.#waiting.get(id);
    this.#waiting.delete(id);
    resolve?.(reply);
  }
}
