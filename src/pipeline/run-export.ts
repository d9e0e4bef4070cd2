// `chatport export` as a library call: the pipeline (run-pipeline.ts) into one file per table (table-files-sink.ts).
// Outputs and rejects are written under temporary names and renamed only after the whole run succeeded and
// reconciled; any failure or signal removes the temporary files and leaves earlier outputs untouched.

import { writerFor } from '../writers/registry.js';
import type { FormatName, WriterDef } from '../writers/writer.js';
import { TableFilesSink } from '../sinks/table-files-sink.js';
import { runPipeline, type PipelineOptions } from './run-pipeline.js';
import { RunStats } from './run-stats.js';

export interface ExportOptions extends PipelineOptions {
  readonly format: FormatName;
  readonly outDir: string;
  readonly csvRaw: boolean;
  /** Replaces the format's writer (tests use a deliberately slow one to prove backpressure). */
  readonly writerDef?: WriterDef;
}

export async function runExport(options: ExportOptions): Promise<RunStats> {
  const stats = options.stats ?? new RunStats();
  const writerDef = options.writerDef ?? writerFor(options.format);
  let sink: TableFilesSink | null = null;
  await runPipeline({ ...options, stats }, () => (sink = new TableFilesSink({ outDir: options.outDir, writerDef, csvRaw: options.csvRaw, keepRejects: options.onError === 'skip' })));
  stats.rejectsFile = (sink as TableFilesSink | null)?.rejectsPath ?? null;
  return stats;
}
