// Counters of one run and the honest summary built from them: records read and what became of each
// (rows written, rejected, skipped by rule, redacted), unknown enum values by column and value, throughput.
// reconcile() checks that every record is accounted for; a mismatch is a bug and fails the run.

import { ChatportError } from '../errors.js';
import type { TableName } from '../model/canonical-schema.js';
import { countOf, formatBytes, formatCount, formatRate, formatSeconds, listOf } from '../human-text.js';

export interface TableCounts {
  /** Rows the mapping produced (after redaction) and handed to the writer. */
  emitted: number;
  /** Rows the writer reports as written to the final file. */
  written: number;
  /** Records for which the table's `when` rule did not hold. */
  skippedByRule: number;
}

export interface InputCounts {
  name: string;
  bytes: number;
  records: number;
}

export class RunStats {
  readonly startedAt = Date.now();
  /**
   * Parts found removed only after another copy of them had gone out: the run was done again from the start with
   * them removed (run-pipeline.ts). 0 when the run went through once.
   */
  lateRemovals = 0;
  /**
   * Conversations found a forgotten person's only after other records of them had gone out (a Dashly part before the
   * customer's first own part): the run was done again with them forgotten from the start. 0 otherwise.
   */
  lateForgotten = 0;
  /** Records of forgotten people (--forget, a dataset's remembered list) cleared by the run. */
  recordsForgotten = 0;
  /** The mapping read nothing but key columns from any record (set at the end of a run). */
  onlyKeysRead = false;
  recordsRead = 0;
  recordsMapped = 0;
  recordsRejected = 0;
  recordsRedacted = 0;
  /** Records of other shards' conversations, passed over (--shard); `shard` is this run's, as I/N, or null. */
  recordsOtherShards = 0;
  shard: string | null = null;
  bytesRead = 0;
  readonly inputs: InputCounts[] = [];
  readonly tables = new Map<TableName, TableCounts>();
  /** Record-level tables: one row per mapped record unless skipped by rule. */
  readonly recordLevelTables = new Set<TableName>();
  readonly unknownEnums = new Map<string, Map<string, number>>();
  readonly rejectsByCode = new Map<string, number>();
  rejectsFile: string | null = null;

  /** Forgets what the first attempt counted: the run starts again because `lateRemovals` parts were removed late. */
  restart(lateRemovals: number, lateForgotten = 0): void {
    this.lateRemovals = lateRemovals;
    this.lateForgotten = lateForgotten;
    this.recordsForgotten = 0;
    this.onlyKeysRead = false;
    this.recordsRead = 0;
    this.recordsMapped = 0;
    this.recordsRejected = 0;
    this.recordsRedacted = 0;
    this.recordsOtherShards = 0;
    this.bytesRead = 0;
    this.inputs.length = 0;
    this.tables.clear();
    this.recordLevelTables.clear();
    this.unknownEnums.clear();
    this.rejectsByCode.clear();
    this.rejectsFile = null;
  }

  table(name: TableName): TableCounts {
    let t = this.tables.get(name);
    if (!t) {
      t = { emitted: 0, written: 0, skippedByRule: 0 };
      this.tables.set(name, t);
    }
    return t;
  }

  unknownEnum(column: string, value: string): void {
    let byValue = this.unknownEnums.get(column);
    if (!byValue) {
      byValue = new Map();
      this.unknownEnums.set(column, byValue);
    }
    byValue.set(value, (byValue.get(value) ?? 0) + 1);
  }

  rejected(code: string): void {
    this.recordsRejected++;
    this.rejectsByCode.set(code, (this.rejectsByCode.get(code) ?? 0) + 1);
  }

  /** Every record read is mapped or rejected; every record-level row is written or skipped by rule. */
  reconcile(): { ok: boolean; problems: string[] } {
    const problems: string[] = [];
    if (this.recordsRead !== this.recordsMapped + this.recordsRejected + this.recordsOtherShards) {
      const others = this.shard !== null ? ` + other shards' ${this.recordsOtherShards}` : '';
      problems.push(`records read ${this.recordsRead} != mapped ${this.recordsMapped} + rejected ${this.recordsRejected}${others}`);
    }
    for (const [name, t] of this.tables) {
      if (t.emitted !== t.written) problems.push(`${name}: rows emitted ${t.emitted} != rows written ${t.written}`);
      if (this.recordLevelTables.has(name) && t.emitted + t.skippedByRule !== this.recordsMapped) {
        problems.push(`${name}: rows ${t.emitted} + skipped by rule ${t.skippedByRule} != records mapped ${this.recordsMapped}`);
      }
    }
    return { ok: problems.length === 0, problems };
  }

  assertReconciled(): void {
    const r = this.reconcile();
    if (!r.ok) throw new ChatportError('INTERNAL_RECONCILIATION', `the run does not add up (a bug in chatport): ${r.problems.join('; ')}`, 'internal');
  }

  seconds(): number {
    return (Date.now() - this.startedAt) / 1000;
  }

