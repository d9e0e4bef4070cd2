// `chatport sync` as a library call: the mapping's api section read by the HTTP source, its pages through the one
// engine into the export's table files (run-export.ts: the output set, committed only when every record is
// accounted for and the source finished its checks). Datasets (--dataset, stored cursors in _chatport/) are the
// next step: until then each run reads back to --since, or everything, and replaces the tables in --out.

import { ChatportError } from '../errors.js';
import type { CompiledMapping } from '../mapping/compile-mapping.js';
import { runExport } from '../pipeline/run-export.js';
import type { ErrorPolicy } from '../pipeline/record-errors.js';
import { RunStats } from '../pipeline/run-stats.js';
import type { FormatName } from '../writers/writer.js';
import type { RetryPolicy } from './http/api-requester.js';
import { HttpSource } from './http/http-source.js';

export interface SyncOptions {
  readonly mapping: CompiledMapping;
  readonly params: Readonly<Record<string, string>>;
  readonly token: string;
  readonly tokenName: string;
  readonly apiUrl?: string | undefined;
  readonly since?: number | null;
  readonly outDir: string;
  readonly format: FormatName;
  readonly onError: ErrorPolicy;
  readonly rps: number;
  readonly concurrency: number;
  readonly maxRequests: number;
  readonly timeoutMs: number;
  readonly retry?: RetryPolicy;
  readonly stats?: RunStats;
  readonly signal?: AbortSignal;
  /** Called once the source exists (the CLI's progress and report read its counters). */
  readonly onSource?: (source: HttpSource) => void;
}

export async function runSync(o: SyncOptions): Promise<{ stats: RunStats; source: HttpSource }> {
  if (o.mapping.api === null) {
    throw new ChatportError(
      'CONFIG_MAPPING_INVALID',
      `the ${o.mapping.vendor} mapping has no api section: sync does not know how to read its API (docs/sync.md)`,
      'config',
      { file: o.mapping.file },
    );
  }
  const source = new HttpSource({
    api: o.mapping.api,
    vendor: o.mapping.vendor,
    apiUrl: o.apiUrl,
    params: o.params,
    token: o.token,
    tokenName: o.tokenName,
    since: o.since ?? null,
    rps: o.rps,
    concurrency: o.concurrency,
    maxRequests: o.maxRequests,
    timeoutMs: o.timeoutMs,
    ...(o.retry ? { retry: o.retry } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  o.onSource?.(source);
  const stats = o.stats ?? new RunStats();
  await runExport({
    mapping: o.mapping,
    sources: [],
    pageSources: [source.source()],
    format: o.format,
    outDir: o.outDir,
    onError: o.onError,
    csvRaw: false,
    stats,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return { stats, source };
}
