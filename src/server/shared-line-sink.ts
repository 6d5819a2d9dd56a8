// Scripts' stderr held in shared memory: written once per event-loop turn, yet written out by the
// watchdog thread when a script blocks this thread, so a script's last line is never lost.
import { writeAll, type LineSink } from "./log.ts";

// Int32 header: a lock (0 free, 1 held) and the count of bytes waiting; then the bytes.
const I_LOCK = 0;
const I_LENGTH = 1;
const HEADER_BYTES = 8;

/** Bytes held before they are written even within one turn; a pipe holds 64 KiB too. */
export const SHARED_LINE_BYTES = 64 * 1024;
// How long a thread waits for the other to let go of the lock, in ms; the holder only copies or writes.
const LOCK_WAIT_MS = 1000;

const encoder = new TextEncoder();

function lock(ints: Int32Array, ms: number): boolean {
  const end = Date.now() + ms;
  while (Atomics.compareExchange(ints, I_LOCK, 0, 1) !== 0) {
    if (Date.now() > end) return false;
    Atomics.wait(ints, I_LOCK, 1, 1);
  }
  return true;
}

function unlock(ints: Int32Array): void {
  Atomics.store(ints, I_LOCK, 0);
  Atomics.notify(ints, I_LOCK);
}

/** Writes out the bytes waiting in `buffer`; false when none were. Safe from any thread. */
export function flushShared(buffer: SharedArrayBuffer, fd: number): boolean {
  const ints = new Int32Array(buffer, 0, 2);
  // A writer that holds the lock past the wait is stuck itself: write what is there anyway.
  const locked = lock(ints, LOCK_WAIT_MS);
  try {
    const length = Atomics.load(ints, I_LENGTH);
    if (length === 0) return false;
    // A copy: writing from shared memory would race the next append.
    writeAll(fd, Buffer.from(new Uint8Array(buffer, HEADER_BYTES, length)));
    Atomics.store(ints, I_LENGTH, 0);
    return true;
  } finally {
    if (locked) unlock(ints);
  }
}

const unflushed = new Set<SharedLineSink>();
let exitHook = false;

/**
 * A LineSink for a file descriptor: the first line of an event-loop turn is written at once, the
 * ones after it wait in a SharedArrayBuffer until the turn ends (a write per line costs 3 to 10 µs
 * more: a 100,000-line loop took 0.6 to 1.8 s). The watchdog thread calls flushShared on `buffer`
 * when this thread stops beating, and before it ends the process, so a script that logs and then
 * blocks its worker loses no line.
 */
export class SharedLineSink implements LineSink {
  readonly buffer: SharedArrayBuffer;
  readonly #fd: number;
  readonly #ints: Int32Array;
  readonly #bytes: Uint8Array;
  #scheduled = false;

  constructor(fd: number, capacity = SHARED_LINE_BYTES) {
    this.#fd = fd;
    this.buffer = new SharedArrayBuffer(HEADER_BYTES + capacity);
    this.#ints = new Int32Array(this.buffer, 0, 2);
    this.#bytes = new Uint8Array(this.buffer, HEADER_BYTES);
  }

  line(text: string): void {
    if (!this.#scheduled) {
      // The first line of an event-loop turn goes out at once, as a lone line always did: only
      // the lines that follow it within the turn wait, and only a flood pays for waiting.
      writeAll(this.#fd, text + "\n");
      return this.#schedule();
    }
    const ints = this.#ints;
    const locked = lock(ints, LOCK_WAIT_MS);
    try {
      let length = Atomics.load(ints, I_LENGTH);
      const line = text + "\n";
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      if (length + line.length * 3 > this.#bytes.length) {
        this.#write(length);
        length = 0;
        if (line.length * 3 > this.#bytes.length) return void writeAll(this.#fd, line);
      }
      const { written } = encoder.encodeInto(line, this.#bytes.subarray(length));
      Atomics.store(ints, I_LENGTH, length + written);
    } finally {
      if (locked) unlock(ints);
    }
    this.#schedule();
  }

  flush(): void {
    this.#scheduled = false;
    unflushed.delete(this);
    flushShared(this.buffer, this.#fd);
  }

  /** Writes out `length` waiting bytes; the caller holds the lock. */
  #write(length: number): void {
    if (length === 0) return;
    writeAll(this.#fd, Buffer.from(this.#bytes.subarray(0, length)));
    Atomics.store(this.#ints, I_LENGTH, 0);
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    unflushed.add(this);
    if (!exitHook) {
      exitHook = true;
      process.on("exit", () => {
        for (const sink of unflushed) sink.flush();
      });
    }
    setImmediate(() => this.flush());
  }
}
