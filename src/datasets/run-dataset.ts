// `chatport export --dataset DIR` as a library call: the one engine (src/pipeline/run-pipeline.ts) into the dataset
// sink, under the dataset's lock (a sharded run: its lock for the merge and commit only), with the run's temporary
// data inside DIR/_chatport/ (removed at the end, and by a later run after a kill).

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
import { shardLabel } from '../pipeline/shard-filter.js';
import { emptyForget, FORGOTTEN_STATE, forgottenText, parseForgotten, withRequest, type ForgetRequest } from '../redact/forget-rule.js';
import { withForget } from '../redact/privacy-rule.js';
import { forgetInDataset, type ForgetResult } from '../redact/forget-dataset.js';

export interface DatasetExportOptions extends Omit<PipelineOptions, 'tempDir' | 'checkpoint'> {
  readonly dataset: string;
  readonly format: FormatName;
  /** Parquet: the page codec (default snappy). JSONL and CSV: gzip or none (default). */
  readonly compression?: CodecName;
  readonly chatportVersion: string;
  readonly store?: DatasetStoreOptions;
  /** The manifest's command (default export). */
  readonly command?: string;
  /** The manifest's inputs when the run reads no files (sync: the API it read). */
  readonly inputNames?: readonly string[];
  /** The run reads everything the source has: earlier rows it did not write leave (DatasetSink `complete`). */
  readonly complete?: boolean;
  /** State files committed with the run's data, in the same commit (sync's cursors). */
  readonly state?: RunState;
  /** People to forget from this run on (--forget FILE): the dataset remembers their salted hashes with the commit. */
  readonly forget?: ForgetRequest | null;
}

/**
 * A command's small state that must change exactly when the data does (sync's cursors): `begin` gets the state files
 * of the current version once the dataset is locked, before any record is read; `files` is asked at the commit, after
 * every record is in, and its files go into the new version with the data (the current version's other state files
 * are kept). A run killed before the commit point leaves both data and state as they were.
 */
export interface RunState {
  begin(committed: ReadonlyMap<string, string>): void | Promise<void>;
  files(): ReadonlyMap<string, string>;
}

/** How long a shard's forget pass after its commit waits for another shard's merge and commit to let the dataset go. */
const SHARD_FORGET_WAIT_MS = 15 * 60_000;

/** The writer of a dataset's files, by its format and codec (the dataset's settings). */
export function datasetWriterDef(format: FormatName, compression: string): WriterDef {
  return format === 'parquet' ? parquetWriterWith({ codec: compression as CodecName }) : gzipped(writerFor(format), compression === 'gzip');
}

/**
 * What a run into a dataset did: its counters, its commit, and, when earlier versions could hold rows of people it
 * forgets (--forget named them now, or the run found a conversation theirs that was not known before), the forget pass
 * that erased those rows after the commit (chatport forget's, under the dataset's lock), else null.
 */
export interface DatasetExportResult {
  readonly stats: RunStats;
  readonly dataset: DatasetResult;
  readonly forgotten: ForgetResult | null;
}

export async function runDatasetExport(options: DatasetExportOptions): Promise<DatasetExportResult> {
  const stats = options.stats ?? new RunStats();
  const compression: CodecName = options.compression ?? (options.format === 'parquet' ? 'snappy' : 'none');
  if (options.format !== 'parquet' && compression !== 'none' && compression !== 'gzip') {
    throw new ChatportError('CONFIG_BAD_OPTION', `a ${options.format} dataset takes gzip or no compression (got ${compression})`, 'cli');
  }
  const writerDef = datasetWriterDef(options.format, compression);
  // shards of one dataset work side by side and take turns only to merge and commit
  const sharing = options.shard ? 'shared' : 'exclusive';
  const store = await DatasetStore.open(options.dataset, options.store, sharing, { format: options.format, compression });
  let adds = false;
  let dataset: DatasetResult;
  try {
    const runId = newRunId();
    await options.state?.begin(await store.readStateFiles());
    const inputs = options.inputNames
      ? options.inputNames.map((name) => ({ name, bytes: null }))
      : await Promise.all(
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
      command: options.command ?? 'export',
      vendor: options.mapping.vendor,
      mapping_sha256: createHash('sha256').update(stableStringify(options.mapping.spec)).digest('hex'),
      shard: options.shard ? shardLabel(options.shard) : null,
      inputs,
    };
    // the people this dataset forgets (src/redact/forget-rule.ts): every run into it forgets them
    const remembered = parseForgotten(await store.readStateFile(FORGOTTEN_STATE));
    const request = options.forget ?? null;
    adds = request !== null && (request.ids.length > 0 || request.emails.length > 0);
    const forget = request !== null && adds ? withRequest(remembered ?? emptyForget(), request) : remembered;
    const privacy = withForget(options.privacy ?? null, forget);
    let sink: DatasetSink | null = null;
    await runPipeline({ ...options, privacy, stats, tempDir: store.scratchDir, checkpoint: () => store.assertHeld() }, async (attempt) => {
      // the list as this attempt applies it: a repeated attempt's holds the conversations the run found theirs
      const applied = attempt?.forget ?? null;
      if (adds || (applied && applied.conversations.length > (forget?.conversations.length ?? 0)))
        await store.writeState(FORGOTTEN_STATE, forgottenText(applied!));
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
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.complete ? { complete: true } : {}),
        ...(options.state ? { stateFiles: () => options.state!.files() } : {}),
        ...(options.maxConversationsInMemory !== undefined ? { maxConversationsInMemory: options.maxConversationsInMemory } : {}),
      });
      return sink;
    });
    dataset = (sink as DatasetSink | null)!.result!;
  } finally {
    await store.close();
  }
  // rows of theirs that earlier runs wrote leave too: the people named now, and conversations this run found theirs
  // (a Dashly part of one written by an earlier night, before their first own part came)
  const forgotten =
    adds || stats.lateForgotten > 0
      ? await forgetInDataset({
          dataset: options.dataset,
          request: options.forget ?? { ids: [], emails: [] },
          remembered: true,
          drop: false,
          pseudonymKey: options.privacy?.pseudonymize?.key ?? null,
          mapping: options.mapping,
          chatportVersion: options.chatportVersion,
          // a shard's sibling may be committing: take a turn after it, as the shards' own commits do
          ...(options.shard
            ? { store: { ...options.store, lock: { ...options.store?.lock, waitMs: options.store?.lock?.waitMs ?? SHARD_FORGET_WAIT_MS } } }
            : options.store
              ? { store: options.store }
              : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        })
      : null;
  return { stats, dataset, forgotten };
}