  /**
   * The summary as JSON (--report), snake_case. `finished: false` is a run that failed or was interrupted: its
   * counters say how far it got, and reconciliation, which only a finished run can pass, is reported as null.
   */
  toJSON(options: { finished?: boolean } = {}): Record<string, unknown> {
    const finished = options.finished ?? true;
    const seconds = this.seconds();
    const rec = finished ? this.reconcile() : null;
    return {
      records_read: this.recordsRead,
      records_mapped: this.recordsMapped,
      records_rejected: this.recordsRejected,
      records_redacted: this.recordsRedacted,
      ...(this.shard !== null ? { shard: this.shard, records_other_shards: this.recordsOtherShards } : {}),
      late_removals: this.lateRemovals,
      ...(this.recordsForgotten || this.lateForgotten ? { records_forgotten: this.recordsForgotten, late_forgotten_conversations: this.lateForgotten } : {}),
      rejects_by_code: Object.fromEntries([...this.rejectsByCode].sort()),
      rejects_file: this.rejectsFile,
      tables: Object.fromEntries([...this.tables].map(([name, t]) => [name, { rows_written: t.written, skipped_by_rule: t.skippedByRule }])),
      unknown_enum_values: Object.fromEntries(
        [...this.unknownEnums].sort(([a], [b]) => (a < b ? -1 : 1)).map(([col, m]) => [col, Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)))]),
      ),
      inputs: this.inputs,
      input_bytes: this.bytesRead,
      seconds: round(seconds, 3),
      mb_per_s: round(this.bytesRead / 1e6 / Math.max(seconds, 1e-3), 3),
      records_per_s: Math.round(this.recordsRead / Math.max(seconds, 1e-3)),
      peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 1),
      reconciled: rec ? rec.ok : null,
      reconciliation_problems: rec ? rec.problems : [],
    };
  }

  /** The one-paragraph summary printed at the end of a run (one line; the printer escapes what came from data). */
  toText(): string {
    const seconds = this.seconds();
    const rec = this.reconcile();
    const tables = [...this.tables].map(([name, t]) => countOf(t.written, TABLE_NOUNS[name] ?? `${name} row`));
    const skipped = [...this.tables].filter(([, t]) => t.skippedByRule > 0).map(([n, t]) => `${formatCount(t.skippedByRule)} ${n}`);
    const unknown = [...this.unknownEnums].map(
      ([col, m]) =>
        `${col}: ${[...m]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 5)
          .map(([v, n]) => `${JSON.stringify(v)} x${formatCount(n)}`)
          .join(', ')}${m.size > 5 ? ', ...' : ''}`,
    );
    const parts = [
      `Read ${countOf(this.recordsRead, 'record')} (${formatBytes(this.bytesRead)}) from ${countOf(this.inputs.length, 'input')}; wrote ${tables.length ? listOf(tables) : 'nothing'}.`,
      this.shard !== null ? `Shard ${this.shard}: ${countOf(this.recordsOtherShards, 'record')} of other shards' conversations passed over.` : '',
      `${countOf(this.recordsRedacted, 'removed (GDPR) record')} redacted.`,
      this.lateRemovals
        ? `${countOf(this.lateRemovals, 'part')} ${this.lateRemovals === 1 ? 'was' : 'were'} marked removed in a copy that came after another copy: the input was read again so that no copy keeps its content.`
        : '',
      this.recordsForgotten ? `${countOf(this.recordsForgotten, 'record')} of forgotten people cleared.` : '',
      this.lateForgotten
        ? `${countOf(this.lateForgotten, 'conversation')} of forgotten people ${this.lateForgotten === 1 ? 'was' : 'were'} found theirs after other records of ${this.lateForgotten === 1 ? 'it' : 'them'} had gone out: the input was read again so that none keeps its content.`
        : '',
      this.recordsRejected
        ? `${countOf(this.recordsRejected, 'record')} rejected${this.rejectsFile ? ` (see ${this.rejectsFile})` : ''}: ${[...this.rejectsByCode].map(([c, n]) => `${c} x${formatCount(n)}`).join(', ')}.`
        : 'No record rejected.',
      skipped.length ? `Skipped by mapping rule: ${skipped.join(', ')}.` : '',
      unknown.length ? `Unknown enum values kept with defaults: ${unknown.join('; ')}.` : 'No unknown enum values.',
      `${formatSeconds(seconds)}, ${formatRate(this.bytesRead, seconds)}, ${countOf(Math.round(this.recordsRead / Math.max(seconds, 1e-3)), 'record')}/s, peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB.`,
      rec.ok ? 'All records accounted for.' : `RECONCILIATION FAILED: ${rec.problems.join('; ')}.`,
    ];
    return parts.filter(Boolean).join(' ');
  }
}

/** Each table's rows as a person counts them: "1 message", "25 conversations". */
const TABLE_NOUNS: Record<string, string | undefined> = { messages: 'message', conversations: 'conversation', answers: 'answer' };

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
