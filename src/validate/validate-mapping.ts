// What `chatport validate` finds, as a library call: runs a mapping over a real export through the one engine,
// writing nothing, and reports per vendor path how often a value reached a column, was kept in `extra` or was
// ignored, the paths the mapping reads that no record had, source fields no rule reads, enum values that fell to a
// default, records that failed and why, and canonical columns that stayed empty. The CLI prints it
// (src/cli/validate-command.ts); the library API exports it without the CLI's option types.

import { loadMapping } from '../mapping/load-mapping.js';
import { expandInputs } from '../readers/input-sources.js';
import type { RejectEntry } from '../pipeline/record-errors.js';
import { runPipeline } from '../pipeline/run-pipeline.js';
import type { PrivacySettings } from '../redact/privacy-rule.js';
import type { Row, TableName } from '../model/canonical-schema.js';
import type { Sink, SinkInput } from '../sinks/sink.js';
import { LosslessNumber } from '../json/lossless-number.js';
import type { CompiledMapping, MapObserver } from '../mapping/compile-mapping.js';
import type { MappedRow } from '../mapping/map-rows.js';
import { NO_ANCESTORS, type Test } from '../mapping/rule-scope.js';
import { ALL, formatPath, type PathStep } from '../mapping/paths.js';

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
  coverage: CoverageReport;
}

/**
 * Per vendor path (`history[*].timestamp`: [*] for every element), in how many places of the mapped records its value
 * reached a column, was kept in some row's `extra` (a thread's rest under ^, a record's under $record or $rowless
 * counts as its own path), or was left out by an ignore list; and the paths the mapping reads or ignores that no
 * record had. Records marked removed (GDPR) are not looked at: their fields are in no report.
 */
export interface CoverageReport {
  records: number;
  /** Sorted by path; a list, so that the report's keys are field names, never data. */
  paths: { path: string; column: number; extra: number; ignored: number }[];
  never_seen: string[];
}

const MAX_EXAMPLES = 5;

/** `signal` stops the run between input chunks (SIGINT, SIGTERM); spilled temporary data is removed as it unwinds. */
/** `privacy`: pseudonyms and masking as an export would apply them (the report then shows no raw value they cover). */
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
  const paths = new PathCoverage(mapping);
  const watched: CompiledMapping = { ...mapping, observer: paths };
  const stats = await runPipeline(
    { mapping: watched, sources, onError: 'skip', maxRecordBytes, requireMatch: false, privacy, ...(signal ? { signal } : {}) },
    () => {
      // a run done again (a removed copy came late) starts both over
      paths.reset();
      return (coverage = new CoverageSink(mapping));
    },
  );
  const seen = coverage as unknown as CoverageSink;
  const json = stats.toJSON();
  const ruled = columnsWithRule(mapping);
  const empty: Record<string, string[]> = {};
  const withoutRule: Record<string, string[]> = {};
  for (const def of mapping.outputTables) {
    const t = def.name;
    const f = seen.filled.get(t) ?? new Set<string>();
    // a derived row has no source record, so no `extra` to speak of
    const derived = mapping.derived.some((d) => d.name === t);
    empty[t] = def.columns.map((c) => c.name).filter((c) => !f.has(c) && !(derived && c === 'extra'));
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
    coverage: paths.report(),
  };
}

/** Containers deeper than this are counted as one path (a vendor's free-form JSON can nest without end). */
const MAX_PATH_DEPTH = 12;

/** Path text with every array index as [*]. */
function pathText(steps: readonly PathStep[]): string {
  return formatPath(steps.map((s) => (typeof s === 'number' ? ALL : s)));
}

/**
 * The coverage report's counts, as the mapping's observer: for each record, every leaf of the record (a scalar, an
 * empty list or object) is counted once per place it sits; each leaf also found in what went to some `extra` counts as
 * kept there, one under an ignore list as ignored, and any other as having reached a column (nothing else can happen
 * to it: the mapping drops nothing silently).
 */
class PathCoverage implements MapObserver {
  private counts = new Map<string, { column: number; extra: number; ignored: number }>();
  private seen = new Set<string>();
  private records = 0;
  private record: Record<string, unknown> | null = null;
  private wrapper: Record<string, unknown> | null = null;
  private keptHere = new Map<string, number>();
  private readonly ignored: readonly string[];
  private readonly removed: Test | null;

  constructor(private readonly mapping: CompiledMapping) {
    this.ignored = mapping.ignorePaths.map(pathText);
    this.removed = mapping.removal.removedWhen;
  }

