// What JSONL and CSV share: an encoder that writes each row as one text record, straight as UTF-8 into a reused
// scratch buffer (no string per row, which cost a rope, its flattening and the garbage) and copied out once per
// fragment; and a writer that appends fragments to an AtomicFile. A refused fragment poisons the writer so that a
// file missing rows can never be closed as if whole. Subclasses only say how a row's cells become bytes.

import type { Row, TableDef } from '../model/canonical-schema.js';
import type { AtomicFile } from './atomic-file.js';
import { ByteBuffer, readCells, typeCode } from './column-values.js';
import { encodeInOneStep, type EncodedFragment, type TableEncoder, type TableWriter } from './writer.js';

export abstract class TextRowEncoder implements TableEncoder {
  protected readonly types: number[];
  private readonly names: string[];
  /** The row being encoded, one cell per column. */
  private readonly cells: unknown[];
  /** Reused between fragments: fresh memory costs more to touch than the text costs to encode. */
  private readonly out = new ByteBuffer(1 << 20);

  constructor(protected readonly table: TableDef) {
    this.types = table.columns.map(typeCode);
    this.names = table.columns.map((c) => c.name);
    this.cells = new Array<unknown>(this.names.length).fill(null);
  }

  /**
   * Appends one row as one text record, line end included, straight as UTF-8 (no string per row to build and
   * encode again). Throws on a value the column cannot hold, possibly after appending part of the record.
   */
  protected abstract encodeRow(cells: readonly unknown[], rowIndex: number, out: ByteBuffer): void;

  /** Rows added since the last take. */
  private added = 0;

  encode(rows: readonly Row[], firstRow: number): EncodedFragment {
    return encodeInOneStep(this, rows, firstRow);
  }

  add(rows: readonly Row[], firstRow: number): void {
    const { out, cells, names } = this;
    try {
      for (let i = 0; i < rows.length; i++) {
        readCells(rows[i]!, names, cells, 0);
        this.encodeRow(cells, firstRow + i, out);
        this.added++;
      }
    } finally {
      cells.fill(null); // hold no row between calls
    }
  }

  take(): EncodedFragment {
    const { out } = this;
    // a copy the size of the text: it may be transferred to another thread while the scratch is reused
    const bytes = new Uint8Array(out.length);
    bytes.set(out.buf.subarray(0, out.length));
    const rows = this.added;
    this.discard();
    return { rows, bytes, columns: null };
  }

  discard(): void {
    this.out.length = 0;
    this.added = 0;
  }
}

export class TextTableWriter implements TableWriter {
  /** Rows accepted so far; also the 0-based index of the next row, for error positions. */
  private rows = 0;
  private failure: unknown;

  constructor(
    private readonly encoder: TableEncoder,
    private readonly file: AtomicFile,
    /** What a fragment's bytes become in the file (a gzip member for gzipped files); as they are by default. */
    private readonly pack: (bytes: Uint8Array) => Uint8Array = (bytes) => bytes,
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
      if (fragment.bytes.length) await this.file.write(this.pack(fragment.bytes));
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
