// JSONL and CSV files gzipped as they are written (`--compression gzip` for a dataset): each fragment is one gzip
// member, and a file of concatenated members is one valid gzip stream (RFC 1952), which gunzip, DuckDB, Spark and
// Node read as the whole text. The rows' bytes are those of the format's own encoder.

import { gzipSync } from 'node:zlib';
import { AtomicFile } from './atomic-file.js';
import { csvHeader } from './csv-writer.js';
import { TextTableWriter } from './text-table-writer.js';
import type { TableWriter, WriterDef, WriterOptions } from './writer.js';

/** `def` writing gzipped files (extension + .gz) when `on`; `def` itself otherwise. Text formats only. */
export function gzipped(def: WriterDef, on: boolean): WriterDef {
  if (!on) return def;
  if (def.format === 'parquet') throw new Error('internal: Parquet compresses its pages itself');
  return {
    format: def.format,
    extension: `${def.extension}.gz`,
    encoder: (o) => def.encoder(o),
    async open(options: WriterOptions): Promise<TableWriter> {
      const file = await AtomicFile.create(options.path);
      if (def.format === 'csv') {
        try {
          await file.write(gzipMember(Buffer.from(csvHeader(options.table))));
        } catch (err) {
          await file.abort();
          throw err;
        }
      }
      return new TextTableWriter(def.encoder(options), file, gzipMember);
    },
  };
}

function gzipMember(bytes: Uint8Array): Uint8Array {
  return gzipSync(bytes, { level: 6 });
}
