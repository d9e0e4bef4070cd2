// `chatport export`: its options, and the run from validated options to the pipeline with progress, the summary
// and the --report details. Signals, error lines and writing the report are run-command.ts's.

import { availableParallelism } from 'node:os';
import path from 'node:path';
import { KNOWN_VENDORS, loadMapping } from '../mapping/load-mapping.js';
import type { CompiledMapping } from '../mapping/compile-mapping.js';
import { TABLE_NAMES } from '../model/canonical-schema.js';
import { expandInputs } from '../readers/input-sources.js';
import { workersFor } from '../pipeline/run-pipeline.js';
import { runExport } from '../pipeline/run-export.js';
import { RunStats } from '../pipeline/run-stats.js';
import { startProgress } from '../pipeline/progress.js';
import { WRITERS } from '../writers/registry.js';
import { parquetWriterWith } from '../writers/parquet/parquet-writer.js';
import { ChatportError } from '../errors.js';
import { runDatasetExport } from '../datasets/run-dataset.js';
import { datasetReport, datasetText } from '../datasets/dataset-summary.js';
import type { DatasetResult } from '../sinks/dataset-sink.js';
import { CHATPORT_VERSION, mappingFileGuard, type CommandRun, type RunContext } from './run-command.js';
import type { OptionSpec, OptionValues } from './option-spec.js';
import { forgetRequestOf, PRIVACY_OPTIONS } from './privacy-options.js';
import { privacySettingsFrom, withRunForget } from '../redact/privacy-rule.js';
import type { ForgetResult } from '../redact/forget-dataset.js';
import { forgetText } from './forget-command.js';
import { MAX_SHARDS, shardFrom } from '../pipeline/shard-filter.js';

/** Threads by default: one per core, at most 4 (the main thread's reading and writing caps the gain beyond). */
export function defaultThreads(): number {
  return Math.min(4, availableParallelism());
}

export const EXPORT_OPTIONS = {
  from: { kind: 'string', required: true, describe: `Vendor id (${Object.keys(KNOWN_VENDORS).join(', ')}) or a path to a mapping file` },
  input: {
    kind: 'list',
    alias: 'i',
    required: true,
    describe:
      'Input files, globs, directories (their *.json, *.jsonl, *.ndjson files, gzipped or not, at any depth; hidden entries, --out and --report skipped), or - for stdin (.gz is decompressed); repeat or list several',
  },
  format: { kind: 'choice', alias: 'f', choices: ['jsonl', 'csv', 'parquet'], default: 'jsonl', describe: 'Output format' },
  out: { kind: 'string', alias: 'o', describe: 'Output directory (created if missing): its table files are replaced by this run. Give --out or --dataset' },
  dataset: {
    kind: 'string',
    describe:
      'Merge the run into a dataset directory that earlier runs built (created if missing): day partitions, one row per key, removed parts erased from earlier files, committed atomically (docs/datasets.md)',
  },
  compression: {
    kind: 'choice',
    choices: ['snappy', 'zstd', 'gzip', 'none'],
    describe: 'Parquet: the page codec (default snappy; zstd is smaller, gzip the most widely read). JSONL and CSV datasets: gzip or none (default)',
  },
  shard: {
    kind: 'string',
    describe:
      "Take only shard I of N: the conversations whose id hashes to I (0 to N-1), for N pods of one job writing one --dataset or N --out directories (docs/scale-out.md). Default: JOB_COMPLETION_INDEX with --shards N, or AWS Batch's AWS_BATCH_JOB_ARRAY_INDEX and AWS_BATCH_JOB_ARRAY_SIZE",
  },
  shards: {
    kind: 'int',
    min: 1,
    max: MAX_SHARDS,
    describe: "The number of shards N, this run's index taken from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or AWS_BATCH_JOB_ARRAY_INDEX",
  },
  'on-error': {
    kind: 'choice',
    choices: ['fail', 'skip'],
    default: 'fail',
    describe: 'fail: stop at the first bad record; skip: write it to OUT/rejects.jsonl and go on',
  },
  report: { kind: 'string', describe: 'Also write the run summary as JSON to this file, on failure too (with the error)' },
  quiet: { kind: 'bool', alias: 'q', describe: 'No progress and no summary on stderr (errors are still printed)' },
  'csv-raw': { kind: 'bool', describe: 'With --format csv: do not neutralise cells that start with = + - @ TAB CR (for machine loads)' },
  'max-record-mb': { kind: 'number', min: 0, minExclusive: true, max: 512, default: 64, unit: 'MiB', describe: 'Largest single record accepted' },
  threads: {
    kind: 'int',
    min: 1,
    max: 32,
    default: defaultThreads(),
    describe:
      'Worker threads that parse, map and encode records (default: the CPU cores, at most 4). 1: all on the main thread, ~100 MB less memory; use it when the other cores are busy. Output is the same for any number',
  },
  ...PRIVACY_OPTIONS,
} as const satisfies OptionSpec;

export type ExportArgs = OptionValues<typeof EXPORT_OPTIONS>;

export const EXPORT_EXAMPLES: [string, string][] = [
  ['$0 export --from dashly --input samples/dashly/parts.json --format parquet --out out/', 'Dashly parts to Parquet'],
  ['$0 export --from dashly --input "exports/*.jsonl.gz" --format csv --out out/ --on-error skip', 'Many gzip files; bad records go to out/rejects.jsonl'],
  ['cat parts.jsonl | $0 export --from dashly --input - --out out/ --quiet --report run.json', 'From stdin, for cron'],
  ['$0 export --from ./my-vendor.yaml --input export.json --out out/', 'A vendor chatport does not know, through your own mapping'],
];

