// The library API: what `import { ... } from 'chatport'` gives another Node project. The same engine as the CLI
// (the CLI is a thin layer over these calls): exports to files, canonical rows as an async iterable, mapping
// validation, loading and compiling mappings, the privacy options (pseudonyms, PII masking, forgetting people, also
// forgetting them in a dataset already written), a sync from a vendor's API into a dataset, and the Dashly migration. Every call takes an AbortSignal; nothing here
// touches process-wide state (no signal handlers, no exit codes, no printing): errors are thrown as ChatportError.

import { availableParallelism } from 'node:os';
import { ChatportError } from './errors.js';
import { loadMapping } from './mapping/load-mapping.js';
import type { CompiledMapping } from './mapping/compile-mapping.js';
import { expandInputs, type InputSource } from './readers/input-sources.js';
import { canonicalRows as pipelineRows, type CanonicalRow } from './pipeline/canonical-rows.js';
import type { ErrorPolicy, RejectEntry } from './pipeline/record-errors.js';
import { runExport } from './pipeline/run-export.js';
import { workersFor } from './pipeline/run-pipeline.js';
import { RunStats } from './pipeline/run-stats.js';
import { validateMapping as validateRun, type ValidationReport } from './validate/validate-mapping.js';
import type { TableName } from './model/canonical-schema.js';
import type { FormatName } from './writers/writer.js';
import { runSync } from './sources/run-sync.js';
import type { CursorReport } from './sources/http/http-source.js';
import type { DatasetResult } from './sinks/dataset-sink.js';
import type { CodecName } from './writers/parquet/parquet-metadata.js';
import { privacySettingsFrom, withRunForget, type PrivacySettings } from './redact/privacy-rule.js';
import type { ForgetRequest } from './redact/forget-rule.js';
import { forgetInDataset, type ForgetResult } from './redact/forget-dataset.js';
import type { PiiKind } from './redact/pii-detectors.js';
import { CHATPORT_VERSION } from './version.js';

export { ChatportError, type ErrorCode, type Position, type Stage } from './errors.js';
export { loadMapping, KNOWN_VENDORS, type KnownVendor } from './mapping/load-mapping.js';
export { compileMapping, type CompiledMapping } from './mapping/compile-mapping.js';
export type { MappingSpec, RuleSpec, TableSpec, ConditionSpec, DeriveSpec } from './mapping/mapping-types.js';
export { TABLES, TABLE_NAMES, type Row, type TableName, type TableDef, type ColumnDef, type ColumnType } from './model/canonical-schema.js';
export { LosslessNumber } from './json/lossless-number.js';
export { RunStats } from './pipeline/run-stats.js';
export type { RejectEntry } from './pipeline/record-errors.js';
export type { CanonicalRow } from './pipeline/canonical-rows.js';
export type { FormatName } from './writers/writer.js';
export type { ValidationReport } from './validate/validate-mapping.js';
export type { CursorReport } from './sources/http/http-source.js';
export type { DatasetResult } from './sinks/dataset-sink.js';
export type { ForgetResult, ForgottenFile } from './redact/forget-dataset.js';
export type { PiiKind } from './redact/pii-detectors.js';

/**
 * Pseudonymizing, masking and forgetting (docs/privacy.md), applied to every row before any output, as the CLI's
 * --pseudonymize, --pseudonym-key-env, --mask-pii, --phone-regions and --forget do.
 */
export interface PrivacyOptions {
  /** The pseudonym key (at least 16 bytes of UTF-8; keep it secret and stable). Alone, it pseudonymizes customer_id, author_id and author_name. */
  readonly pseudonymKey?: string | undefined;
  /** The columns to pseudonymize instead of the default three (needs pseudonymKey). */
  readonly pseudonymize?: readonly string[] | undefined;
  readonly maskPii?: readonly PiiKind[] | undefined;
  /** Regions whose national phone numbers are masked too (with maskPii phone). */
  readonly phoneRegions?: readonly string[] | undefined;
  /** People to forget: every row of their conversations is cleared, as a part removed at the vendor. */
  readonly forget?: { readonly customers?: readonly string[] | undefined; readonly emails?: readonly string[] | undefined } | undefined;
}

