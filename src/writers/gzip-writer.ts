// JSONL and CSV files gzipped as they are written (`--compression gzip` for a dataset): each fragment is one gzip
// member, and a file of concatenated members is one valid gzip stream (RFC 1952), which gunzip, DuckDB, Spark and
// Node read as the whole text. The rows' bytes are those of the format's own encoder.

import { gzipSync } from 'node:zlib';
import type { Row } from '../model/canonical-schema.js';
import { AtomicFile } from './atomic-file.js';
import { csvHeader } from './csv-writer.js';
import type { EncodedFragment, TableEncoder, TableWriter, WriterDef, WriterOptions } from './writer.js';

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
      const writer = new GzipTableWriter(def.encoder(options), file);
      if (def.format === 'csv') await writer.writeBytes(Buffer.from(csvHeader(options.table)), 0);
      return writer;
    },
  };
}

class GzipTableWriter implements TableWriter {
  private rows = 0;
  private failure: unknown;

  constructor(
    private readonly encoder: TableEncoder,
    private readonly file: AtomicFile,
  ) {}

  async write(batch: readonly Row[]): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    let fragment: EncodedFragment;
    try {
      fragment = this.encoder.encode(batch, this.rows);
    } catch (err) {
      this.failure = err;
      throw err;
    }
    await this.writeFragment(fragment);
  }

  writeFragment(fragment: EncodedFragment): Promise<void> {
    return this.writeBytes(fragment.bytes, fragment.rows);
  }

  async writeBytes(bytes: Uint8Array, rows: number): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    try {
      if (bytes.length) await this.file.write(gzipSync(bytes, { level: 6 }));
      this.rows += rows;
    } catch (err) {
      this.failure = err;
      throw err;
    }
  }

  async close(): Promise<{ bytes: number; rows: number }> {
    if (this.failure !== undefined) throw this.failure;
    return { bytes: await this.file.commit(), rows: this.rows };
  }

  abort(): Promise<void> {
    return this.file.abort();
  }
}
