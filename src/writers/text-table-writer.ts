// What JSONL and CSV writers share: rows become one text record each, collected in a LineBuffer and handed to an
// AtomicFile; a refused row poisons the writer so that a file missing rows can never be closed as if whole.
// Subclasses only say how a row becomes text.

import type { Row, TableDef } from '../model/canonical-schema.js';
import type { AtomicFile } from './atomic-file.js';
import { typeCode } from './column-values.js';
import { LineBuffer } from './line-buffer.js';
import type { TableWriter } from './writer.js';

export abstract class TextTableWriter implements TableWriter {
  /** Rows accepted so far; also the 0-based index of the row being encoded, for error positions. */
  protected rows = 0;
  /** Encoded rows wait here until a chunk is full; they are our bytes, so the caller may reuse its batch at once. */
  private readonly out: LineBuffer;
  private failure: unknown;
  protected readonly types: number[];

  constructor(
    protected readonly table: TableDef,
    protected readonly file: AtomicFile,
  ) {
    this.out = new LineBuffer(file);
    this.types = table.columns.map(typeCode);
  }

  /** One row as one text record, line end included. Throws on a value the column cannot hold. */
  protected abstract encode(row: Row): string;

  async write(batch: readonly Row[]): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    const out = this.out;
    try {
      for (const row of batch) {
        const full = out.add(this.encode(row));
        this.rows++;
        if (full) await out.flush();
      }
    } catch (err) {
      this.failure = err; // rows before the bad one are already buffered: the file must not be closed as if whole
      throw err;
    }
  }

  async close(): Promise<{ bytes: number; rows: number }> {
    if (this.failure !== undefined) throw this.failure;
    await this.out.end();
    const bytes = await this.file.commit();
    return { bytes, rows: this.rows };
  }

  abort(): Promise<void> {
    return this.file.abort();
  }
}
