// A slow disk slows the reader: while the writer is busy, chatport reads no further than a few batches ahead,
// so memory does not grow with the input however slow the output is.

import { writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadMapping } from '../../src/mapping/load-mapping.js';
import { runExport } from '../../src/pipeline/run-export.js';
import { RunStats } from '../../src/pipeline/run-stats.js';
import type { Row } from '../../src/model/canonical-schema.js';
import { jsonlWriter } from '../../src/writers/jsonl-writer.js';
import type { EncodedFragment, TableWriter, WriterDef } from '../../src/writers/writer.js';

const RECORDS = 150_000;
let produced = 0;

function* jsonl(): Generator<Buffer> {
  let chunk = '';
  for (let i = 0; i < RECORDS; i++) {
    produced++;
    chunk += `{"id":${i + 1},"created":${1684923942 + i},"conversation":${i % 500},"type":"reply_user","body":"text ${i}","from":7}\n`;
    if (chunk.length > 64 * 1024) {
      yield Buffer.from(chunk);
      chunk = '';
    }
  }
  if (chunk) yield Buffer.from(chunk);
}

describe('backpressure', () => {
  it.each([0, 2])(
    'reads at most a few segments ahead of a slow writer (%i workers)',
    async (workers) => {
      produced = 0;
      const stats = new RunStats();
      let accepted = 0;
      let maxAhead = 0;
      const slow: WriterDef = {
        format: 'jsonl',
        extension: '.jsonl',
        encoder: jsonlWriter.encoder,
        async open({ table, path }): Promise<TableWriter> {
          let rows = 0;
          const slowWrite = async (n: number) => {
            if (table.name === 'messages') {
              maxAhead = Math.max(maxAhead, produced - accepted);
              await new Promise((r) => setTimeout(r, 15)); // a slow disk
              accepted += n;
            }
            rows += n;
          };
          return {
            write: (batch: readonly Row[]) => slowWrite(batch.length),
            writeFragment: (fragment: EncodedFragment) => slowWrite(fragment.rows),
            async close() {
              await writeFile(path, ''); // the output set commits only files that exist
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
        workers,
        open: () => Readable.from(jsonl()),
      });
      expect(accepted).toBe(RECORDS);
      // segments of 4096 records: one being written, those in flight (1 without workers, 2 per worker), one being
      // cut, plus the stream's buffer of 16 chunks of 64 KiB (~640 records each)
      const inFlight = workers === 0 ? 1 : workers * 2;
      expect(maxAhead).toBeLessThan(4096 * (inFlight + 2) + 16 * 700);
      expect(maxAhead).toBeGreaterThan(0);
    },
    60_000,
  );
});
