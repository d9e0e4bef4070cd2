// Memory for the JSONL reader's line blocks, used again once a block's segment is applied. A fresh buffer of a few
// megabytes pays a page fault for every 4 KB on its first touch, which measured several times the cost of the copy
// into it (docs/performance.md); a run cycles through a few slabs instead. A block is a view of a slab from its start,
// so the slab moves to a worker and back with it (segment-pool.ts) and comes back here when its segment is done.

/** A slab holds any block up to this size (a block is ~2 MB of whole lines); a larger one gets a buffer of its own. */
export const SLAB_BYTES = 4 << 20;

/** Slabs kept for reuse: more than the blocks a run has in flight (two per worker, one read, one applied). */
const KEEP_SLABS = 8;

export class BlockPool {
  private readonly free: ArrayBuffer[] = [];

  /** A buffer of `bytes` bytes for a block: a view of a free slab (or a new one) when it fits. */
  take(bytes: number): Buffer {
    if (bytes > SLAB_BYTES) return Buffer.allocUnsafeSlow(bytes);
    const slab = this.free.pop() ?? Buffer.allocUnsafeSlow(SLAB_BYTES).buffer;
    return Buffer.from(slab, 0, bytes);
  }

  /** A block's segment is applied and nothing reads its bytes any more: its slab can hold another block. */
  give(block: Uint8Array): void {
    if (isSlab(block) && this.free.length < KEEP_SLABS) this.free.push(block.buffer as ArrayBuffer);
  }
}

/** Whether a block is a view of a slab: memory no other view shares, so it can be transferred and reused. */
export function isSlab(block: Uint8Array): boolean {
  return block.byteOffset === 0 && block.buffer.byteLength === SLAB_BYTES && block.buffer instanceof ArrayBuffer;
}
