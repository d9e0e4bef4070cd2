// The contract between the pipeline and where its rows go (after dlt's load stage: every destination takes the same
// calls). A sink says what it wants from each segment (encoded fragments of one format, or rows), is opened once,
// receives each segment's output table by table in input order, the derived tables' rows after all input, and the
// rejected records; then it is committed (everything appears at once) or aborted (nothing appears, earlier outputs
// stay). A run that must be done again (a removed copy of a part came after another copy went out) aborts its sink
// and asks the factory for a fresh one. Every row a sink receives has already been through redaction.

import type { Row, TableDef, TableName } from '../model/canonical-schema.js';
import type { RejectEntry } from '../pipeline/record-errors.js';
import type { PrivacySettings } from '../redact/privacy-rule.js';
import type { CodecName } from '../writers/parquet/parquet-metadata.js';
import type { EncodedFragment, FormatName } from '../writers/writer.js';

/** Fragments of a format (a Parquet codec other than the default travels with it: workers must encode with it). */
export type SinkInput =
  { readonly kind: 'fragments'; readonly format: FormatName; readonly csvRaw: boolean; readonly codec?: CodecName } | { readonly kind: 'rows' };

export interface Sink {
  /** What each segment must produce: fragments of a format (encoded on the worker threads), or rows. */
  readonly input: SinkInput;
  /**
   * Before any data: every table of the run, record-level tables first, then derived ones, as the definitions their
   * rows follow (a mapping's custom tables are among them, beside the canonical ones).
   */
  open(tables: readonly TableDef[]): Promise<void>;
  /** One segment's encoded rows of one table (fragment sinks only), in input order. */
  writeFragment(table: TableName, fragment: EncodedFragment): Promise<void>;
  /** Rows of one table: a segment's rows (row sinks), or derived rows (every sink), in order. */
  writeRows(table: TableName, rows: readonly Row[]): Promise<void>;
  /** A record that did not become rows (its text already withheld where it must be). */
  reject(entry: RejectEntry): Promise<void>;
  /**
   * Everything is applied: finish the output, hand the rows each table holds to `check` (the pipeline's
   * reconciliation, which throws on a mismatch), and only then make the output appear. `removed`: the run's
   * removed keys (a sink that keeps earlier runs' rows erases them there).
   */
  commit(check: (rows: ReadonlyMap<TableName, number>) => void, removed: RemovedKeys): Promise<void>;
  /** Drop everything this sink wrote; safe after a failure and twice. */
  abort(): Promise<void>;
}

/**
 * The keys with a removed copy in this run, as the removal ledger (src/redact/removal-ledger.ts) decided them:
 * also those of removed records that became no row (rejected). A sink that holds earlier copies of rows (a
 * dataset) erases those keys there.
 */
export interface RemovedKeys {
  forEachRemoved(fn: (h1: number, h2: number) => void): void;
}

/**
 * Makes the sink of one attempt of a run (a run done again gets a fresh one), given the attempt's privacy settings:
 * a repeated attempt's forget list holds the conversations found a forgotten person's (a dataset remembers them).
 */
export type SinkFactory = (privacy: PrivacySettings | null) => Sink | Promise<Sink>;