  reset(): void {
    this.counts = new Map();
    this.seen = new Set();
    this.records = 0;
  }

  begin(record: Record<string, unknown>, wrapper: Record<string, unknown> | null): void {
    this.record = record;
    this.wrapper = wrapper;
    this.keptHere = new Map();
  }

  kept(rest: Record<string, unknown>, at: readonly PathStep[]): void {
    for (const p of leaves(rest, at)) this.keptHere.set(p, (this.keptHere.get(p) ?? 0) + 1);
  }

  end(rows: readonly MappedRow[]): void {
    const record = this.record;
    if (!record) return;
    this.record = null;
    // a record or element marked removed is not looked at (its fields reach no report), nor its copy mapped again
    if (rows.some((r) => r.removed === true || (r.row.removed_at !== null && r.row.removed_at !== undefined))) return;
    if (this.removed && this.removed(record, NO_ANCESTORS, NO_ENUMS)) return;
    this.records++;
    const here = new Map<string, number>();
    for (const p of leaves(record, [])) here.set(p, (here.get(p) ?? 0) + 1);
    for (const [p, n] of here) {
      const c = this.count(p);
      const extra = Math.min(n, this.keptHere.get(p) ?? 0);
      const ignored = extra < n && this.ignored.some((i) => p === i || p.startsWith(i + '.') || p.startsWith(i + '[')) ? n - extra : 0;
      c.extra += extra;
      c.ignored += ignored;
      c.column += n - extra - ignored;
    }
    if (this.wrapper) for (const p of leaves(this.wrapper, [])) this.count(`$wrapper.${p}`).extra++;
    for (const p of containers(record)) this.seen.add(p);
  }

  private count(p: string): { column: number; extra: number; ignored: number } {
    let c = this.counts.get(p);
    if (!c) this.counts.set(p, (c = { column: 0, extra: 0, ignored: 0 }));
    this.seen.add(p);
    return c;
  }

  /** A path was there, as written or, for an `each` with allow_single (one object for a list of one), without one [*]. */
  private wasSeen(p: string): boolean {
    if (this.seen.has(p)) return true;
    for (let i = p.indexOf('[*]'); i >= 0; i = p.indexOf('[*]', i + 1)) if (this.seen.has(p.slice(0, i) + p.slice(i + 3))) return true;
    return false;
  }

  report(): CoverageReport {
    const wanted = [...new Set([...this.mapping.readPaths, ...this.mapping.ignorePaths].map(pathText))];
    return {
      records: this.records,
      paths: [...this.counts].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([path, c]) => ({ path, ...c })),
      never_seen: this.records === 0 ? [] : wanted.filter((p) => !this.wasSeen(p)).sort(),
    };
  }
}

const NO_ENUMS = { unknownEnum() {} };

/** The leaf paths of a value placed at `at` in the record, one per place (a list's elements each count). */
function leaves(value: unknown, at: readonly PathStep[]): string[] {
  const out: string[] = [];
  const walk = (v: unknown, steps: PathStep[]) => {
    const isList = Array.isArray(v);
    const isObject = !isList && v !== null && typeof v === 'object' && !(v instanceof LosslessNumber);
    const empty = isList ? v.length === 0 : isObject ? Object.keys(v as object).length === 0 : true;
    if (empty || steps.length - at.length >= MAX_PATH_DEPTH) {
      out.push(pathText(steps));
      return;
    }
    if (isList) for (const el of v as unknown[]) walk(el, [...steps, ALL]);
    else for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(x, [...steps, k]);
  };
  walk(value, [...at]);
  return out;
}

/** Every path of a record that holds something, containers included (to tell which read paths were never there). */
function containers(value: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, steps: PathStep[]) => {
    if (steps.length) out.push(pathText(steps));
    if (steps.length >= MAX_PATH_DEPTH || v === null || typeof v !== 'object' || v instanceof LosslessNumber) return;
    if (Array.isArray(v)) for (const el of v) walk(el, [...steps, ALL]);
    else for (const [k, x] of Object.entries(v)) walk(x, [...steps, k]);
  };
  walk(value, []);
  return out;
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
    this.jsonColumns = new Map(mapping.outputTables.map((t) => [t.name, t.columns.filter((c) => c.type === 'json' && c.name !== 'extra').map((c) => c.name)]));
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
  for (const t of mapping.tables)
    out.set(t.name, new Set(['source', 'extra', 'redacted', ...t.sources.flatMap((s) => s.columns.map((c) => c.name)), ...(t.aggregates?.columns ?? [])]));
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
