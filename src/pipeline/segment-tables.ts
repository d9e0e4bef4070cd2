// Where a segment's rows go, table by table: kept as rows (validate, migrate, the library's row stream), or fed to the
// sink's encoder in small batches as they are made (export), so that a segment of thousands of records never holds
// all of its rows at once. Rows that live only until their batch is encoded die young, which is what the garbage
// collector is cheap for (docs/performance.md); the fragment's bytes are the same as encoding them all at the end.

import { ChatportError } from '../errors.js';
import type { Row } from '../model/canonical-schema.js';
import type { EncodedFragment, TableEncoder } from '../writers/writer.js';

/** Rows a table collects before they go to its encoder. */
const ENCODE_BATCH_ROWS = 256;

/** A table's first encoding failure, with the segment index of the record whose row failed. */
export interface EncodingFailure {
  readonly table: number;
  readonly error: ChatportError;
  readonly record: number;
}

export interface SegmentTablesOutcome {
  /** Per table: how many rows it was given. */
  readonly counts: readonly number[];
  /** Per table, output kind `rows`: its rows (null for a table that got none). */
  readonly rows: readonly (Row[] | null)[];
  /** Per table, output kind `fragments`: its fragment (null for a table that got none, or after a failure). */
  readonly fragments: readonly (EncodedFragment | null)[];
  /** The failure of the first table (in table order) whose encoder refused a row, as encoding them in turn would find. */
  readonly failed: EncodingFailure | null;
}

export class SegmentTables {
  private readonly pending: Row[][];
  /** Per table: the segment index of the record of each row given so far (to place an encoding error). */
  private readonly recordOf: number[][];
  private readonly counts: number[];
  private readonly failures: (EncodingFailure | null)[];

  constructor(
    /** The tables' names, in the mapping's order (the index every other argument uses). */
    private readonly names: readonly string[],
    private readonly output: { readonly kind: 'rows' } | { readonly kind: 'fragments'; readonly encoders: ReadonlyMap<string, TableEncoder> },
  ) {
    const tables = names.length;
    this.pending = Array.from({ length: tables }, () => []);
    this.recordOf = Array.from({ length: tables }, () => []);
    this.counts = new Array<number>(tables).fill(0);
    this.failures = new Array<EncodingFailure | null>(tables).fill(null);
  }

  push(table: number, row: Row, record: number): void {
    this.pending[table]!.push(row);
    this.recordOf[table]!.push(record);
    this.counts[table]!++;
    if (this.output.kind === 'fragments' && this.pending[table]!.length >= ENCODE_BATCH_ROWS) this.encodePending(table);
  }

  finish(): SegmentTablesOutcome {
    const n = this.pending.length;
    const rows: (Row[] | null)[] = new Array<Row[] | null>(n).fill(null);
    const fragments: (EncodedFragment | null)[] = new Array<EncodedFragment | null>(n).fill(null);
    for (let t = 0; t < n; t++) {
      if (this.counts[t] === 0) continue;
      if (this.output.kind === 'rows') {
        rows[t] = this.pending[t]!;
        continue;
      }
      this.encodePending(t);
      const encoder = this.encoderOf(t);
      if (this.failures[t]) encoder.discard();
      else fragments[t] = encoder.take();
    }
    return { counts: this.counts, rows, fragments, failed: this.failures.find((f) => f !== null) ?? null };
  }

  private encoderOf(table: number): TableEncoder {
    if (this.output.kind !== 'fragments') throw new Error('internal: rows are not encoded');
    return this.output.encoders.get(this.names[table]!)!;
  }

  private encodePending(table: number): void {
    const rows = this.pending[table]!;
    if (rows.length === 0) return;
    this.pending[table] = [];
    if (this.failures[table]) return; // a failed table's fragment is never taken
    const first = this.counts[table]! - rows.length;
    try {
      this.encoderOf(table).add(rows, first);
    } catch (e) {
      if (!(e instanceof ChatportError)) throw e;
      const row = e.position.recordIndex ?? first;
      this.failures[table] = { table, error: e, record: this.recordOf[table]![row]! };
    }
  }
}