/** Where records come from and how they are read: shared by every call that reads an export. */
export interface ReadOptions {
  /** A vendor id (`dashly`, `oncehub`, `expertflow`, `expertflow-cx`), a path to a mapping file, or a compiled mapping. */
  readonly from: string | CompiledMapping;
  /** Files, directories, globs, or `-` for standard input (gzip is read by its magic bytes). */
  readonly input: string | readonly string[];
  /** `fail` (default): the first bad record stops the run; `skip`: bad records are rejected and counted. */
  readonly onError?: ErrorPolicy | undefined;
  /** Threads that parse, map, redact and encode: 1 keeps everything on the calling thread. Default: cores, at most 4. */
  readonly threads?: number | undefined;
  /** Largest single record accepted, in MiB (default 64). */
  readonly maxRecordMb?: number | undefined;
  /** Stops the run between segments: it rejects with RUN_INTERRUPTED and leaves no output behind. */
  readonly signal?: AbortSignal | undefined;
  /** The run's counters, updated as it goes (for a progress display). */
  readonly stats?: RunStats | undefined;
  /** Pseudonyms, PII masking, people to forget (none by default). */
  readonly privacy?: PrivacyOptions | undefined;
}

export interface ExportTranscriptsOptions extends ReadOptions {
  /** Output directory: one file per table (`messages.jsonl`, ...), and `rejects.jsonl` with onError `skip`. */
  readonly out: string;
  readonly format?: FormatName | undefined;
  /** CSV only: leave cells that start with = + - @ TAB CR as they are (machine loads). */
  readonly csvRaw?: boolean | undefined;
}

/**
 * Exports transcripts into `out`, every file appearing only when the whole run succeeded. Resolves with the run's
 * counters (`stats.toJSON()` is the summary the CLI prints as --report).
 */
export async function exportTranscripts(options: ExportTranscriptsOptions): Promise<RunStats> {
  const format = options.format ?? 'jsonl';
  if (options.csvRaw && format !== 'csv') throw new ChatportError('CONFIG_BAD_OPTION', 'csvRaw applies to the csv format only', 'config');
  const read = await resolveRead(options);
  return runExport({ ...read, format, outDir: options.out, csvRaw: options.csvRaw ?? false });
}

export interface CanonicalRowsOptions extends ReadOptions {
  /** Only these tables' rows (default: every table the mapping writes). */
  readonly tables?: readonly TableName[] | undefined;
  /** Each rejected record (with onError `skip`), in input order among the rows. */
  readonly onReject?: ((entry: RejectEntry) => void | Promise<void>) | undefined;
}

/**
 * The canonical rows of an export, redacted, as an async iterable. The input is read in full before the first row
 * comes (rows are spooled to a temporary folder), because a removed copy of a part late in the input removes every
 * earlier copy: no row is ever handed out that a later copy would have redacted.
 */
export async function* canonicalRows(options: CanonicalRowsOptions): AsyncGenerator<CanonicalRow> {
  const read = await resolveRead(options);
  yield* pipelineRows({
    ...read,
    ...(options.tables ? { tables: options.tables } : {}),
    ...(options.onReject ? { onReject: options.onReject } : {}),
  });
}

export type ValidateMappingOptions = Pick<ReadOptions, 'from' | 'input' | 'maxRecordMb' | 'signal' | 'privacy'>;

/**
 * Runs a mapping over an export without writing anything and reports what a migration must know: fields no rule
 * reads (kept in `extra`), enum values that fell to a default, records that failed and why (never with their
 * values), columns that stayed empty.
 */
export async function validateMapping(options: ValidateMappingOptions): Promise<ValidationReport> {
  const mapping = typeof options.from === 'string' ? await loadMapping(options.from) : options.from;
  return validateRun(
    mapping,
    typeof options.input === 'string' ? [options.input] : options.input,
    maxRecordBytesOf(options),
    options.signal,
    privacyOf(options.privacy),
  );
}

