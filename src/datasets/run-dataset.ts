// `chatport export --dataset DIR` as a library call: the one engine (src/pipeline/run-pipeline.ts) into the dataset
// sink, under the dataset's lock, with the run's temporary data inside DIR/_chatport/ (removed at the end, and by
// the next run after a kill).

import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { ChatportError } from '../errors.js';
import { stableStringify } from '../json/stable-json.js';
import { runPipeline, type PipelineOptions } from '../pipeline/run-pipeline.js';
import { RunStats } from '../pipeline/run-stats.js';
import { DatasetSink, type DatasetResult } from '../sinks/dataset-sink.js';
import { writerFor } from '../writers/registry.js';
import type { FormatName, WriterDef } from '../writers/writer.js';
import type { CodecName } from '../writers/parquet/parquet-metadata.js';
import { parquetWriterWith } from '../writers/parquet/parquet-writer.js';
import { gzipped } from '../writers/gzip-writer.js';
import { DatasetStore, type DatasetStoreOptions } from './dataset-store.js';
import { newRunId } from './layout.js';
import { emptyForget, FORGOTTEN_STATE, forgottenText, parseForgotten, withRequest, type ForgetRequest } from '../redact/forget-rule.js';
import { withForget } from '../redact/privacy-rule.js';

export interface DatasetExportOptions extends Omit<PipelineOptions, 'tempDir' | 'checkpoint'> {
  readonly dataset: string;
  readonly format: FormatName;
  /** Parquet: the page codec (default snappy). JSONL and CSV: gzip or none (default). */
  readonly compression?: CodecName;
  readonly chatportVersion: string;
  readonly store?: DatasetStoreOptions;
  readonly shard?: string | null;
  /** People to forget from this run on (--forget FILE): the dataset remembers their salted hashes with the commit. */
  readonly forget?: ForgetRequest | null;
}

/** The writer of a dataset's files, by its format and codec (the dataset's settings). */
export function datasetWriterDef(format: FormatName, compression: string): WriterDef {
  return format === 'parquet' ? parquetWriterWith({ codec: compression as CodecName }) : gzipped(writerFor(format), compression === 'gzip');
}

export async function runDatasetExport(options: DatasetExportOptions): Promise<{ stats: RunStats; dataset: DatasetResult }> {
  const stats = options.stats ?? new RunStats();
  const compression: CodecName = options.compression ?? (options.format === 'parquet' ? 'snappy' : 'none');
  if (options.format !== 'parquet' && compression !== 'none' && compression !== 'gzip') {
    throw new ChatportError('CONFIG_BAD_OPTION', `a ${options.format} dataset takes gzip or no compression (got ${compression})`, 'cli');
  }
  const writerDef = datasetWriterDef(options.format, compression);
  const store = await DatasetStore.open(options.dataset, options.store);
  try {
    if (store.settings && (store.settings.format !== options.format || store.settings.compression !== compression)) {
      throw new ChatportError(
        'CONFIG_BAD_OPTION',
        `${options.dataset} holds ${store.settings.format} files (compression ${store.settings.compression}); a run cannot add ${options.format} (compression ${compression}) to it: use the same --format and --compression, or another --dataset`,
        'cli',
      );
    }
    const runId = newRunId();
    const inputs = await Promise.all(
      options.sources.map(async (s) => ({
        name: s.path ?? '-',
        bytes:
          s.path === null
            ? null
            : await stat(s.path).then(
                (st) => st.size,
                () => null,
              ),
      })),
    );
    const describe = {
      run_id: runId,
      chatport_version: options.chatportVersion,
      command: 'export',
      vendor: options.mapping.vendor,
      mapping_sha256: createHash('sha256').update(stableStringify(options.mapping.spec)).digest('hex'),
      shard: options.shard ?? null,
      inputs,
    };
    // the people this dataset forgets (src/redact/forget-rule.ts): every run into it forgets them
    const remembered = parseForgotten(await store.readState(FORGOTTEN_STATE));
    const request = options.forget ?? null;
    const adds = request !== null && (request.ids.length > 0 || request.emails.length > 0);
    const forget = adds ? withRequest(remembered ?? emptyForget(), request) : remembered;
    const privacy = withForget(options.privacy ?? null, forget);
    let sink: DatasetSink | null = null;
    await runPipeline({ ...options, privacy, stats, tempDir: store.scratchDir, checkpoint: () => store.assertHeld() }, async () => {
      if (adds) await store.writeState(FORGOTTEN_STATE, forgottenText(forget!));
      sink = new DatasetSink({
        store,
        writerDef,
        format: options.format,
        compression,
        gzip: compression === 'gzip',
        runId,
        derived: options.mapping.derived,
        keepRejects: options.onError === 'skip',
        describe,
        ...(options.maxConversationsInMemory !== undefined ? { maxConversationsInMemory: options.maxConversationsInMemory } : {}),
      });
      return sink;
    });
    return { stats, dataset: (sink as DatasetSink | null)!.result! };
  } finally {
    await store.close();
  }
}
