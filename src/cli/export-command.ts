// `chatport export`: resolves flags into pipeline options, wires signals, progress, the summary and --report.

import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { ChatportError } from '../errors.js';
import { loadMapping } from '../mapping/load-mapping.js';
import { expandInputs } from '../readers/input-sources.js';
import { workersFor } from '../pipeline/export-segments.js';
import { runExport } from '../pipeline/run-export.js';
import { RunStats } from '../pipeline/run-stats.js';
import { startProgress } from '../pipeline/progress.js';
import type { FormatName } from '../writers/writer.js';

export interface ExportArgs {
  from: string;
  input: string[];
  format: FormatName;
  out: string;
  onError: 'fail' | 'skip';
  report?: string;
  quiet: boolean;
  csvRaw: boolean;
  maxRecordMb: number;
  threads: number;
}

export const EXPORT_EXAMPLES: [string, string][] = [
  ['$0 export --from dashly --input samples/dashly/parts.json --format parquet --out out/', 'Dashly parts to Parquet'],
  ['$0 export --from dashly --input "exports/*.jsonl.gz" --format csv --out out/ --on-error skip', 'Many gzip files; bad records go to out/rejects.jsonl'],
  ['cat parts.jsonl | $0 export --from dashly --input - --out out/ --quiet --report run.json', 'From stdin, for cron'],
  ['$0 export --from ./my-vendor.yaml --input export.json --out out/', 'A vendor chatport does not know, through your own mapping'],
];

/** Threads by default: one per core, at most 4 (the main thread's reading and writing caps the gain beyond). */
export function defaultThreads(): number {
  return Math.min(4, availableParallelism());
}

export async function exportCommand(args: ExportArgs): Promise<number> {
  if (!(args.maxRecordMb > 0)) throw new ChatportError('CONFIG_BAD_OPTION', '--max-record-mb must be a positive number', 'cli');
  const workers = workersFor(args.threads);
  const mapping = await loadMapping(args.from);
  // never read this run's own outputs (a second run with --out inside an input directory)
  const sources = await expandInputs(args.input, { dir: args.out, files: args.report ? [args.report] : [] });
  const stats = new RunStats();
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => controller.abort(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = startProgress(stats, process.stderr, !args.quiet);
  const signalled = () => (controller.signal.aborted ? (controller.signal.reason as NodeJS.Signals) : null);
  try {
    await runExport({
      mapping,
      sources,
      format: args.format,
      outDir: args.out,
      onError: args.onError,
      csvRaw: args.csvRaw,
      maxRecordBytes: Math.floor(args.maxRecordMb * 1024 * 1024),
      workers,
      mappingFrom: args.from,
      stats,
      signal: controller.signal,
    });
  } catch (e) {
    const signal = signalled();
    if (signal) {
      // the conventional exit status of a process ended by a signal: 128 + its number
      process.stderr.write(`chatport: RUN_INTERRUPTED: ${signal} received; temporary files removed, earlier outputs in ${args.out} untouched\n`);
      return 128 + (signal === 'SIGTERM' ? 15 : 2);
    }
    throw e;
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (!args.quiet) process.stderr.write(stats.toText() + '\n');
  if (args.report) {
    try {
      await writeFile(args.report, JSON.stringify({ command: 'export', vendor: mapping.vendor, format: args.format, out: args.out, ...stats.toJSON() }, null, 2) + '\n');
    } catch (e) {
      throw new ChatportError('WRITE_IO', `cannot write the report ${args.report}: ${(e as Error).message}`, 'write', { file: args.report });
    }
  }
  return 0;
}
