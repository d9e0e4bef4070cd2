// Canonical rows as an async iterable, for programmatic consumers (the Dashly migration, library callers, tests). The
// run goes through the same pipeline as an export into a row spool (row-spool-sink.ts); rows and rejects are handed
// out only once the run has committed, so no row or reject text a later removed copy of its part withholds is ever
// seen, and the counts are final before the first row arrives.

import { rm } from 'node:fs/promises';
import { claimOsTempFolder } from '../fs/temp-folder.js';
import type { TableName } from '../model/canonical-schema.js';
import { RowSpoolSink, type CanonicalRow } from '../sinks/row-spool-sink.js';
import type { RejectEntry } from './record-errors.js';
import { runPipeline, type PipelineOptions } from './run-pipeline.js';

export type { CanonicalRow } from '../sinks/row-spool-sink.js';

export interface CanonicalRowsOptions extends PipelineOptions {
  /** Only these tables' rows (the others are still counted); all by default. */
  readonly tables?: readonly TableName[];
  /**
   * Called with each rejected record (under onError 'skip') in input order among the rows, as they are iterated (after
   * the run committed: a run done again shows none of its first attempt's rejects).
   */
  readonly onReject?: (entry: RejectEntry) => void | Promise<void>;
}

export async function* canonicalRows(options: CanonicalRowsOptions): AsyncGenerator<CanonicalRow> {
  const ownTemp = options.tempDir === undefined;
  const temp = options.tempDir ?? (await claimOsTempFolder('rows'));
  try {
    let spool: RowSpoolSink | null = null;
    await runPipeline(
      { ...options, tempDir: temp },
      () => (spool = new RowSpoolSink(temp, options.tables ? new Set(options.tables) : null, options.onReject ?? null)),
    );
    yield* (spool as unknown as RowSpoolSink).rows();
  } finally {
    if (ownTemp) await rm(temp, { recursive: true, force: true });
  }
}
