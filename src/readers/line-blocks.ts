// Cuts a JSONL input's bytes into blocks of whole lines for the export's worker threads, so that the main thread
// does not split records itself: a block ends after its last newline, and what follows waits for the next one.
// In JSONL a newline always ends a record, so each block can be split on its own (record-splitter.ts with
// `start` and `block`) with the same records, positions and problems as the whole input would give. The main
// thread only copies bytes and counts newlines (for the absolute line number each block starts at).

import type { BlockPool } from './block-pool.js';

/** A block of whole lines (the last block may end without a newline). */
export interface LineBlock {
  readonly bytes: Buffer;
  /** Absolute offset of the block's first byte in the (decompressed) input. */
  readonly byteOffset: number;
  /** 1-based line number of the block's first line. */
  readonly line: number;
  /** The input's last block: `endLine` is the line the input ends on. */
  readonly last: boolean;
  readonly endLine: number;
}

/**
 * A line longer than the reader will hold: the rest of the input (from `head` on, then the iterator) goes to the
 * record splitter, which drops an oversize record's bytes as it reads them.
 */
export interface LongLine {
  readonly head: Buffer;
  readonly byteOffset: number;
  readonly line: number;
}

export type BlockItem = { readonly kind: 'block'; readonly block: LineBlock } | { readonly kind: 'long-line'; readonly rest: LongLine };

/**
 * Blocks that end at the first newline after `maxBytes` bytes or `maxLines` lines, whichever comes first (the
 * last block ends where the input ends), each a buffer of its own: from `pool` when given (the caller gives each
 * block back when done with it), else fresh. A partial line of more than `maxLineBytes` ends the blocks with a
 * `long-line` item; the caller reads on from the same iterator.
 */
export async function* lineBlocks(
  chunks: AsyncIterator<Buffer>,
  maxBytes: number,
  maxLines: number,
  maxLineBytes: number,
  pool: BlockPool | null = null,
): AsyncGenerator<BlockItem> {
  /** Bytes of the block being collected: whole chunks, then `tail` bytes of the current one. */
  let parts: Buffer[] = [];
  let size = 0;
  let lines = 0;
  let byteOffset = 0;
  let line = 1;
  /** Bytes since the last newline (the line being read). */
  let lineBytes = 0;
  const join = (list: readonly Buffer[], total: number): Buffer => {
    if (pool === null) return Buffer.concat(list, total);
    const out = pool.take(total);
    let at = 0;
    for (const part of list) at += part.copy(out, at);
    return out;
  };
  const cut = (chunk: Buffer, end: number): LineBlock => {
    parts.push(chunk.subarray(0, end));
    const bytes = join(parts, size + end);
    const block: LineBlock = { bytes, byteOffset, line, last: false, endLine: line + lines };
    byteOffset += bytes.length;
    line += lines;
    parts = [];
    size = 0;
    lines = 0;
    return block;
  };
  for (;;) {
    const next = await chunks.next();
    if (next.done) break;
    let chunk = next.value;
    // newlines found with indexOf (memchr): a JS loop over every byte cost the main thread ~4 ns a byte
    for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) {
      lines++;
      lineBytes = 0;
      if (lines >= maxLines || size + i + 1 >= maxBytes) {
        yield { kind: 'block', block: cut(chunk, i + 1) };
        chunk = chunk.subarray(i + 1);
        i = -1;
      }
    }
    lineBytes += chunk.length - (chunk.lastIndexOf(0x0a) + 1);
    parts.push(chunk);
    size += chunk.length;
    if (lineBytes > maxLineBytes) {
      // give the partial line (and nothing before it) to the record splitter, which drops an oversize record's bytes
      const all = Buffer.concat(parts, size);
      const start = size - lineBytes;
      parts = [];
      size = 0;
      if (start > 0) yield { kind: 'block', block: cut(all, start) };
      yield { kind: 'long-line', rest: { head: Buffer.from(all.subarray(start)), byteOffset, line } };
      return;
    }
  }
  const bytes = join(parts, size);
  yield { kind: 'block', block: { bytes, byteOffset, line, last: true, endLine: line + lines } };
}