/** Combinations of options that single values cannot show. */
export function checkExportOptions(a: ExportArgs): void {
  if (a.csvRaw && a.format !== 'csv') throw new ChatportError('CONFIG_BAD_OPTION', `--csv-raw applies to --format csv only (the format is ${a.format})`, 'cli');
  if ((a.out === undefined) === (a.dataset === undefined))
    throw new ChatportError('CONFIG_BAD_OPTION', 'give either --out (replace the table files) or --dataset (merge into a dataset), one of them', 'cli');
  if (a.compression !== undefined && a.format !== 'parquet' && a.compression !== 'none' && !(a.compression === 'gzip' && a.dataset !== undefined)) {
    throw new ChatportError(
      'CONFIG_BAD_OPTION',
      `--compression ${a.compression} applies to --format parquet (snappy, zstd, gzip, none), or gzip to a JSONL or CSV --dataset`,
      'cli',
    );
  }
  if (a.dataset !== undefined && a.csvRaw)
    throw new ChatportError('CONFIG_BAD_OPTION', 'a CSV dataset is always written raw (for machine loads); --csv-raw is for --out', 'cli');
}

/** Every file an export could write into its output directory: a table in any format, and the rejects. */
export function exportOutputFiles(out: string): { path: string; what: string }[] {
  const files = [{ path: path.join(out, 'rejects.jsonl'), what: 'the rejects file' }];
  for (const t of TABLE_NAMES) for (const w of Object.values(WRITERS)) files.push({ path: path.join(out, `${t}${w.extension}`), what: 'an output table' });
  return files;
}

/**
 * The --report guard (checked before work) knows the canonical tables' files; a mapping's custom tables are known once
 * it is loaded: the report may not be one of their files either.
 */
function checkReportAgainstTables(args: ExportArgs, mapping: CompiledMapping): void {
  if (args.report === undefined || args.out === undefined) return; // a dataset's files are guarded as its directory
  const report = path.resolve(args.report);
  for (const t of mapping.outputTables) {
    for (const w of Object.values(WRITERS)) {
      if (path.resolve(args.out, `${t.name}${w.extension}`) === report) {
        throw new ChatportError(
          'CONFIG_BAD_OPTION',
          `--report ${args.report} is a file the run writes (the ${t.name} table of the mapping); choose another path`,
          'cli',
        );
      }
    }
  }
}

export const EXPORT_RUN: CommandRun<ExportArgs> = {
  name: 'export',
  reportGuard: (a) => ({
    outDir: (a.out ?? a.dataset)!,
    inputs: a.input,
    files: [...mappingFileGuard(a.from), ...(a.out !== undefined ? exportOutputFiles(a.out) : [])],
  }),
  interrupted: (a) =>
    a.out !== undefined
      ? `temporary files removed, earlier outputs in ${a.out} untouched`
      : `temporary files removed, the dataset ${a.dataset!} as its last committed run left it`,
  run: exportCommand,
};

export async function exportCommand(args: ExportArgs, ctx: RunContext): Promise<void> {
  const workers = workersFor(args.threads);
  const stats = new RunStats();
  let mapping: CompiledMapping | null = null;
  let finished = false;
  let dataset: DatasetResult | null = null;
  let forgotten: ForgetResult | null = null;
  const codec = args.format === 'parquet' ? args.compression : undefined;
  const where = args.out !== undefined ? { out: args.out } : { dataset: args.dataset! };
  // before any work: a missing key fails at once
  const privacy = privacySettingsFrom(args, process.env);
  const shard = shardFrom(args, process.env);
  // a dataset hashes the people with its own salt and remembers them; an --out run with one of its own
  const forget = await forgetRequestOf(args);
  ctx.setReportDetails(() => ({
    vendor: mapping?.vendor ?? null,
    format: args.format,
    ...where,
    ...stats.toJSON({ finished }),
    ...(args.dataset !== undefined ? { dataset: dataset && datasetReport(dataset) } : {}),
    ...(forgotten ? { forget: forgotten } : {}),
  }));
  mapping = await loadMapping(args.from);
  checkReportAgainstTables(args, mapping);
  // never read this run's own outputs (a second run with --out inside an input directory)
  const sources = await expandInputs(args.input, { dir: (args.out ?? args.dataset)!, files: args.report ? [args.report] : [] });
  const progress = startProgress(stats, ctx.printer, !args.quiet);
  try {
    if (args.dataset !== undefined) {
      // what earlier runs wrote of the people --forget names (or of conversations found theirs) leaves too: after the commit
      ({ dataset, forgotten } = await runDatasetExport({
        mapping,
        sources,
        dataset: args.dataset,
        format: args.format,
        compression: args.format === 'parquet' ? (codec ?? 'snappy') : args.compression === 'gzip' ? 'gzip' : 'none',
        chatportVersion: CHATPORT_VERSION,
        onError: args.onError,
        maxRecordBytes: Math.floor(args.maxRecordMb * 1024 * 1024),
        workers,
        stats,
        privacy,
        shard,
        forget,
        signal: ctx.signal,
      }));
    } else {
      await runExport({
        mapping,
        sources,
        format: args.format,
        outDir: args.out!,
        onError: args.onError,
        csvRaw: args.csvRaw,
        maxRecordBytes: Math.floor(args.maxRecordMb * 1024 * 1024),
        workers,
        stats,
        privacy: withRunForget(privacy, forget),
        shard,
        signal: ctx.signal,
        ...(codec ? { writerDef: parquetWriterWith({ codec }) } : {}),
      });
    }
    finished = true;
  } finally {
    progress.stop();
  }
  if (!args.quiet) ctx.printer.err(stats.toText());
  if (!args.quiet && dataset) ctx.printer.err(datasetText(args.dataset!, dataset));
  if (!args.quiet && forgotten) ctx.printer.err(forgetText(args.dataset!, forgotten));
}
