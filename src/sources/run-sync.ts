// `chatport sync` as a library call: the mapping's api section read by the HTTP source, its pages through the one
// engine, either into the export's table files (--out: run-export.ts, the tables of one read replace the earlier
// ones) or merged into a dataset (--dataset: run-dataset.ts, the same merge and erasure as `export --dataset`), where
// the cursors are kept (sync-state.ts) and committed in the same version as the rows they cover. With a dataset the
// next run reads back to the stored cursor minus the stream's lookback; --full-refresh reads everything and removes
// from the dataset what the API no longer returns.

import { ChatportError } from '../errors.js';
import type { CompiledMapping } from '../mapping/compile-mapping.js';
import { runDatasetExport } from '../datasets/run-dataset.js';
import { runExport } from '../pipeline/run-export.js';
import type { ErrorPolicy } from '../pipeline/record-errors.js';
import { RunStats } from '../pipeline/run-stats.js';
import type { DatasetResult } from '../sinks/dataset-sink.js';
import type { CodecName } from '../writers/parquet/parquet-metadata.js';
import type { FormatName } from '../writers/writer.js';
import type { RetryPolicy } from './http/api-requester.js';
import { HttpSource } from './http/http-source.js';
import { syncRunState } from './sync-state.js';
import type { PrivacySettings } from '../redact/privacy-rule.js';
import type { ForgetRequest } from '../redact/forget-rule.js';
import type { ForgetResult } from '../redact/forget-dataset.js';

interface SyncCommon {
  readonly mapping: CompiledMapping;
  readonly params: Readonly<Record<string, string>>;
  readonly token: string;
  readonly tokenName: string;
  readonly apiUrl?: string | undefined;
  /** A first run's bound (ms since the epoch); a stored cursor takes its place. */
  readonly since?: number | null;
  readonly format: FormatName;
  readonly onError: ErrorPolicy;
  readonly rps: number;
  readonly concurrency: number;
  readonly maxRequests: number;
  readonly timeoutMs: number;
  readonly retry?: RetryPolicy;
  readonly stats?: RunStats;
  readonly signal?: AbortSignal;
  /** Pseudonymizing, masking and forgetting (src/redact/privacy-rule.ts), applied before any output. */
  readonly privacy?: PrivacySettings | null;
  /** Called once the source exists (the CLI's progress and report read its counters). */
  readonly onSource?: (source: HttpSource) => void;
}

/** Into --out: the tables of this read replace the earlier ones. */
export interface SyncToOut extends SyncCommon {
  readonly outDir: string;
  readonly dataset?: undefined;
}

/** Into a dataset: merged by key, cursors stored with the data. */
export interface SyncToDataset extends SyncCommon {
  readonly dataset: string;
  readonly outDir?: undefined;
  readonly compression?: CodecName;
  /** Read everything whatever the stored cursors, and remove from the dataset what the API no longer returns. */
  readonly fullRefresh?: boolean;
  readonly chatportVersion: string;
  /** People to forget from this run on (--forget FILE): the dataset remembers their salted hashes with the commit. */
  readonly forget?: ForgetRequest | null;
}

export type SyncOptions = SyncToOut | SyncToDataset;

export interface SyncResult {
  readonly stats: RunStats;
  readonly source: HttpSource;
  /** What the run did to the dataset (null with --out). */
  readonly dataset: DatasetResult | null;
  /** What earlier runs wrote of the people the dataset forgets, erased after the commit (run-dataset.ts), or null. */
  readonly forgotten: ForgetResult | null;
}

export async function runSync(o: SyncOptions): Promise<SyncResult> {
  const api = o.mapping.api;
  if (api === null) {
    throw new ChatportError(
      'CONFIG_MAPPING_INVALID',
      `the ${o.mapping.vendor} mapping has no api section: sync does not know how to read its API (docs/sync.md)`,
      'config',
      { file: o.mapping.file },
    );
  }
  const fullRefresh = o.dataset !== undefined && o.fullRefresh === true;
  if (fullRefresh && o.onError === 'skip') {
    // a skipped record's earlier row would count as no longer returned and leave the dataset
    throw new ChatportError('CONFIG_BAD_OPTION', '--full-refresh removes what the run did not get, so every record must be read: use --on-error fail', 'cli');
  }
  const source = new HttpSource({
    api,
    vendor: o.mapping.vendor,
    apiUrl: o.apiUrl,
    params: o.params,
    token: o.token,
    tokenName: o.tokenName,
    since: o.since ?? null,
    fullRefresh,
    rps: o.rps,
    concurrency: o.concurrency,
    maxRequests: o.maxRequests,
    timeoutMs: o.timeoutMs,
    ...(o.retry ? { retry: o.retry } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  o.onSource?.(source);
  const stats = o.stats ?? new RunStats();
  const common = {
    mapping: o.mapping,
    sources: [],
    pageSources: [source.source()],
    onError: o.onError,
    stats,
    privacy: o.privacy ?? null,
    ...(o.signal ? { signal: o.signal } : {}),
  };
  if (o.dataset === undefined) {
    await runExport({ ...common, format: o.format, outDir: o.outDir, csvRaw: false });
    return { stats, source, dataset: null, forgotten: null };
  }
  const { dataset, forgotten } = await runDatasetExport({
    ...common,
    dataset: o.dataset,
    format: o.format,
    ...(o.compression ? { compression: o.compression } : {}),
    chatportVersion: o.chatportVersion,
    command: fullRefresh ? 'sync --full-refresh' : 'sync',
    inputNames: Object.entries(api.streams).map(([name, s]) => `${name}: GET ${s.path}`),
    complete: fullRefresh,
    forget: o.forget ?? null,
    state: syncRunState({ api, vendor: o.mapping.vendor, params: source.params, source, fullRefresh }),
  });
  return { stats, source, dataset, forgotten };
}
