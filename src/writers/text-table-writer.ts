// What JSONL and CSV share: an encoder that turns rows into one text record each, collected as UTF-8 in a reused
// scratch buffer and copied out once per fragment; and a writer that appends fragments to an AtomicFile. A refused
// fragment poisons the writer so that a file missing rows can never be closed as if whole. Subclasses only say how
// a row becomes text.

import type { Row, TableDef } from '../model/canonical-schema.js';
import type { AtomicFile } from './atomic-file.js';
import { typeCode } from './column-values.js';
import type { EncodedFragment, TableEncoder, TableWriter } from './writer.js';

export abstract class TextRowEncoder implements TableEncoder {
  protected readonly types: number[];
  /** Reused between fragments: fresh memory costs more to touch than the text costs to encode. */
  private scratch = Buffer.allocUnsafe(1 << 20);

  constructor(protected readonly table: TableDef) {
    this.types = table.columns.map(typeCode);
  }

  /** One row as one text record, line end included. Throws on a value the column cannot hold. */
  protected abstract encodeRow(row: Row, rowIndex: number): string;

  encode(rows: readonly Row[], firstRow: number): EncodedFragment {
    let buf = this.scratch;
    let len = 0;
    for (let i = 0; i < rows.length; i++) {
      const text = this.encodeRow(rows[i]!, firstRow + i);
      const worst = text.length * 3; // a UTF-16 code unit is at most 3 UTF-8 bytes
      if (len + worst > buf.length) {
        const next = Buffer.allocUnsafe(Math.max(buf.length * 2, len + worst));
        buf.copy(next, 0, 0, len);
        buf = this.scratch = next;
      }
      len += buf.write(text, len, 'utf8');
    }
    // a copy the size of the text: it may be transferred to another thread while the scratch is reused
    const bytes = new Uint8Array(len);
    bytes.set(buf.subarray(0, len));
    return { rows: rows.length, bytes, columns: null };
  }
}

export class TextTableWriter implements TableWriter {
  /** Rows accepted so far; also the 0-based index of the next row, for error positions. */
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
      this.failure = err; // earlier batches are written: the file must not be closed as if whole
      throw err;
    }
    await this.writeFragment(fragment);
  }

  async writeFragment(fragment: EncodedFragment): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    try {
      if (fragment.bytes.length) await this.file.write(fragment.bytes);
      this.rows += fragment.rows;
    } catch (err) {
      this.failure = err;
      throw err;
    }
  }

  async close(): Promise<{ bytes: number; rows: number }> {
    if (this.failure !== undefined) throw this.failure;
    const bytes = await this.file.commit();
    return { bytes, rows: this.rows };
  }

  abort(): Promise<void> {
    return this.file.abort();
  }
}
