// `chatport validate`: runs a mapping over a real export without writing any output and reports what a user
// must know before a migration: source fields no rule reads (they went to `extra`), enum values that fell to
// a default, records that failed and why, and canonical columns that stayed empty.

import { ChatportError, type ErrorCode } from '../errors.js';
import { countOf, formatCount, listOf } from '../human-text.js';
import { loadMapping } from '../mapping/load-mapping.js';
import { expandInputs } from '../readers/input-sources.js';
import type { RejectEntry } from '../pipeline/record-errors.js';
import { runPipeline } from '../pipeline/run-pipeline.js';
import { TABLES, type Row, type TableName } from '../model/canonical-schema.js';
import type { Sink, SinkInput } from '../sinks/sink.js';
import { LosslessNumber } from '../json/lossless-number.js';
import type { CompiledMapping } from '../mapping/compile-mapping.js';
import { mappingFileGuard, type CommandRun, type RunContext } from './run-command.js';
import type { OptionSpec, OptionValues } from './option-spec.js';
import { PRIVACY_OPTIONS } from './privacy-options.js';
import { privacySettingsFrom, type PrivacySettings } from '../redact/privacy-rule.js';

export const VALIDATE_OPTIONS = {
  from: { kind: 'string', required: true, describe: 'Vendor id or a path to a mapping file' },
  input: { kind: 'list', alias: 'i', required: true, describe: 'Input files, directories, globs, or - for stdin' },
  report: { kind: 'string', describe: 'Also write the validation report as JSON to this file, on failure too (with the error)' },
  'max-record-mb': { kind: 'number', min: 0, minExclusive: true, max: 512, default: 64, unit: 'MiB', describe: 'Largest single record accepted' },
  // the same rows as the export's: the report's quoted values are masked, and a missing key fails here already
  ...PRIVACY_OPTIONS,
} as const satisfies OptionSpec;

export type ValidateArgs = OptionValues<typeof VALIDATE_OPTIONS>;

export const VALIDATE_EXAMPLES: [string, string][] = [
  ['$0 validate --from ./my-vendor.yaml --input sample-export.json', 'Check a new mapping against a real export'],
  ['$0 validate --from dashly --input parts.jsonl --report check.json', 'The same report as JSON'],
];

export interface ValidationReport {
  vendor: string;
  records_read: number;
  records_mapped: number;
  records_failed: number;
  /** Records marked removed (GDPR) whose rows were redacted. */
  records_redacted: number;
  /** The mapping read nothing but key columns from any record (an export would stop with CONFIG_MAPPING_MISMATCH). */
  only_keys_read: boolean;
  failures: { code: string; count: number; examples: { file: string; line: number | null; record_index: number; path: string | null; reason: string }[] }[];
  /**
   * Per table, source field paths that no rule reads, with the number of rows whose `extra` holds them.
   * Fields of sub-records read with `each` (attachments) appear as `column[].field`.
   */
  unmapped_fields: Record<string, Record<string, number>>;
  unknown_enum_values: Record<string, Record<string, number>>;
  /** Per table, canonical columns that no row filled (null, or an empty list). */
  empty_columns: Record<string, string[]>;
  /** The part of empty_columns that the mapping has no rule for at all (the rest had a rule that never matched). */
  columns_without_rule: Record<string, string[]>;
  /** Per table, records that gave no row because the table's `when` did not hold. */
  skipped_by_rule: Record<string, number>;
  rows: Record<string, number>;
}

const MAX_EXAMPLES = 5;

