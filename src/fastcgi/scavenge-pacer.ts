// ScavengePacer: V8 frees a dead Buffer only in a collection, and its young-generation collection
// (a scavenge) comes each time the process has allocated its semi-space in JS objects, whatever the
// bytes outside them. A script streaming a large body makes few JS objects per byte: a 1 GiB
// upload read in chunks the script keeps saw one scavenge per 22 MiB, and the worker's peak RSS
// grew by 48-52 MiB. One every 8 MiB of such chunks held it to 23-26 MiB, for under 0.1 ms each.

/** Bytes handed to keeping readers between two scavenges. */
export const SCAVENGE_EVERY = 8 * 1024 * 1024;

/** Runs `scavenge` once every `every` bytes of short-lived buffers. */
export class ScavengePacer {
  readonly #every: number;
  readonly #scavenge: () => void;
  #since = 0;
  /** Scavenges asked for since the start. */
  scavenges = 0;

  constructor(every: number, scavenge: () => void) {
    this.#every = every;
    this.#scavenge = scavenge;
  }

  /** `bytes` more went into buffers that are garbage once the reader is done with them. */
  allocated(bytes: number): void {
    this.#since += bytes;
    if (this.#since < this.#every) return;
    this.#since = 0;
    this.scavenges++;
    this.#scavenge();
  }
}
