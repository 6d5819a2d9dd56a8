// SpoolWriter: writes a form's uploaded files to disk in arrival order and gives each body chunk
// back once every byte busboy cut from it is written, so the read buffers it came in are reused.
import type { Readable } from "node:stream";
import { open, type FileHandle } from "node:fs/promises";

/** File bytes waiting for the disk past which the body is read no further (a few socket reads). */
export const SPOOL_HIGH_WATER = 256 * 1024;

/** Views written by one write, all of one file, in order. */
interface Batch {
  readonly handle: Promise<FileHandle>;
  readonly views: Uint8Array[];
  bytes: number;
  /** Set when a write of the file failed: its later batches are dropped. */
  readonly file: { error: Error | null; size: number };
}

/**
 * One per form. Bytes are counted as busboy hands them out (`enqueued`) and as they reach the
 * disk (`written`), both in one order: a chunk held at mark M is given back once `written` >= M.
 */
export class SpoolWriter {
  #enqueued = 0;
  #written = 0;
  /** One write at a time, in arrival order: `written` then covers a prefix of what was enqueued. */
  #tail: Promise<void> = Promise.resolve();
  /** The batch not yet started, which new views of the same file join. */
  #open: Batch | null = null;
  readonly #held: Array<{ chunk: Uint8Array; upTo: number }> = [];
  readonly #release: ((chunk: Uint8Array) => void) | undefined;
  #caughtUp: (() => void) | null = null;

  constructor(release?: (chunk: Uint8Array) => void) {
    this.#release = release;
  }

  /** More file bytes wait for the disk than SPOOL_HIGH_WATER. */
  get behind(): boolean {
    return this.#enqueued - this.#written > SPOOL_HIGH_WATER;
  }

  /** Resolves once the disk is no longer behind (see `behind`). */
  caughtUp(): Promise<void> {
    if (!this.behind) return Promise.resolve();
    return new Promise((resolve) => (this.#caughtUp = resolve));
  }

  /**
   * Writes `stream` to a new file at `path` (mode 0600, never an existing file); resolves with its
   * size once it is closed, rejects on the stream's error or the disk's. Listens at once, so no
   * byte is missed by the count. `done` runs once the file is settled either way.
   */
  spool(stream: Readable, path: Promise<string>, done: () => void): Promise<number> {
    const handle = path.then((at) => open(at, "wx", 0o600));
    // Reported by the first write, or by the close below.
    handle.catch(() => {});
    const file = { error: null as Error | null, size: 0 };
    return new Promise<number>((resolve, reject) => {
      let settled = false;
      const settle = (error: Error | null) => {
        if (settled) return;
        settled = true;
        stream.off("data", onData);
        file.error ??= error;
        // After every write of the file queued so far, so the file is whole before it is reported.
        this.#tail = this.#tail.then(async () => {
          await handle.then((h) => h.close()).catch((closeError: Error) => void (file.error ??= closeError));
          done();
          if (file.error !== null) reject(file.error);
          else resolve(file.size);
        });
      };
      const onData = (view: Uint8Array) => {
        this.#enqueued += view.byteLength;
        const batch = this.#open;
        if (batch !== null && batch.file === file) {
          batch.views.push(view);
          batch.bytes += view.byteLength;
          return;
        }
        const next: Batch = { handle, views: [view], bytes: view.byteLength, file };
        this.#open = next;
        this.#tail = this.#tail
          .then(() => this.#write(next))
          .catch((error: Error) => {
            file.error ??= error;
            // A failed write fails the form at once (the caller destroys the streams).
            settle(error);
          });
      };
      stream.on("data", onData);
      stream.once("end", () => settle(null));
      stream.once("error", (error: Error) => settle(error));
    });
  }

  /** `chunk` was consumed by the parser: given back once every file byte cut from it is written. */
  hold(chunk: Uint8Array, streams: Iterable<Readable>): void {
    if (this.#release === undefined) return;
    // Views still queued in a file stream were cut from this chunk or earlier ones, and are counted later.
    let upTo = this.#enqueued;
    for (const stream of streams) upTo += stream.readableLength;
    this.#held.push({ chunk, upTo });
    this.#giveBack();
  }

  async #write(batch: Batch): Promise<void> {
    if (this.#open === batch) this.#open = null;
    if (batch.file.error !== null) return;
    const handle = await batch.handle;
    let views = batch.views;
    let left = batch.bytes;
    // writev may write less than asked (a full disk shows as an error on the next call).
    while (left > 0) {
      const { bytesWritten } = await handle.writev(views);
      left -= bytesWritten;
      if (left > 0) views = skip(views, bytesWritten);
    }
    batch.file.size += batch.bytes;
    this.#written += batch.bytes;
    this.#giveBack();
    if (this.#caughtUp !== null && !this.behind) {
      const resolve = this.#caughtUp;
      this.#caughtUp = null;
      resolve();
    }
  }

  #giveBack(): void {
    const held = this.#held;
    while (held.length > 0 && held[0].upTo <= this.#written) this.#release!(held.shift()!.chunk);
  }
}

/** `views` without their first `bytes` bytes. */
function skip(views: Uint8Array[], bytes: number): Uint8Array[] {
  let i = 0;
  while (bytes >= views[i].byteLength) bytes -= views[i++].byteLength;
  return [views[i].subarray(bytes), ...views.slice(i + 1)];
}
