// The contract every output format implements (after dlt): open a table file, write batches of canonical rows,
// close (footer, flush, atomic rename) or abort (remove the temporary file, leave earlier outputs untouched).

import type { Row, TableDef } from '../model/canonical-schema.js';

export type FormatName = 'jsonl' | 'csv' | 'parquet';

export interface WriterOptions {
  readonly table: TableDef;
  /** Final path, e.g. out/messages.parquet. The writer writes a temporary sibling and renames on close. */
  readonly path: string;
  /** CSV only: leave cells that start with = + - @ TAB CR as they are (machine loads). */
  readonly csvRaw?: boolean;
}

export interface TableWriter {
  /** Accept a batch of rows (objects with the table's columns). Resolves when the batch may be reused (backpressure). */
  write(rows: readonly Row[]): Promise<void>;
  /** Finish the file and rename it into place. Returns the bytes written. */
  close(): Promise<{ bytes: number; rows: number }>;
  /** Drop the temporary file. Safe to call after a failed write or twice. */
  abort(): Promise<void>;
}

export interface WriterDef {
  readonly format: FormatName;
  readonly extension: string;
  open(options: WriterOptions): Promise<TableWriter>;
}
