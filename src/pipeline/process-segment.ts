// One segment of an export (a few thousand consecutive records of one input) through parse -> map -> redact ->
// encode, with the same functions as the row path (parse-record.ts, compile-mapping.ts, redact.ts). What needs
// the whole run (duplicate keys across segments, derived tables, stats, rejects, file order) goes back to the main
// thread as plain data: key fingerprints, partial aggregates, counts and encoded fragments, never rows. The same
// processor runs in worker threads and on the main thread, so output bytes do not depend on the thread count.

import { ChatportError } from '../errors.js';
import { mapRecord, type CompiledMapping } from '../mapping/compile-mapping.js';
import type { DeriveState } from '../mapping/compile-derive.js';
import type { MapContext } from '../mapping/compile-rule.js';
import type { Row, TableName } from '../model/canonical-schema.js';
import { parseRecord, positionOf } from '../readers/parse-record.js';
import type { RawRecord } from '../readers/record-splitter.js';
import { redactRows } from '../redact/redact.js';
import type { EncodedFragment, TableEncoder } from '../writers/writer.js';
import { addToStates, partialOf } from './derive-conversations.js';
import { fingerprintInto } from './duplicate-keys.js';
import { duplicateError, rowKeyText } from './record-errors.js';
import { plainError, type PlainError, type RecordFailure, type SegmentResult } from './segment-protocol.js';

/** Rows of one record a derived table may take before the next record's order numbers begin. */
export const ROWS_PER_RECORD_ORDER = 2 ** 20;

/**
 * Records the main thread found to repeat an earlier key: index in the segment -> which of the record's keyed
 * rows (0-based, in row order) repeated. They are mapped as usual (unknown enums count, removal is known) and
 * then rejected as MAP_DUPLICATE_ID, exactly as the row path rejects them.
 */
export type Duplicates = ReadonlyMap<number, number>;

export class SegmentProcessor {
  private readonly tableIndex = new Map<TableName, number>();
  private readonly keysOf: (readonly string[] | null)[];
  private enums: string[] = [];
  private readonly ctx: MapContext = { removed: false, unknownEnum: (c, v) => this.enums.push(c, v) };

  constructor(
    private readonly mapping: CompiledMapping,
    private readonly encoders: ReadonlyMap<TableName, TableEncoder>,
  ) {
    mapping.tables.forEach((t, i) => this.tableIndex.set(t.name, i));
    this.keysOf = mapping.tables.map((t) => (t.def.key.length ? t.def.key : null));
  }

  process(file: string, firstOrdinal: number, raws: readonly RawRecord[], duplicates: Duplicates | null): SegmentResult {
    const { mapping, ctx, tableIndex, keysOf } = this;
    this.enums = [];
    const failures: RecordFailure[] = [];
    const rowsByTable = new Map<TableName, Row[]>();
    /** Per table, the segment index of the record each row came from (to place an encoding error). */
    const recordOfRow = new Map<TableName, number[]>();
    const emitted: Partial<Record<TableName, number>> = {};
    const skippedByRule: Partial<Record<TableName, number>> = {};
    const derivedStates = mapping.derived.map(() => new Map<string, DeriveState>());
    const keyRecords: number[] = [];
    const keyTables: number[] = [];
    const keyTexts: string[] = [];
    let mapped = 0;
    let redacted = 0;

    for (let i = 0; i < raws.length; i++) {
      const raw = raws[i]!;
      // reset before anything can throw: a record that fails to parse must not inherit the previous one's flag
      ctx.removed = false;
      let rows: { table: TableName; row: Row }[];
      let removed: boolean;
      let redactedByRow: boolean;
      let skipped: Partial<Record<TableName, number>>;
      try {
        if (raw.problem) throw raw.problem;
        const parsed = parseRecord(raw, file);
        const record = mapRecord(mapping, parsed.value, ctx);
        redactedByRow = redactRows(record.rows, record.removed);
        // a row redacted for its removed_at withholds the record's text from rejects too
        if (redactedByRow) ctx.removed = true;
        const repeated = duplicates?.get(i);
        if (repeated !== undefined) throw this.duplicateOf(record.rows, repeated);
        rows = record.rows;
        removed = record.removed;
        skipped = record.skippedByRule;
      } catch (e) {
        if (!(e instanceof ChatportError)) throw e;
        failures.push({ index: i, error: plainError(e.at(positionOf(raw, file))), removed: ctx.removed });
        continue;
      }
      mapped++;
      if (removed || redactedByRow) redacted++;
      for (const table in skipped) skippedByRule[table as TableName] = (skippedByRule[table as TableName] ?? 0) + skipped[table as TableName]!;
      for (let r = 0; r < rows.length; r++) {
        const { table, row } = rows[r]!;
        const t = tableIndex.get(table)!;
        const keys = keysOf[t];
        // redaction keeps every key column, so duplicates are found on the redacted rows
        if (keys) {
          keyRecords.push(i);
          keyTables.push(t);
          keyTexts.push(rowKeyText(row, keys));
        }
        let list = rowsByTable.get(table);
        if (!list) {
          rowsByTable.set(table, (list = []));
          recordOfRow.set(table, []);
        }
        list.push(row);
        recordOfRow.get(table)!.push(i);
        emitted[table] = (emitted[table] ?? 0) + 1;
        for (let d = 0; d < mapping.derived.length; d++) {
          const derive = mapping.derived[d]!;
          if (derive.from === table) addToStates(derive, derivedStates[d]!, row, (firstOrdinal + i) * ROWS_PER_RECORD_ORDER + r, ctx);
        }
      }
    }

    const fragments: Partial<Record<TableName, EncodedFragment>> = {};
    let fatal: PlainError | null = null;
    for (const [table, rows] of rowsByTable) {
      try {
        fragments[table] = this.encoders.get(table)!.encode(rows, 0);
      } catch (e) {
        if (!(e instanceof ChatportError)) throw e;
        fatal = plainError(this.placeEncodingError(e, raws[recordOfRow.get(table)![e.position.recordIndex ?? 0]!]!, file));
        break;
      }
    }

    const keyPrints = new Uint32Array(keyTexts.length * 2);
    for (let k = 0; k < keyTexts.length; k++) fingerprintInto(keyTexts[k]!, keyPrints, k * 2);
    return {
      records: raws.length,
      mapped,
      redacted,
      failures,
      enums: this.enums,
      keyRecords: Int32Array.from(keyRecords),
      keyTables: Uint8Array.from(keyTables),
      keyPrints,
      emitted,
      skippedByRule,
      fragments,
      derived: derivedStates.map(partialOf),
      fatal,
    };
  }

  /** The MAP_DUPLICATE_ID error for a record whose `repeated`-th keyed row repeats an earlier key. */
  private duplicateOf(rows: readonly { table: TableName; row: Row }[], repeated: number): ChatportError {
    let seen = 0;
    for (const { table, row } of rows) {
      const keys = this.keysOf[this.tableIndex.get(table)!];
      if (!keys) continue;
      if (seen++ === repeated) return duplicateError(table, keys, keys.map((k) => String(row[k])));
    }
    throw new Error(`internal: record has no keyed row ${repeated}`);
  }

  /** An encoder names the row within its fragment; the user needs the input record that produced it. */
  private placeEncodingError(e: ChatportError, raw: RawRecord, file: string): ChatportError {
    const message = e.message.replace(/ \(row \d+\)$/, '') + ' (a row mapped from this record)';
    return new ChatportError(e.code, message, e.stage, { ...positionOf(raw, file), ...(e.position.path !== undefined ? { path: e.position.path } : {}) });
  }
}
