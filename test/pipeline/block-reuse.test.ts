// JSONL blocks are read into slabs that are used again once their segment is applied (readers/block-pool.ts). A slab
// given back too early would be overwritten by the next block while its records are still parsed: every record
// must come out with its own text, in order, with workers and without. The pool itself: a slab comes back only
// from a block that is its view from the start, and a block larger than a slab gets memory of its own.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadMapping } from '../../src/mapping/load-mapping.js';
import { runExport } from '../../src/pipeline/run-export.js';
import { RunStats } from '../../src/pipeline/run-stats.js';
import { BlockPool, SLAB_BYTES, isSlab } from '../../src/readers/block-pool.js';

const RECORDS = 30_000;

/** Parts whose text differs in every record, so a block overwritten by another shows in the output. */
function* parts(): Generator<Buffer> {
  let chunk = '';
  for (let i = 0; i < RECORDS; i++) {
    chunk += `${JSON.stringify({ id: i + 1, created: 1684923942 + i, conversation: i % 700, type: 'reply_user', body: `part ${i} `.repeat(1 + (i % 40)), from: 7 })}\n`;
    if (chunk.length > 64 * 1024) {
      yield Buffer.from(chunk);
      chunk = '';
    }
  }
  if (chunk) yield Buffer.from(chunk);
}

describe('line blocks in reused slabs', () => {
  it.each([0, 2])(
    'every record keeps its own text when slabs go round (%i workers)',
    async (workers) => {
      const out = await mkdtemp(path.join(tmpdir(), 'chatport-slabs-'));
      try {
        await runExport({
          mapping: await loadMapping('dashly'),
          sources: [{ name: 'parts.jsonl', path: '/unused' }],
          format: 'jsonl',
          outDir: out,
          onError: 'fail',
          csvRaw: false,
          stats: new RunStats(),
          workers,
          open: () => Readable.from(parts()),
        });
        const lines = (await readFile(path.join(out, 'messages.jsonl'), 'utf8')).trimEnd().split('\n');
        expect(lines).toHaveLength(RECORDS);
        lines.forEach((line, i) => {
          const row = JSON.parse(line) as { message_id: string; text: string };
          if (row.message_id !== String(i + 1) || row.text !== `part ${i} `.repeat(1 + (i % 40))) expect({ line: i, row }).toBe('its own record');
        });
      } finally {
        await rm(out, { recursive: true, force: true });
      }
    },
    120_000,
  );

  it('takes a slab back only from a block that starts it, and gives a block larger than a slab its own memory', () => {
    const pool = new BlockPool();
    const a = pool.take(1000);
    expect(isSlab(a)).toBe(true);
    pool.give(a.subarray(10)); // not from the slab's start: not taken back
    const b = pool.take(10);
    expect(b.buffer).not.toBe(a.buffer);
    pool.give(a);
    expect(pool.take(20).buffer).toBe(a.buffer);
    const big = pool.take(SLAB_BYTES + 1);
    expect(isSlab(big)).toBe(false);
    expect(big.length).toBe(SLAB_BYTES + 1);
  });
});
