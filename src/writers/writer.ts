// The contract every output format implements (after dlt): an encoder turns a batch of canonical rows into a
// self-contained encoded fragment (pure, so it runs in worker threads), and a writer opens a table file, appends
// fragments in order, closes (footer, flush, atomic rename) or aborts (removes the temporary file, leaves earlier
// outputs untouched). Encoding apart from writing is what lets export use every core with identical output bytes.

import type { Row, TableDef } from '../model/canonical-schema.js';
import type { CodecName } from './parquet/parquet-metadata.js';

export type FormatName = 'jsonl' | 'csv' | 'parquet';

export interface EncoderOptions {
  readonly table: TableDef;
  /** CSV only: leave cells that start with = + - @ TAB CR as they are (machine loads). */
  readonly csvRaw?: boolean;
}

export interface WriterOptions extends EncoderOptions {
  /** Final path, e.g. out/messages.parquet. The writer writes a temporary sibling and renames on close. */
  readonly path: string;
}

/** One column's pages inside a Parquet fragment's bytes. */
export interface FragmentColumn {
  readonly offset: number;
  readonly length: number;
  readonly numValues: number;
  readonly nullCount: number;
  readonly uncompressedSize: number;
  /** Statistics: numbers for INT64 and BOOLEAN (0/1), the value's bytes for BYTE_ARRAY columns. */
  readonly min: number | bigint | Uint8Array | undefined;
  readonly max: number | bigint | Uint8Array | undefined;
  /**
   * Set when the column is in dictionary mode: its bytes are then the fragment's dictionary (`dictEntries` values,
   * PLAIN, `dictBytes` long), each present value's index (u32 LE) and, for an optional column, one definition
   * level byte per row; the writer merges the dictionaries of a row group and encodes the pages.
   */
  readonly dictEntries?: number;
  readonly dictBytes?: number;
}

/**
 * A batch of rows in the output format. Text formats: the rows' bytes. Parquet: each column's finished data
 * pages back to back; the writer groups fragments into row groups. Only plain data: it crosses threads as is.
 */
export interface EncodedFragment {
  readonly rows: number;
  readonly bytes: Uint8Array;
  readonly columns: readonly FragmentColumn[] | null;
}

/**
 * Rows -> fragments. A fragment can be built in steps (`add` several times, then `take`) so that its rows need not
 * all be held until it is encoded: the same rows give the same bytes whether added at once or in steps.
 */
export interface TableEncoder {
  /** Encodes rows; throws a ChatportError naming the row (`firstRow` + its index) for a value the column cannot hold. */
  encode(rows: readonly Row[], firstRow: number): EncodedFragment;
  /** Adds rows to the fragment being built; throws as `encode` does (then call `discard`). */
  add(rows: readonly Row[], firstRow: number): void;
  /** The fragment of every row added since the last take or discard; the encoder is then empty. */
  take(): EncodedFragment;
  /** Drops the rows added since the last take (after a failed add). */
  discard(): void;
}

export interface TableWriter {
  /** Accept a batch of rows: encoded here, then appended. Resolves when the batch may be reused (backpressure). */
  write(rows: readonly Row[]): Promise<void>;
  /** Append a fragment made by this format's encoder. Resolves when more may be sent (backpressure). */
  writeFragment(fragment: EncodedFragment): Promise<void>;
  /** Finish the file and rename it into place. Returns the bytes written. */
  close(): Promise<{ bytes: number; rows: number }>;
  /** Drop the temporary file. Safe to call after a failed write or twice. */
  abort(): Promise<void>;
}

export interface WriterDef {
  readonly format: FormatName;
  readonly extension: string;
  /** Parquet: the page codec its encoder compresses with (fragments made elsewhere must use the same). */
  readonly codec?: CodecName;
  encoder(options: EncoderOptions): TableEncoder;
  open(options: WriterOptions): Promise<TableWriter>;
}

/** `encode` of an encoder built on add / take / discard: the rows in one step, nothing left behind when one fails. */
export function encodeInOneStep(encoder: TableEncoder, rows: readonly Row[], firstRow: number): EncodedFragment {
  encoder.discard();
  try {
    encoder.add(rows, firstRow);
  } catch (e) {
    encoder.discard();
    throw e;
  }
  return encoder.take();
}
