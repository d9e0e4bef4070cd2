// `chatport export` as a library call: the pipeline (run-pipeline.ts) into one file per table (table-files-sink.ts).
// The output directory is an OutputSet: under the lock on --out, tables, rejects and every temporary file of the run
// (spills, the copy of standard input) live in the run's folder inside --out, and the whole set is committed at once
// only after the run succeeded and reconciled; any failure or signal removes that folder and leaves earlier outputs
// untouched.

import { isCanonicalTable } from '../model/canonical-schema.js';
import { OutputSet, type OutputSetOptions } from '../writers/output-set.js';
import { writerFor } from '../writers/registry.js';
import type { FormatName, WriterDef } from '../writers/writer.js';
import { TableFilesSink } from '../sinks/table-files-sink.js';
import { runPipeline, type PipelineOptions } from './run-pipeline.js';
import { RunStats } from './run-stats.js';

export interface ExportOptions extends Omit<PipelineOptions, 'tempDir' | 'checkpoint'> {
  readonly format: FormatName;
  readonly outDir: string;
  readonly csvRaw: boolean;
  /** Replaces the format's writer (tests use a deliberately slow one to prove backpressure). */
  readonly writerDef?: WriterDef;
  /** Lock and file operations of the output directory (tests). */
  readonly outputSet?: OutputSetOptions;
}

export async function runExport(options: ExportOptions): Promise<RunStats> {
  const stats = options.stats ?? new RunStats();
  const writerDef = options.writerDef ?? writerFor(options.format);
  const customTables = options.mapping.outputTables.filter((t) => !isCanonicalTable(t.name)).map((t) => t.name);
  const outputs = await OutputSet.open(options.outDir, { ...options.outputSet, customTables });
  try {
    let sink: TableFilesSink | null = null;
    await runPipeline(
      { ...options, stats, tempDir: outputs.scratchDir, checkpoint: () => outputs.assertHeld() },
      () => (sink = new TableFilesSink({ outputs, writerDef, csvRaw: options.csvRaw, keepRejects: options.onError === 'skip' })),
    );
    stats.rejectsFile = (sink as TableFilesSink | null)?.rejectsPath ?? null;
    return stats;
  } finally {
    // committed: nothing left to do; otherwise the run's folder goes and earlier outputs stay
    await outputs.abort();
  }
}