/** `signal` stops the run between input chunks (SIGINT, SIGTERM); spilled temporary data is removed as it unwinds. */
export async function validateMapping(
  from: string | CompiledMapping,
  inputs: readonly string[],
  maxRecordBytes: number,
  signal?: AbortSignal,
  privacy: PrivacySettings | null = null,
): Promise<ValidationReport> {
  const mapping = typeof from === 'string' ? await loadMapping(from) : from;
  const sources = await expandInputs(inputs);
  let coverage: CoverageSink | null = null;
  const stats = await runPipeline({ mapping, sources, onError: 'skip', maxRecordBytes, requireMatch: false, privacy, ...(signal ? { signal } : {}) }, () => (coverage = new CoverageSink(mapping)));
  const seen = coverage as unknown as CoverageSink;
  const json = stats.toJSON();
  const ruled = columnsWithRule(mapping);
  const empty: Record<string, string[]> = {};
  const withoutRule: Record<string, string[]> = {};
  for (const t of mapping.outputTables) {
    const f = seen.filled.get(t) ?? new Set<string>();
    // a derived row has no source record, so no `extra` to speak of
    const derived = mapping.derived.some((d) => d.name === t);
    empty[t] = TABLES[t].columns.map((c) => c.name).filter((c) => !f.has(c) && !(derived && c === 'extra'));
    withoutRule[t] = empty[t].filter((c) => !ruled.get(t)!.has(c));
  }
  const skipped: Record<string, number> = {};
  for (const [t, counts] of stats.tables) if (counts.skippedByRule > 0) skipped[t] = counts.skippedByRule;
  return {
    vendor: mapping.vendor,
    records_read: stats.recordsRead,
    records_mapped: stats.recordsMapped,
    records_failed: stats.recordsRejected,
    records_redacted: stats.recordsRedacted,
    only_keys_read: stats.onlyKeysRead,
    failures: [...seen.failures.values()].sort((a, b) => b.count - a.count || (a.code < b.code ? -1 : 1)),
    unmapped_fields: Object.fromEntries(
      [...seen.unmapped].filter(([, m]) => m.size > 0).map(([t, m]) => [t, Object.fromEntries([...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)))]),
    ),
    unknown_enum_values: json.unknown_enum_values as ValidationReport['unknown_enum_values'],
    empty_columns: empty,
    columns_without_rule: withoutRule,
    skipped_by_rule: skipped,
    rows: Object.fromEntries(seen.rows),
  };
}

/**
 * What validate learns from the rows of a run, as a sink: rows per table, columns ever filled, source fields left in
 * `extra`, and failures by code with a few examples. A run done again starts a fresh one.
 */
class CoverageSink implements Sink {
  readonly input: SinkInput = { kind: 'rows' };
  readonly failures = new Map<string, ValidationReport['failures'][number]>();
  readonly unmapped = new Map<TableName, Map<string, number>>();
  readonly filled = new Map<TableName, Set<string>>();
  readonly rows = new Map<TableName, number>();
  private readonly jsonColumns: Map<TableName, string[]>;

  constructor(mapping: CompiledMapping) {
    this.jsonColumns = new Map(mapping.outputTables.map((t) => [t, TABLES[t].columns.filter((c) => c.type === 'json' && c.name !== 'extra').map((c) => c.name)]));
  }

  async open(): Promise<void> {}

  writeFragment(): Promise<void> {
    return Promise.reject(new Error('internal: validate was sent encoded fragments'));
  }

  async writeRows(table: TableName, rows: readonly Row[]): Promise<void> {
    for (const row of rows) this.add(table, row);
  }

  async reject(r: RejectEntry): Promise<void> {
    let f = this.failures.get(r.code);
    if (!f) this.failures.set(r.code, (f = { code: r.code, count: 0, examples: [] }));
    f.count++;
    if (f.examples.length < MAX_EXAMPLES) f.examples.push({ file: r.file, line: r.line, record_index: r.record_index, path: r.path, reason: r.reason });
  }

  async commit(check: (rows: ReadonlyMap<TableName, number>) => void): Promise<void> {
    check(this.rows);
  }

  async abort(): Promise<void> {}

  private add(table: TableName, row: Row): void {
    this.rows.set(table, (this.rows.get(table) ?? 0) + 1);
    let f = this.filled.get(table);
    if (!f) this.filled.set(table, (f = new Set()));
    for (const [k, v] of Object.entries(row)) if (v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0)) f.add(k);
    let u = this.unmapped.get(table);
    if (!u) this.unmapped.set(table, (u = new Map()));
    const seen = new Set<string>();
    if (isObject(row.extra)) for (const p of leafPaths(row.extra, '', 0)) seen.add(p);
    // sub-records read with `each` keep their own unmapped rest in each element's extra
    for (const col of this.jsonColumns.get(table) ?? []) {
      const v = row[col];
      if (!Array.isArray(v)) continue;
      for (const el of v) if (isObject(el) && isObject(el.extra)) for (const p of leafPaths(el.extra, '', 0)) seen.add(`${col}[].${p}`);
    }
    for (const p of seen) u.set(p, (u.get(p) ?? 0) + 1);
  }
}

