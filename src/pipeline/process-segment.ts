// One segment of an export (a few thousand consecutive records of one input) through parse -> map -> redact ->
// encode, with the same functions as the row path (parse-record.ts, compile-mapping.ts, redact.ts). What needs
// the whole run (duplicate keys across segments, derived tables, stats, rejects, file order) goes back to the main
// thread as plain data: key fingerprints, partial aggregates, counts and encoded fragments, never rows. The same
// processor runs in worker threads and on the main thread, so output bytes do not depend on the thread count.

import { ChatportError } from '../errors.js';
import type { CompiledMapping } from '../mapping/compile-mapping.js';
import type { DeriveState } from '../mapping/compile-derive.js';
import type { MapContext } from '../mapping/compile-rule.js';
import type { Row, TableName } from '../model/canonical-schema.js';
import { positionOf } from '../readers/parse-record.js';
import { RecordSplitter, type RawRecord } from '../readers/record-splitter.js';
import type { EncodedFragment, TableEncoder } from '../writers/writer.js';
import { addToStates, partialOf } from './derive-conversations.js';
import { fingerprintInto } from './duplicate-keys.js';
import { mapRawRecord, type RedactedRecord } from './map-raw-record.js';
import { duplicateError, rowKeyText } from './record-errors.js';
import { plainError, plainRaw, type PlainError, type RecordFailure, type SegmentResult } from './segment-protocol.js';

/**
 * Order numbers of derived-table rows: segment n's records are n * ORDER_PER_SEGMENT + their index in it, so
 * segments aggregated apart agree on input order (rows of one record share their record's number and keep their
 * order because one segment adds them in turn). Room for 2^26 records a segment and 2^27 segments.
 */
export const ORDER_PER_SEGMENT = 2 ** 26;

/** A segment's records: split by the main thread, or a block of whole JSONL lines split here. */
export type SegmentInput =
  | { readonly kind: 'records'; readonly raws: readonly RawRecord[] }
  | { readonly kind: 'block'; readonly bytes: Buffer; readonly byteOffset: number; readonly line: number };

export interface ReadLimits {
  readonly maxRecordBytes: number;
  readonly maxDepth: number;
}

/**
 * Records the main thread found to repeat an earlier key: index in the segment -> which of the record's keyed
 * rows (0-based, in row order) repeated. They are mapped as usual (unknown enums count, removal is known) and
 * then rejected as MAP_DUPLICATE_ID, exactly as the row path rejects them.
 */
export type Duplicates = ReadonlyMap<number, number>;

export class SegmentProcessor {
  private readonly tableIndex = new Map<TableName, number>();
  private readonly keysOf: (readonly string[] | null)[];
  /** Per table: the derived tables built from its rows (indexes in mapping.derived). */
  private readonly derivesOf: number[][];
  private enums: string[] = [];
  private readonly ctx: MapContext = { removed: false, removalKnown: false, unknownEnum: (c, v) => this.enums.push(c, v) };

  constructor(
    private readonly mapping: CompiledMapping,
    private readonly encoders: ReadonlyMap<TableName, TableEncoder>,
    private readonly limits: ReadLimits,
  ) {
    mapping.tables.forEach((t, i) => this.tableIndex.set(t.name, i));
    this.keysOf = mapping.tables.map((t) => (t.def.key.length ? t.def.key : null));
    this.derivesOf = mapping.tables.map((t) => mapping.derived.flatMap((d, i) => (d.from === t.name ? [i] : [])));
  }

  /**
   * Block records carry positions relative to the block's first record (the main thread adds how many records
   * the input had before it); failures of block records carry a copy of their raw record for rejects.jsonl.
   */
  process(file: string, orderBase: number, input: SegmentInput, duplicates: Duplicates | null): SegmentResult {
    const { mapping, ctx, tableIndex, keysOf } = this;
    this.enums = [];
    let raws: readonly RawRecord[];
    let sawContent = true;
    if (input.kind === 'records') raws = input.raws;
    else {
      const splitter = new RecordSplitter({
        file,
        envelopeKeys: mapping.envelopeKeys,
        ...this.limits,
        lines: true,
        start: { byteOffset: input.byteOffset, line: input.line, recordIndex: 0 },
        block: true,
      });
      try {
        raws = splitter.push(input.bytes).concat(splitter.end());
      } catch (e) {
        if (!(e instanceof ChatportError)) throw e;
        return emptyResult(mapping.derived.length, plainError(e));
      }
      sawContent = splitter.sawContent;
    }
    const failures: RecordFailure[] = [];
    /** Per table (index in mapping.tables): its rows, and the segment index of the record each came from. */
    const rowsOf: (Row[] | null)[] = mapping.tables.map(() => null);
    const recordOf: number[][] = mapping.tables.map(() => []);
    const skippedByRule: Partial<Record<TableName, number>> = {};
    const derivedStates = mapping.derived.map(() => new Map<string, DeriveState>());
    const keyRecords: number[] = [];
    const keyTables: number[] = [];
    const keyTexts: string[] = [];
    let mapped = 0;
    let redacted = 0;

    for (let i = 0; i < raws.length; i++) {
      const raw = raws[i]!;
      let record: RedactedRecord;
      try {
        record = mapRawRecord(mapping, raw, file, ctx);
        const repeated = duplicates?.get(i);
        if (repeated !== undefined) throw this.duplicateOf(record.mapped.rows, repeated);
      } catch (e) {
        if (!(e instanceof ChatportError)) throw e;
        failures.push({ index: i, error: plainError(e.at(positionOf(raw, file))), removed: ctx.removed, removalKnown: ctx.removalKnown, raw: input.kind === 'block' ? plainRaw(raw) : null });
        continue;
      }
      const { rows, removed, skippedByRule: skipped } = record.mapped;
      mapped++;
      if (removed || record.redactedByRow) redacted++;
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
        (rowsOf[t] ??= []).push(row);
        recordOf[t]!.push(i);
        const derives = this.derivesOf[t]!;
        for (let d = 0; d < derives.length; d++) addToStates(mapping.derived[derives[d]!]!, derivedStates[derives[d]!]!, row, orderBase + i, ctx);
      }
    }

    const fragments: Partial<Record<TableName, EncodedFragment>> = {};
    const emitted: Partial<Record<TableName, number>> = {};
    let fatal: PlainError | null = null;
    for (let t = 0; t < rowsOf.length && fatal === null; t++) {
      const rows = rowsOf[t];
      if (!rows) continue;
      const table = mapping.tables[t]!.name;
      emitted[table] = rows.length;
      try {
        fragments[table] = this.encoders.get(table)!.encode(rows, 0);
      } catch (e) {
        if (!(e instanceof ChatportError)) throw e;
        fatal = plainError(this.placeEncodingError(e, raws[recordOf[t]![e.position.recordIndex ?? 0]!]!, file));
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
      sawContent,
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

/** The result of a segment that failed as a whole before any record (an input that starts with a broken BOM). */
function emptyResult(derived: number, fatal: PlainError): SegmentResult {
  return {
    records: 0,
    mapped: 0,
    redacted: 0,
    failures: [],
    enums: [],
    keyRecords: new Int32Array(0),
    keyTables: new Uint8Array(0),
    keyPrints: new Uint32Array(0),
    emitted: {},
    skippedByRule: {},
    fragments: {},
    derived: Array.from({ length: derived }, () => ({ ids: [], slots: [] })),
    fatal,
    sawContent: true,
  };
}