export interface ForgetOptions {
  /** A dataset directory that `chatport export --dataset` built. */
  readonly dataset: string;
  readonly customers?: readonly string[] | undefined;
  readonly emails?: readonly string[] | undefined;
  /** Drop the rows instead of keeping them cleared. */
  readonly drop?: boolean | undefined;
  /** The key the dataset was pseudonymized with, if it was. */
  readonly pseudonymKey?: string | undefined;
  /** The mapping that built the dataset: needed only when it holds a mapping's own tables. */
  readonly from?: string | CompiledMapping | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Erases people from a dataset already written, as `chatport forget` does (docs/privacy.md): every row of their
 * conversations cleared (or dropped), the files rewritten and older versions deleted in one commit, and the dataset
 * remembers their salted hashes for every later run. Resolves with the audit record (counts, files, hashes).
 */
export async function forgetPeople(options: ForgetOptions): Promise<ForgetResult> {
  const customers = options.customers ?? [];
  const emails = options.emails ?? [];
  if (customers.length === 0 && emails.length === 0) throw new ChatportError('CONFIG_BAD_OPTION', 'forgetPeople needs customers or emails', 'config');
  const key = options.pseudonymKey !== undefined ? privacyOf({ pseudonymKey: options.pseudonymKey })!.pseudonymize!.key : null;
  return forgetInDataset({
    dataset: options.dataset,
    request: { ids: customers, emails },
    drop: options.drop ?? false,
    pseudonymKey: key,
    mapping: options.from === undefined ? null : typeof options.from === 'string' ? await loadMapping(options.from) : options.from,
    chatportVersion: CHATPORT_VERSION,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/** The library's privacy options as the engine's settings; the key is given directly instead of through the environment. */
function privacyOf(p: PrivacyOptions | undefined): PrivacySettings | null {
  if (p === undefined) return null;
  const KEY = 'CHATPORT_PSEUDONYM_KEY';
  if (p.pseudonymize !== undefined && p.pseudonymKey === undefined)
    throw new ChatportError('CONFIG_PSEUDONYM_KEY', 'privacy.pseudonymize needs privacy.pseudonymKey', 'config');
  if (p.pseudonymKey !== undefined && Buffer.byteLength(p.pseudonymKey) < 16)
    throw new ChatportError('CONFIG_PSEUDONYM_KEY', 'privacy.pseudonymKey is shorter than 16 bytes; use a long random value', 'config');
  const settings = privacySettingsFrom(
    {
      ...(p.pseudonymize ? { pseudonymize: p.pseudonymize } : {}),
      ...(p.pseudonymKey !== undefined ? { pseudonymKeyEnv: KEY } : {}),
      ...(p.maskPii ? { maskPii: p.maskPii } : {}),
      ...(p.phoneRegions ? { phoneRegions: p.phoneRegions } : {}),
    },
    p.pseudonymKey !== undefined ? { [KEY]: p.pseudonymKey } : {},
  );
  const request = forgetRequestOf(p);
  return withRunForget(settings, request);
}

/** The people of privacy.forget as a request for a dataset (which hashes them with its own salt), or null. */
function forgetRequestOf(p: PrivacyOptions | undefined): ForgetRequest | null {
  const people = p?.forget;
  if (!people || !((people.customers ?? []).length || (people.emails ?? []).length)) return null;
  return { ids: people.customers ?? [], emails: people.emails ?? [] };
}

async function resolveRead(o: ReadOptions): Promise<{
  mapping: CompiledMapping;
  sources: InputSource[];
  onError: ErrorPolicy;
  workers: number;
  maxRecordBytes: number;
  stats: RunStats;
  privacy: PrivacySettings | null;
  signal?: AbortSignal;
}> {
  const mapping = typeof o.from === 'string' ? await loadMapping(o.from) : o.from;
  const sources = await expandInputs(typeof o.input === 'string' ? [o.input] : o.input);
  return {
    mapping,
    sources,
    onError: o.onError ?? 'fail',
    workers: workersFor(o.threads ?? Math.min(4, availableParallelism())),
    maxRecordBytes: maxRecordBytesOf(o),
    stats: o.stats ?? new RunStats(),
    privacy: privacyOf(o.privacy),
    ...(o.signal ? { signal: o.signal } : {}),
  };
}

function maxRecordBytesOf(o: Pick<ReadOptions, 'maxRecordMb'>): number {
  const mb = o.maxRecordMb ?? 64;
  if (!(mb > 0)) throw new ChatportError('CONFIG_BAD_OPTION', `maxRecordMb must be a positive number (got ${String(mb)})`, 'config');
  return Math.floor(mb * 1024 * 1024);
}

export interface SyncApiOptions {
  /** A vendor whose mapping has an api section (`dashly`, `oncehub`, `expertflow`), a mapping file, or a compiled mapping. */
  readonly from: string | CompiledMapping;
  /** The environment variable that holds the API token (the token is only ever read from the environment). */
  readonly tokenEnv: string;
  /** Values of the parameters the mapping declares (Dashly: `{ app_id: '12345' }`). */
  readonly params?: Readonly<Record<string, string>> | undefined;
  /** Overrides the mapping's base URL (regional hosts, proxies; required for Expertflow). */
  readonly apiUrl?: string | undefined;
  /** The dataset directory: rows merged by key, cursors stored with them. */
  readonly dataset: string;
  readonly format?: FormatName | undefined;
  /** Parquet: the page codec (default snappy); JSONL and CSV: gzip or none. */
  readonly compression?: CodecName | undefined;
  /** A first run's bound (a Date or an ISO-8601 text with a zone); a stored cursor takes its place afterwards. */
  readonly since?: Date | string | undefined;
  /** Read everything and remove from the dataset what the API no longer returns. */
  readonly fullRefresh?: boolean | undefined;
  /** Request starts per second, retries included (default 5). */
  readonly rps?: number | undefined;
  /** Requests in flight (default 4). */
  readonly concurrency?: number | undefined;
  /** Requests in the run, retries included (default 1,000,000). */
  readonly maxRequests?: number | undefined;
  /** Seconds to wait for one answer before trying again (default 60). */
  readonly timeoutSeconds?: number | undefined;
  readonly onError?: ErrorPolicy | undefined;
  /** Stops the run (requests in flight are cancelled): it rejects with RUN_INTERRUPTED, the dataset and cursors as they were. */
  readonly signal?: AbortSignal | undefined;
  readonly stats?: RunStats | undefined;
  /** As for an export; the people in `forget` are also remembered by the dataset and kept out of every later run. */
  readonly privacy?: PrivacyOptions | undefined;
}

export interface SyncApiResult {
  readonly stats: RunStats;
  readonly requests: { readonly requests: number; readonly retries: number; readonly rateLimited: number; readonly pages: number };
  /** Each incremental stream's cursor before the run, the bound it read back to, and after (UTC ISO-8601). */
  readonly cursors: readonly CursorReport[];
  readonly dataset: DatasetResult;
}

/**
 * Reads a vendor's API as its mapping's api section declares, into a dataset (the same merge and erasure as an export
 * with a dataset), from the stored cursors: what `chatport sync --dataset` does.
 */
export async function sync(options: SyncApiOptions): Promise<SyncApiResult> {
  const mapping = typeof options.from === 'string' ? await loadMapping(options.from) : options.from;
  const token = process.env[options.tokenEnv] ?? '';
  if (token === '') throw new ChatportError('SYNC_AUTH', `environment variable ${options.tokenEnv} (tokenEnv) is not set or empty`, 'config');
  const since = options.since === undefined ? null : new Date(options.since).getTime();
  if (since !== null && Number.isNaN(since)) throw new ChatportError('CONFIG_BAD_OPTION', 'since is not a date or an ISO-8601 time', 'config');
  const { stats, source, dataset } = await runSync({
    mapping,
    params: options.params ?? {},
    token,
    tokenName: options.tokenEnv,
    apiUrl: options.apiUrl,
    since,
    dataset: options.dataset,
    format: options.format ?? 'jsonl',
    ...(options.compression ? { compression: options.compression } : {}),
    fullRefresh: options.fullRefresh ?? false,
    chatportVersion: CHATPORT_VERSION,
    onError: options.onError ?? 'fail',
    rps: options.rps ?? 5,
    concurrency: options.concurrency ?? 4,
    maxRequests: options.maxRequests ?? 1_000_000,
    timeoutMs: Math.round((options.timeoutSeconds ?? 60) * 1000),
    stats: options.stats ?? new RunStats(),
    ...(options.signal ? { signal: options.signal } : {}),
    // the dataset hashes the people with its own salt and remembers them
    privacy: privacyOf(options.privacy && { ...options.privacy, forget: {} }),
    forget: forgetRequestOf(options.privacy),
  });
  const c = source.counters;
  return {
    stats,
    requests: { requests: c.requests, retries: c.retries, rateLimited: c.rateLimited, pages: c.pages },
    cursors: source.cursors,
    dataset: dataset!,
  };
}
