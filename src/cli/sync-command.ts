// `chatport sync`: its options, and the run from validated options to the HTTP source and the engine, with progress
// (requests, pages, records, retries, rate), the summary and the --report details (requests, retries, 429s, pages,
// cursors before and after, shortfalls, the dataset's changes). Signals, error lines and writing the report are
// run-command.ts's. --dataset merges into a dataset and keeps the cursors there; --out replaces the tables.

import { ChatportError } from '../errors.js';
import { countOf, formatCount } from '../human-text.js';
import type { CompiledMapping } from '../mapping/compile-mapping.js';
import { loadMapping } from '../mapping/load-mapping.js';
import { RunStats } from '../pipeline/run-stats.js';
import type { HttpSource } from '../sources/http/http-source.js';
import { runSync } from '../sources/run-sync.js';
import { datasetReport, datasetText } from '../datasets/dataset-summary.js';
import type { DatasetResult } from '../sinks/dataset-sink.js';
import { exportOutputFiles } from './export-command.js';
import { forgetRequestOf, PRIVACY_OPTIONS } from './privacy-options.js';
import { forgetText } from './forget-command.js';
import { privacySettingsFrom, withRunForget } from '../redact/privacy-rule.js';
import type { ForgetResult } from '../redact/forget-dataset.js';
import type { OptionSpec, OptionValues } from './option-spec.js';
import { CHATPORT_VERSION, mappingFileGuard, type CommandRun, type RunContext } from './run-command.js';

const SINCE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/i;

export const SYNC_OPTIONS = {
  from: {
    kind: 'string',
    required: true,
    describe: 'Vendor whose mapping declares an api section (dashly, oncehub, expertflow) or a path to such a mapping file',
  },
  param: { kind: 'list', describe: 'NAME=VALUE for a parameter the mapping declares (Dashly: app_id=12345); repeat for several' },
  'token-env': {
    kind: 'string',
    required: true,
    pattern: { re: /^[A-Za-z_][A-Za-z0-9_]*$/, what: 'the name of an environment variable (the token itself never goes on the command line)' },
    describe: 'Environment variable that holds the API token (never printed, logged or written)',
  },
  'api-url': {
    kind: 'string',
    pattern: { re: /^https?:\/\/[^/\s]+/i, what: 'an http(s) URL' },
    describe: "Base URL instead of the mapping's (regional hosts, proxies, test servers)",
  },
  dataset: {
    kind: 'string',
    describe:
      'Merge into a dataset directory (created if missing) and keep the cursors there: the next run reads only what changed since, back to the stored cursor minus the lookback (docs/sync.md). Give --dataset or --out',
  },
  out: {
    kind: 'string',
    alias: 'o',
    describe: 'Output directory: the tables of this read replace the earlier ones; no cursor is kept. Give --dataset or --out',
  },
  since: {
    kind: 'string',
    pattern: { re: SINCE, what: 'an ISO-8601 date or time with a zone (2026-11-01 or 2026-11-01T00:00:00Z)' },
    describe:
      'ISO-8601 time: a first run reads newest-first lists only back to here (default: everything). Ignored when the dataset has a stored cursor, which bounds every later run',
  },
  'full-refresh': {
    kind: 'bool',
    describe:
      'With --dataset: read everything whatever the stored cursors, and remove from the dataset every row the API no longer returns (parts deleted at the vendor); cursors still advance',
  },
  format: { kind: 'choice', alias: 'f', choices: ['jsonl', 'csv', 'parquet'], default: 'jsonl', describe: 'Output format' },
  compression: {
    kind: 'choice',
    choices: ['snappy', 'zstd', 'gzip', 'none'],
    describe: 'With --dataset: the Parquet page codec (default snappy), or gzip/none for JSONL and CSV datasets',
  },
  'on-error': {
    kind: 'choice',
    choices: ['fail', 'skip'],
    default: 'fail',
    describe: 'fail: stop at the first bad record; skip: write it to OUT/rejects.jsonl and go on',
  },
  rps: { kind: 'number', min: 0, minExclusive: true, max: 1000, default: 5, describe: 'Most requests started per second, retries included' },
  concurrency: { kind: 'int', min: 1, max: 64, default: 4, describe: 'Requests in flight at once (sub-streams of several parents are read together)' },
  'max-requests': {
    kind: 'int',
    min: 1,
    max: 100_000_000,
    default: 1_000_000,
    describe: 'Most requests in the run, retries included; reaching it fails the run (nothing written)',
  },
  timeout: { kind: 'number', min: 0, minExclusive: true, max: 3600, default: 60, unit: 'seconds', describe: 'Time to wait for one answer before trying again' },
  report: { kind: 'string', describe: 'Also write the run summary as JSON to this file, on failure too (with the error)' },
  quiet: { kind: 'bool', alias: 'q', describe: 'No progress and no summary on stderr (errors are still printed)' },
  ...PRIVACY_OPTIONS,
} as const satisfies OptionSpec;