/** Columns each output table fills by a rule of the mapping or by chatport itself (source, extra, keys of derived rows). */
function columnsWithRule(mapping: CompiledMapping): Map<TableName, Set<string>> {
  const out = new Map<TableName, Set<string>>();
  for (const t of mapping.tables) out.set(t.name, new Set(['source', 'extra', 'redacted', ...t.sources.flatMap((s) => s.columns.map((c) => c.name)), ...(t.aggregates?.columns ?? [])]));
  for (const d of mapping.derived) out.set(d.name, new Set(['source', 'conversation_id', ...d.aggregators.map((a) => a.column)]));
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof LosslessNumber);
}

/** Field paths in `extra`, two levels deep at most (deeper objects are reported at their parent). */
function leafPaths(obj: Record<string, unknown>, prefix: string, depth: number): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(obj)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (depth < 1 && isObject(v)) out.push(...leafPaths(v, p, depth + 1));
    else out.push(p);
  }
  return out;
}

/** The validate report as lines for the printer (which escapes field names and values taken from the data). */
export function validationLines(r: ValidationReport): string[] {
  const lines: string[] = [];
  lines.push(
    `Mapping ${r.vendor}: ${countOf(r.records_read, 'record')} read, ${formatCount(r.records_mapped)} mapped, ${formatCount(r.records_failed)} failed` +
      (r.records_redacted ? `, ${formatCount(r.records_redacted)} redacted (marked removed).` : '.'),
  );
  lines.push(`Rows: ${listOrNone(Object.entries(r.rows).map(([t, n]) => `${formatCount(n)} ${n === 1 ? t.replace(/s$/, '') : t}`))}.`);
  if (r.only_keys_read) lines.push('The mapping read nothing but key columns from any record: an export would stop (CONFIG_MAPPING_MISMATCH) until it maps more.');
  for (const [t, n] of Object.entries(r.skipped_by_rule)) lines.push(`Records that gave no ${t} row (the table's when did not hold): ${formatCount(n)}.`);
  if (r.failures.length) {
    lines.push('Failed records:');
    for (const f of r.failures) {
      lines.push(`  ${f.code} x${formatCount(f.count)}`);
      for (const e of f.examples) lines.push(`    ${e.file}${e.line !== null ? `:${e.line}` : ''} (record ${e.record_index})${e.path ? ` at ${e.path}` : ''}: ${e.reason}`);
    }
  }
  for (const [t, fields] of Object.entries(r.unmapped_fields)) {
    lines.push(`Source fields no rule reads (kept in ${t}.extra):`);
    for (const [p, n] of Object.entries(fields)) lines.push(`  ${p}: ${countOf(n, 'row')}`);
  }
  for (const [col, values] of Object.entries(r.unknown_enum_values)) {
    lines.push(`Enum values the mapping does not list, in ${col} (they got the rule's fallback):`);
    for (const [v, n] of Object.entries(values)) lines.push(`  ${JSON.stringify(v)}: ${formatCount(n)}`);
  }
  for (const [t, cols] of Object.entries(r.empty_columns)) {
    if (!cols.length) continue;
    lines.push(`Columns of ${t} that stayed empty: ${cols.join(', ')}.`);
    const none = r.columns_without_rule[t] ?? [];
    if (none.length) lines.push(`  of which the mapping has no rule for: ${none.join(', ')}.`);
  }
  return lines;
}

function listOrNone(items: string[]): string {
  return items.length ? items.join(', ') : 'none';
}

/** The validate report as text (the lines joined; what the tutorial in docs/mappings.md shows). */
export function formatValidation(r: ValidationReport): string {
  return validationLines(r).join('\n');
}

export const VALIDATE_RUN: CommandRun<ValidateArgs> = {
  name: 'validate',
  reportGuard: (a) => ({ inputs: a.input, files: mappingFileGuard(a.from) }),
  interrupted: () => 'nothing was written',
  run: validateCommand,
};

export async function validateCommand(args: ValidateArgs, ctx: RunContext): Promise<void> {
  const privacy = privacySettingsFrom(args, process.env);
  const report = await validateMapping(args.from, args.input, Math.floor(args.maxRecordMb * 1024 * 1024), ctx.signal, privacy);
  ctx.setReportDetails(() => ({ ...report }));
  ctx.printer.out(validationLines(report));
  // a mapping that fails records is not ready: say so in the exit code (65) and in one line
  if (report.records_failed > 0) {
    const top = report.failures[0]!;
    throw new ChatportError(
      top.code as ErrorCode,
      `${countOf(report.records_failed, 'record')} of ${formatCount(report.records_read)} failed to map (${listOf(report.failures.map((f) => `${f.code} x${formatCount(f.count)}`))}); see the report above`,
      'map',
    );
  }
}
