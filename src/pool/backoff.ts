// Respawn delays after crashes: the first crash is replaced at once, each further quick crash waits
// twice as long as the one before, up to a ceiling, so a crash loop cannot spin the CPU.

/** A worker that lived this long before dying counts as healthy: the next crash starts over. */
export const HEALTHY_LIFETIME = 10_000;
const FIRST_DELAY = 100;

export class Backoff {
  readonly #max: number;
  #quickCrashes = 0;

  constructor(maxDelay: number) {
    this.#max = maxDelay;
  }

  get crashes(): number {
    return this.#quickCrashes;
  }

  /** Records a crash of a worker that lived `lifetime` ms; returns how long to wait before respawning. */
  crash(lifetime: number): number {
    if (lifetime >= HEALTHY_LIFETIME) this.#quickCrashes = 0;
    this.#quickCrashes++;
    if (this.#quickCrashes === 1) return 0;
    return Math.min(this.#max, FIRST_DELAY * 2 ** (this.#quickCrashes - 2));
  }

  /** A worker stayed up long enough: forget past crashes. */
  healthy(): void {
    this.#quickCrashes = 0;
  }
}