export type SyncArgs = OptionValues<typeof SYNC_OPTIONS>;

export const SYNC_EXAMPLES: [string, string][] = [
  [
    'DASHLY_TOKEN=... $0 sync --from dashly --param app_id=12345 --token-env DASHLY_TOKEN --dataset warehouse/',
    'Dashly parts into a dataset; each later run reads only what changed since the stored cursor',
  ],
  ['ONCEHUB_KEY=... $0 sync --from oncehub --token-env ONCEHUB_KEY --dataset warehouse/ --format parquet', 'OnceHub conversations into a Parquet dataset'],
  [
    'DASHLY_TOKEN=... $0 sync --from dashly --param app_id=12345 --token-env DASHLY_TOKEN --dataset warehouse/ --full-refresh',
    'Read everything; remove what Dashly no longer returns (weekly)',
  ],
];

/** --param NAME=VALUE pairs; a name given twice is a mistake, not a choice. */
export function syncParams(list: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const m = /^([a-z][a-z0-9_]*)=(.*)$/s.exec(item);
    if (!m)
      throw new ChatportError(
        'CONFIG_BAD_OPTION',
        `--param takes NAME=VALUE (a lower-case name), got ${JSON.stringify(item.length > 40 ? item.slice(0, 40) + '...' : item)}`,
        'cli',
      );
    if (m[1]! in out) throw new ChatportError('CONFIG_BAD_OPTION', `--param ${m[1]} is given twice`, 'cli');
    out[m[1]!] = m[2]!;
  }
  return out;
}

/** --since: an ISO-8601 time with a zone (Z or an offset), in milliseconds. */
export function sinceMs(text: string | undefined): number | null {
  if (text === undefined) return null;
  const at = SINCE.test(text) ? Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text) : NaN;
  if (Number.isNaN(at))
    throw new ChatportError(
      'CONFIG_BAD_OPTION',
      `--since takes an ISO-8601 date or time with a zone (2026-11-01 or 2026-11-01T00:00:00Z), got ${JSON.stringify(text.slice(0, 40))}`,
      'cli',
    );
  return at;
}

/** --since before any work; --param's NAME=VALUE form is checked with the mapping's declarations, also before any request. */
export function checkSyncOptions(a: SyncArgs): void {
  sinceMs(a.since);
  if ((a.out === undefined) === (a.dataset === undefined))
    throw new ChatportError('CONFIG_BAD_OPTION', 'give either --dataset (merge, with stored cursors) or --out (replace the table files), one of them', 'cli');
  if (a.out !== undefined && a.fullRefresh)
    throw new ChatportError('CONFIG_BAD_OPTION', '--full-refresh applies to --dataset (every --out run reads everything and replaces the tables)', 'cli');
  if (a.out !== undefined && a.compression !== undefined) throw new ChatportError('CONFIG_BAD_OPTION', '--compression applies to --dataset', 'cli');
  if (a.fullRefresh && a.onError === 'skip')
    throw new ChatportError('CONFIG_BAD_OPTION', '--full-refresh removes what the run did not get, so every record must be read: use --on-error fail', 'cli');
  if (a.dataset !== undefined && a.compression !== undefined && a.format !== 'parquet' && a.compression !== 'none' && a.compression !== 'gzip')
    throw new ChatportError('CONFIG_BAD_OPTION', `--compression ${a.compression} applies to --format parquet; a ${a.format} dataset takes gzip or none`, 'cli');
}

export const SYNC_RUN: CommandRun<SyncArgs> = {
  name: 'sync',
  reportGuard: (a) => ({
    outDir: (a.out ?? a.dataset)!,
    inputs: [],
    files: [...mappingFileGuard(a.from), ...(a.out !== undefined ? exportOutputFiles(a.out) : [])],
  }),
  interrupted: (a) =>
    a.out !== undefined
      ? `temporary files removed, earlier outputs in ${a.out} untouched`
      : `temporary files removed, the dataset ${a.dataset!} and its cursors as its last committed run left them`,
  run: syncCommand,
};

