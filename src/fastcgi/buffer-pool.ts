// BufferPool: socket read buffers reused once every view of them was given back, so a long body
// costs a few buffers in turn instead of a fresh one per read that waits for the garbage collector.

/** How many bytes one socket read may bring: the largest record's content (section 3.3) plus its header. */
export const POOL_BLOCK_SIZE = 64 * 1024;

/** Blocks a pool keeps for reuse (1 MiB): enough for several uploads at once; more are left to the garbage collector. */
export const POOL_MAX_FREE = 16;

interface Block {
  /** Holders of a view into the block: the read filling it, and each retained chunk. */
  refs: number;
  readonly buf: Buffer;
}

/**
 * Hands out fixed-size blocks for socket reads. A chunk cut from a block is retain()ed by
 * whoever keeps it past the read and release()d when done with it; a block whose last holder
 * released it is reused. A holder that never releases only costs reuse: its block is left to the
 * garbage collector, as an unpooled buffer would be.
 */
export class BufferPool {
  readonly #free: Block[] = [];
  readonly #blocks = new WeakMap<ArrayBufferLike, Block>();
  readonly #maxFree: number;
  /** Blocks made since the start (reuse shows as a count far below the reads). */
  allocated = 0;

  /** `maxFree`: blocks kept for reuse; more are left to the garbage collector. */
  constructor(maxFree: number) {
    this.#maxFree = maxFree;
  }

  /** A block for the next read, held once (by the read: release it when the read was handled). */
  take(): Buffer {
    const block = this.#free.pop();
    if (block !== undefined) {
      block.refs = 1;
      return block.buf;
    }
    this.allocated++;
    // Not allocUnsafe: its small sizes come from a shared slab, and a block must own its memory.
    const buf = Buffer.allocUnsafeSlow(POOL_BLOCK_SIZE);
    this.#blocks.set(buf.buffer, { refs: 1, buf });
    return buf;
  }

  /** One more holder of `chunk`'s block; a chunk from elsewhere is ignored. */
  retain(chunk: Uint8Array): void {
    const block = this.#blocks.get(chunk.buffer);
    if (block !== undefined) block.refs++;
  }

  /** One holder fewer; the last one returns the block. The chunk must not be read afterwards. */
  release(chunk: Uint8Array): void {
    const block = this.#blocks.get(chunk.buffer);
    if (block === undefined || block.refs <= 0) return;
    if (--block.refs === 0 && this.#free.length < this.#maxFree) this.#free.push(block);
  }

  /** True when `chunk` is a view into one of this pool's blocks. */
  owns(chunk: Uint8Array): boolean {
    return this.#blocks.has(chunk.buffer);
  }
}
