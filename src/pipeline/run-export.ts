// `chatport export`: canonical rows -> one writer per table, in batches. The output directory is an OutputSet:
// tables, rejects and spills are written in the run's temporary folder inside --out, under the lock on --out, and
// the whole set is committed at once only after the run succeeded and reconciled; any failure or signal removes
// the temporary folder and leaves earlier outputs untouched.

import path from 'node:path';
import { ChatportError } from '../errors.js';
import { TABLES, type TableName } from '../model/canonical-schema.js';
import { AtomicFile } from '../writers/atomic-file.js';
import { OutputSet, REJECTS_NAME, type OutputSetOptions } from '../writers/output-set.js';
import { writerFor } from '../writers/registry.js';
import type { FormatName, TableWriter, WriterDef } from '../writers/writer.js';
import { stableStringify } from '../json/stable-json.js';
import type { MappedStreamOptions } from './canonical-stream.js';
import { exportSegments } from './export-segments.js';
import type { RejectEntry } from './record-errors.js';
import { RunStats } from './run-stats.js';

/** The stream's options (mapping, sources, error policy, limits) plus threads, where and how to write. */
export interface ExportOptions extends Omit<MappedStreamOptions, 'stats' | 'onReject'> {
  readonly format: FormatName;
  readonly outDir: string;
  readonly csvRaw: boolean;
  readonly stats?: RunStats;
  /** Aborts the run (SIGINT/SIGTERM): temporary files are removed, nothing is renamed. */
  readonly signal?: AbortSignal;
  /** Replaces the format's writer (tests use a deliberately slow one to prove backpressure). */
  readonly writerDef?: WriterDef;
  /** Worker threads for parse, map, redact and encode; 0 (default) does everything on this thread. */
  readonly workers?: number;
  /** The `--from` the workers load the mapping from (default: the compiled mapping's file). */
  readonly mappingFrom?: string;
  /** Lock and file operations of the output directory (tests). */
  readonly outputSet?: OutputSetOptions;
}

export async function runExport(options: ExportOptions): Promise<RunStats> {
  const stats = options.stats ?? new RunStats();
  const writerDef = options.writerDef ?? writerFor(options.format);
  const writers = new Map<TableName, TableWriter>();
  let rejects: AtomicFile | null = null;
  let rejectsBuffer = '';
  const outputs = await OutputSet.open(options.outDir, options.outputSet);
  const written: string[] = [];

  try {
    for (const table of options.mapping.outputTables) {
      const name = `${table}${writerDef.extension}`;
      writers.set(table, await writerDef.open({ table: TABLES[table], path: outputs.stagePath(name), csvRaw: options.csvRaw }));
      written.push(name);
    }
    if (options.onError === 'skip') rejects = await AtomicFile.create(outputs.stagePath(REJECTS_NAME));

    const onReject = async (entry: RejectEntry) => {
      rejectsBuffer += stableStringify(entry) + '\n';
      if (rejectsBuffer.length > 1 << 20) {
        await rejects!.write(rejectsBuffer);
        rejectsBuffer = '';
      }
    };
    await exportSegments({
      ...options,
      stats,
      writerDef,
      writers,
      workers: options.workers ?? 0,
      onReject,
      spillDir: outputs.scratchDir,
      checkAbort: () => {
        if (options.signal?.aborted) throw abortError(options.signal);
        outputs.assertHeld();
      },
    });
    if (options.signal?.aborted) throw abortError(options.signal);

    // Every record must be accounted for before anything gets a final name.
    for (const t of stats.tables.values()) t.written = t.emitted;
    stats.assertReconciled();
    for (const [table, w] of writers) {
      const { rows: written } = await w.close();
      stats.table(table).written = written;
    }
    if (rejects) {
      if (rejectsBuffer) await rejects.write(rejectsBuffer);
      // no rejects this time: none is written, and the commit removes one an earlier run left
      if (stats.recordsRejected > 0) {
        await rejects.commit();
        written.push(REJECTS_NAME);
      } else await rejects.abort();
    }
    stats.assertReconciled();
    if (options.signal?.aborted) throw abortError(options.signal);
    await outputs.commit(written);
    if (written.includes(REJECTS_NAME)) stats.rejectsFile = path.join(options.outDir, REJECTS_NAME);
    return stats;
  } catch (e) {
    await Promise.allSettled([...writers.values()].map((w) => w.abort()));
    if (rejects) await rejects.abort();
    await outputs.abort();
    throw e;
  }
}

function abortError(signal: AbortSignal): ChatportError {
  const reason = typeof signal.reason === 'string' ? signal.reason : 'interrupted';
  return new ChatportError('RUN_INTERRUPTED', `run interrupted (${reason}); no output was renamed into place`, 'cli');
}