export async function syncCommand(args: SyncArgs, ctx: RunContext): Promise<void> {
  const stats = new RunStats();
  let mapping: CompiledMapping | null = null;
  let source: HttpSource | null = null;
  let finished = false;
  let dataset: DatasetResult | null = null;
  let forgotten: ForgetResult | null = null;
  ctx.setReportDetails(() => ({
    vendor: mapping?.vendor ?? null,
    format: args.format,
    ...(args.out !== undefined ? { out: args.out } : { dataset: args.dataset }),
    ...stats.toJSON({ finished }),
    sync: source ? syncJSON(source, args) : null,
    ...(args.dataset !== undefined ? { dataset: dataset && datasetReport(dataset) } : {}),
    ...(forgotten ? { forget: forgotten } : {}),
  }));
  const params = syncParams(args.param);
  // before any request: a missing pseudonym key or an unreadable --forget file fails at once
  const privacy = privacySettingsFrom(args, process.env);
  const forget = await forgetRequestOf(args);
  mapping = await loadMapping(args.from);
  const token = process.env[args.tokenEnv] ?? '';
  if (token === '') throw new ChatportError('SYNC_AUTH', `environment variable ${args.tokenEnv} (named by --token-env) is not set or empty`, 'config');
  const timer = args.quiet || !ctx.printer.canShowStatus ? null : setInterval(() => source && ctx.printer.status(progressLine(source, stats)), 500);
  timer?.unref();
  try {
    const common = {
      mapping,
      params,
      token,
      tokenName: args.tokenEnv,
      apiUrl: args.apiUrl,
      since: sinceMs(args.since),
      format: args.format,
      onError: args.onError,
      rps: args.rps,
      concurrency: args.concurrency,
      maxRequests: args.maxRequests,
      timeoutMs: Math.round(args.timeout * 1000),
      stats,
      signal: ctx.signal,
      onSource: (s: HttpSource) => (source = s),
    };
    // a dataset hashes the people with its own salt and remembers them; an --out run with one of its own
    const outPrivacy = withRunForget(privacy, forget);
    const result =
      args.dataset !== undefined
        ? await runSync({
            ...common,
            dataset: args.dataset,
            ...(args.compression ? { compression: args.compression } : {}),
            fullRefresh: args.fullRefresh === true,
            chatportVersion: CHATPORT_VERSION,
            privacy,
            forget,
          })
        : await runSync({ ...common, outDir: args.out!, privacy: outPrivacy });
    dataset = result.dataset;
    forgotten = result.forgotten;
    finished = true;
  } finally {
    if (timer) clearInterval(timer);
    ctx.printer.clearStatus();
  }
  if (!args.quiet) ctx.printer.err(`${stats.toText()} ${syncText(source!, args)}`);
  if (!args.quiet && dataset) ctx.printer.err(datasetText(args.dataset!, dataset));
  if (!args.quiet && forgotten) ctx.printer.err(forgetText(args.dataset!, forgotten));
}

function progressLine(source: HttpSource, stats: RunStats): string {
  const c = source.counters;
  const s = stats.seconds();
  return `chatport sync: ${countOf(c.requests, 'request')}, ${countOf(c.pages, 'page')}, ${countOf(stats.recordsRead, 'record')}, ${countOf(c.retries, 'retry', 'retries')}, ${formatCount(Math.round(c.requests / Math.max(s, 1e-3)))} requests/s, ${s.toFixed(0)}s`;
}

/** --since with a stored cursor: the cursor bounds the run, --since is not used (it bounds first runs only). */
function sinceIgnored(source: HttpSource, args: SyncArgs): boolean {
  return args.since !== undefined && source.cursors.some((k) => k.before !== null);
}

function syncText(source: HttpSource, args: SyncArgs): string {
  const c = source.counters;
  const cursors = source.cursors.map(
    (k) =>
      `${k.stream}.${k.field} ${k.before === null ? 'no stored cursor' : `cursor ${k.before}`}, read back to ${k.read_to ?? 'the start'}, cursor after ${k.after ?? 'none'}`,
  );
  if (sinceIgnored(source, args)) cursors.push('--since not used: the stored cursor bounds this run');
  return `API: ${countOf(c.requests, 'request')} (${countOf(c.retries, 'retry', 'retries')}, ${formatCount(c.rateLimited)} answered 429), ${countOf(c.pages, 'page')}${cursors.length ? `; ${cursors.join('; ')}` : ''}.`;
}

function syncJSON(source: HttpSource, args: SyncArgs): Record<string, unknown> {
  const c = source.counters;
  return {
    requests: c.requests,
    retries: c.retries,
    rate_limited: c.rateLimited,
    pages: c.pages,
    parents: Object.fromEntries(source.parents),
    cursors: source.cursors.map((k) => ({ stream: k.stream, field: k.field, before: k.before, read_to: k.read_to, after: k.after })),
    since_ignored: sinceIgnored(source, args),
    full_refresh: args.fullRefresh === true,
    shortfalls: source.shortfalls.length,
    short_parents: source.shortfalls.slice(0, 1000),
  };
}
