// ScavengePacer: V8 frees a dead Buffer only in a collection, and its young-generation collection
// (a scavenge) comes each time the process has allocated its semi-space in JS objects, whatever
// the bytes outside them. Request bodies are such bytes, in few JS objects: a streamed 1 GiB
// upload saw one scavenge per 22 MiB and grew the worker's peak RSS by 48-77 MiB, and under a load
// of 1 MiB POSTs dead bodies held a pool of 2 workers at 186-200 MiB PSS until a full collection.
// One scavenge every 8 MiB of body: 23-26 MiB and 145-165 MiB, for under 0.1 ms each.

/** Bytes of request body handed to scripts between two scavenges. */
export const SCAVENGE_EVERY = 8 * 1024 * 1024;

/** Runs `scavenge` once every `every` bytes of short-lived buffers. */
export class ScavengePacer {
  readonly #every: number;
  readonly #scavenge: () => void;
  #since = 0;

  constructor(every: number, scavenge: () => void) {
    this.#every = every;
    this.#scavenge = scavenge;
  }

  /** `bytes` more went into buffers that are garbage once the reader is done with them. */
  allocated(bytes: number): void {
    this.#since += bytes;
    if (this.#since < this.#every) return;
    this.#since = 0;
    this.#scavenge();
  }
}
