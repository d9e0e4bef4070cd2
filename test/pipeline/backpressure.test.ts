// A slow disk slows the reader: while the writer is busy, chatport reads no further than a few batches ahead,
// so memory does not grow with the input however slow the output is.

import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadMapping } from '../../src/mapping/load-mapping.js';
import { runExport } from '../../src/pipeline/run-export.js';
import { RunStats } from '../../src/pipeline/run-stats.js';
import type { Row } from '../../src/model/canonical-schema.js';
import type { TableWriter, WriterDef } from '../../src/writers/writer.js';

const RECORDS = 60_000;

function* jsonl(): Generator<Buffer> {
  let chunk = '';
  for (let i = 0; i < RECORDS; i++) {
    chunk += `{"id":${i + 1},"created":${1684923942 + i},"conversation":${i % 500},"type":"reply_user","body":"text ${i}","from":7}\n`;
    if (chunk.length > 64 * 1024) {
      yield Buffer.from(chunk);
      chunk = '';
    }
  }
  if (chunk) yield Buffer.from(chunk);
}

describe('backpressure', () => {
  it('reads at most a few batches ahead of a slow writer', async () => {
    const stats = new RunStats();
    let accepted = 0;
    let maxAhead = 0;
    const slow: WriterDef = {
      format: 'jsonl',
      extension: '.jsonl',
      async open({ table }): Promise<TableWriter> {
        let rows = 0;
        return {
          async write(batch: readonly Row[]) {
            if (table.name === 'messages') {
              maxAhead = Math.max(maxAhead, stats.recordsRead - accepted);
              await new Promise((r) => setTimeout(r, 15)); // a slow disk
              accepted += batch.length;
            }
            rows += batch.length;
          },
          async close() {
            return { bytes: 0, rows };
          },
          async abort() {},
        };
      },
    };
    await runExport({
      mapping: await loadMapping('dashly'),
      sources: [{ name: 'parts.jsonl', path: '/unused' }],
      format: 'jsonl',
      outDir: '/unused',
      onError: 'fail',
      csvRaw: false,
      stats,
      writerDef: slow,
      open: () => Readable.from(jsonl()),
    });
    expect(accepted).toBe(RECORDS);
    // one 4096-row batch being written, one filling, and one input chunk in flight (~600 records of 64 KiB)
    expect(maxAhead).toBeLessThan(4096 * 2 + 2000);
    expect(maxAhead).toBeGreaterThan(0);
  });
});
