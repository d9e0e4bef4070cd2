// One segment (a few thousand consecutive records of one input) through split -> parse -> map -> decide removal ->
// redact -> encode (export) or keep as rows (validate, migrate, the library's row stream). What needs the whole run
// (duplicate keys across segments, removal spread across copies of a part, derived tables, counts, rejects, file
// order) goes back to the apply stage as plain data: key fingerprints with their redaction, partial aggregates,
// counts, failures with what their text shows, and the encoded fragments or rows. The same processor runs in worker
// threads and on the main thread, so output bytes do not depend on the thread count.

import { ChatportError } from '../errors.js';
import type { CompiledMapping } from '../mapping/compile-mapping.js';
import type { UnwrappedRecord } from '../mapping/map-rows.js';
import { finishRecordRows, keysOf, mapRows, unwrapRecord, type MappedRow } from '../mapping/map-rows.js';
import { stableStringify } from '../json/stable-json.js';
import { withoutRemovedContent } from '../redact/removed-elements.js';
import type { DeriveState } from '../mapping/compile-derive.js';
import type { MapContext } from '../mapping/rule-scope.js';
import type { Row, TableName } from '../model/canonical-schema.js';
import { parseRecord, positionOf } from '../readers/parse-record.js';
import { RecordSplitter, type RawRecord } from '../readers/record-splitter.js';
import { PrivacyRule, type PrivacySettings } from '../redact/privacy-rule.js';
import { redactRows } from '../redact/redact.js';
import { RemovalRule, type TextRemoval } from '../redact/removal-rule.js';
import type { EncodedFragment, TableEncoder } from '../writers/writer.js';
import { addToStates, partialOf } from './derive-conversations.js';
import { SegmentTables } from './segment-tables.js';
import { DuplicateKeys, PrintList } from './duplicate-keys.js';
import { duplicateError } from './record-errors.js';
import { plainError, plainRaw, type PlainError, type RecordFailure, type SegmentResult } from './segment-protocol.js';
import { ShardFilter, type Shard } from './shard-filter.js';

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

/** What a segment's rows become: encoded fragments of the sink's format, or the rows themselves. */
export type SegmentOutput = { readonly kind: 'fragments'; readonly encoders: ReadonlyMap<TableName, TableEncoder> } | { readonly kind: 'rows' };

/**
 * The apply stage's verdicts on records of a segment it sends back to be done again on the main thread (rare):
 * `duplicateRow`, which of the record's keyed rows (0-based, in row order) repeats an earlier key (the record is
 * rejected as MAP_DUPLICATE_ID); `removed`, an earlier copy of one of its keys was removed (the record is redacted).
 */
export type Verdicts = ReadonlyMap<number, { readonly duplicateRow?: number; readonly removed?: boolean }>;

/** A record through parse, unwrap, the removal decision and mapping: its rows, or why it has none. */
type Mapped =
  | {
      readonly ok: true;
      readonly record: Record<string, unknown>;
      readonly wrapper: Record<string, unknown> | null;
      readonly rows: MappedRow[];
      readonly skippedByRule: Partial<Record<TableName, number>>;
      readonly removed: boolean;
    }
  | { readonly ok: false; readonly error: ChatportError; readonly removal: TextRemoval; readonly unwrapped: UnwrappedRecord | null };

/** A record of another shard's conversation (--shard): not this run's to map, report or count beyond "read". */
const OTHER_SHARD = { ok: 'other-shard' } as const;

export class SegmentProcessor {
  private readonly tableIndex = new Map<TableName, number>();
  private readonly keysOf: (readonly string[] | null)[];
  /** Reused for the parts of one row's key text (printRows). */
  private readonly keyParts: string[] = [];
  /** Per table: the derived tables built from its rows (indexes in mapping.derived). */
  private readonly derivesOf: number[][];
  private readonly removal: RemovalRule;
  private readonly privacy: PrivacyRule;
  private readonly shard: ShardFilter | null;
  /** Unknown enum values of the record being mapped (withheld if it turns out removed). */
  private recordEnums: string[] = [];
  private readonly ctx: MapContext = { unknownEnum: (c, v) => this.recordEnums.push(c, v) };

  constructor(
    private readonly mapping: CompiledMapping,
    private readonly output: SegmentOutput,
    private readonly limits: ReadLimits,
    /** Keys removed from their first copy on (a run repeated because a removed copy came late). */
    private readonly forced: DuplicateKeys | null = null,
    /** Pseudonymizing and masking of the run (src/redact/privacy-rule.ts), applied to every row before it leaves. */
    privacy: PrivacySettings | null = null,
    /** This run's shard (--shard I/N): records of other shards' conversations are passed over before mapping. */
    shard: Shard | null = null,
  ) {
    this.privacy = new PrivacyRule(privacy, mapping.outputTables);
    this.shard = shard ? new ShardFilter(shard) : null;
    mapping.tables.forEach((t, i) => this.tableIndex.set(t.name, i));
    this.keysOf = mapping.tables.map((t) => (t.def.key.length ? t.def.key : null));
    this.derivesOf = mapping.tables.map((t) => mapping.derived.flatMap((d, i) => (d.from === t.name ? [i] : [])));
    this.removal = new RemovalRule(mapping);
  }

  /**
   * Block records carry positions relative to the block's first record (the apply stage adds how many records the
   * input had before it); failures of block records carry a copy of their raw record for rejects.jsonl.
   */
  process(file: string, orderBase: number, input: SegmentInput, verdicts: Verdicts | null): SegmentResult {
    const { mapping, tableIndex, keysOf } = this;
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
    const tables = new SegmentTables(
      mapping.tables.map((t) => t.name),
      this.output,
    );
    const skippedByRule: Partial<Record<TableName, number>> = {};
    const derivedStates = mapping.derived.map(() => new Map<string, DeriveState>());
    const keyRecords: number[] = [];
    const keyTables: number[] = [];
    const keyPrints = new PrintList();
    const keyRedacted: number[] = [];
    const enums: string[] = [];
    let matched = false;
    let unmatched = false;
    let mapped = 0;
    let redacted = 0;
    let forgotten = 0;
    let otherShard = 0;

    for (let i = 0; i < raws.length; i++) {
      const raw = raws[i]!;
      this.recordEnums = [];
      const verdict = verdicts?.get(i);
      const one = this.mapOne(raw, file);
      if (one.ok === 'other-shard') {
        otherShard++;
        continue;
      }
      let result: Mapped = one;
      // the record's key fingerprints go straight into the segment's list; a failed record takes them out again
      const printsFrom = keyPrints.size;
      if (result.ok) {
        this.printRows(result.rows, keyPrints);
        const removed = result.removed || verdict?.removed === true || this.isForced(keyPrints, printsFrom);
        if (verdict?.duplicateRow !== undefined) {
          result = {
            ok: false,
            error: this.duplicateOf(result.rows, verdict.duplicateRow),
            removal: removed || this.anyRemovedAt(result.rows) || result.rows.some((r) => r.removed === true) ? 'removed' : 'kept',
            unwrapped: null,
          };
        } else if (removed !== result.removed) result = { ...result, removed };
      }
      if (!result.ok) {
        if (!one.ok && result.unwrapped) this.printRows(keysOf_(mapping, result.unwrapped), keyPrints);
        // a failed copy of a key this run removes from the start is removed, whatever its own text shows
        const removal = result.removal === 'kept' && this.isForced(keyPrints, printsFrom) ? 'removed' : result.removal;
        const keys = keyPrints.cut(printsFrom);
        failures.push({
          index: i,
          error: plainError(result.error.at(positionOf(raw, file))),
          removal,
          keyPrints: keys,
          raw: input.kind === 'block' ? plainRaw(raw) : null,
        });
        if (removal === 'kept') enums.push(...this.recordEnums);
        else for (let k = 0; k < this.recordEnums.length; k += 2) enums.push(this.recordEnums[k]!, WITHHELD_VALUE);
        continue;
      }
      const { rows, removed, skippedByRule: skipped } = result;
      // before redaction, which clears extra
      if (!matched) {
        const beyond = this.filledBeyondKeys(result);
        matched = beyond === Beyond.Filled;
        unmatched ||= beyond === Beyond.Unfilled;
      }
      const redactedByRow = redactRows(rows, removed);
      finishRecordRows(mapping, rows, this.ctx);
      // a forgotten person's record is cleared like a removed one, before any derived table aggregates it
      if (this.privacy.forgetRecord(rows)) forgotten++;
      mapped++;
      if (removed || redactedByRow) redacted++;
      if (removed || redactedByRow) for (let k = 0; k < this.recordEnums.length; k += 2) enums.push(this.recordEnums[k]!, WITHHELD_VALUE);
      else enums.push(...this.recordEnums);
      for (const table in skipped) skippedByRule[table as TableName] = (skippedByRule[table as TableName] ?? 0) + skipped[table as TableName]!;
      // redaction keeps every key column, so the fingerprints taken before it (in keyPrints) are those of the redacted rows
      for (let r = 0; r < rows.length; r++) {
        const { table, row } = rows[r]!;
        const t = tableIndex.get(table)!;
        if (keysOf[t]) {
          keyRecords.push(i);
          keyTables.push(t);
          keyRedacted.push(row.redacted === true || removed ? 1 : 0);
        }
        const derives = this.derivesOf[t]!;
        for (let d = 0; d < derives.length; d++) addToStates(mapping.derived[derives[d]!]!, derivedStates[derives[d]!]!, row, orderBase + i, this.ctx);
        // after the derived tables took what they aggregate (their rows are done when they are written), before any encoder
        this.privacy.applyTo(table, row);
        tables.push(t, row, i);
      }
    }

    if (this.privacy.active) for (let k = 1; k < enums.length; k += 2) enums[k] = this.privacy.reported(enums[k]!);
    const fragments: Partial<Record<TableName, EncodedFragment>> = {};
    const rowsOut: Partial<Record<TableName, Row[]>> = {};
    const emitted: Partial<Record<TableName, number>> = {};
    const outcome = tables.finish();
    for (let t = 0; t < mapping.tables.length; t++) {
      const table = mapping.tables[t]!.name;
      const count = outcome.counts[t]!;
      if (count === 0) continue;
      emitted[table] = count;
      const rows = outcome.rows[t];
      if (rows) rowsOut[table] = rows;
      const fragment = outcome.fragments[t];
      if (fragment) fragments[table] = fragment;
    }
    const fatal = outcome.failed ? plainError(this.placeEncodingError(outcome.failed.error, raws[outcome.failed.record]!, file)) : null;
    return {
      records: raws.length,
      mapped,
      redacted,
      otherShard,
      failures,
      enums,
      keyRecords: Int32Array.from(keyRecords),
      keyTables: Uint8Array.from(keyTables),
      keyPrints: keyPrints.take(),
      keyRedacted: Uint8Array.from(keyRedacted),
      matched,
      unmatched,
      emitted,
      skippedByRule,
      fragments,
      rows: rowsOut,
      derived: derivedStates.map(partialOf),
      forgotten,
      forgottenConversations: this.privacy.takeFoundConversations(),
      fatal,
      sawContent,
    };
  }

  /**
   * Whether a record told the mapping anything beyond its keys: its rows are mapped again from the key fields alone,
   * and if nothing but `extra` differs, the rest of the record reached no column (a mapping of another vendor fills
   * keys, constants and counts, and puts the record in `extra`, removed text included). Asked until one record of
   * the run is filled, so a right mapping pays this once per segment.
   */
  private filledBeyondKeys(result: { record: Record<string, unknown>; wrapper: Record<string, unknown> | null; rows: readonly MappedRow[] }): Beyond {
    const { mapping } = this;
    const keysOnly: Record<string, unknown> = {};
    let others = false;
    for (const key of Object.keys(result.record)) {
      if (mapping.keySources.has(key)) keysOnly[key] = result.record[key];
      else others = true;
    }
    if (!others) return Beyond.NothingElse;
    const enums = this.recordEnums;
    const guessed = new Set<string>();
    for (let k = 0; k < enums.length; k += 2) guessed.add(enums[k]!);
    this.recordEnums = [];
    try {
      // validate's observer must not count this second look at the record
      const quiet = mapping.observer ? { ...mapping, observer: null } : mapping;
      return sameBeyondExtra(result.rows, mapRows(quiet, { record: keysOnly, wrapper: result.wrapper }, this.ctx).rows, guessed)
        ? Beyond.Unfilled
        : Beyond.Filled;
    } catch (e) {
      if (!(e instanceof ChatportError)) throw e;
      return Beyond.Filled; // the keys alone do not map: the other fields mattered
    } finally {
      this.recordEnums = enums;
    }
  }

  /** Parse, unwrap, the removal decision and mapping of one record; a ChatportError becomes a failure. */
  private mapOne(raw: RawRecord, file: string): Mapped | typeof OTHER_SHARD {
    const { mapping, shard } = this;
    // a record that names no conversation belongs to shard 0 (shard-filter.ts)
    if (shard && raw.problem !== undefined && !shard.takes(null)) return OTHER_SHARD;
    if (raw.problem) return { ok: false, error: raw.problem, removal: 'unknown', unwrapped: null };
    let parsed: unknown;
    try {
      parsed = parseRecord(raw, file).value;
    } catch (e) {
      if (!(e instanceof ChatportError)) throw e;
      if (shard && !shard.takes(null)) return OTHER_SHARD;
      return { ok: false, error: e, removal: this.removal.ofText(raw.bytes), unwrapped: null };
    }
    let unwrapped: UnwrappedRecord;
    try {
      unwrapped = unwrapRecord(mapping, parsed);
    } catch (e) {
      if (!(e instanceof ChatportError)) throw e;
      if (shard && !shard.takes(null)) return OTHER_SHARD;
      return { ok: false, error: e, removal: this.removal.ofValue(parsed, raw.bytes), unwrapped: null };
    }
    // the one place a sharded run passes records over: before mapping, so derived tables see only this shard's
    if (shard && !shard.takes(conversationOf(keysOf_(mapping, unwrapped)))) return OTHER_SHARD;
    const removed = this.removal.ofRecord(unwrapped.record, raw.bytes);
    try {
      let mapped = mapRows(mapping, unwrapped, this.ctx);
      if (mapped.removedElements && !removed) {
        // an element removed on its own: its content leaves the record before anything reads it again (src/redact)
        this.recordEnums = [];
        mapped = mapRows(mapping, { record: withoutRemovedContent(unwrapped.record, mapped.removedElements), wrapper: unwrapped.wrapper }, this.ctx);
      }
      return { ok: true, record: unwrapped.record, wrapper: unwrapped.wrapper, rows: mapped.rows, skippedByRule: mapped.skippedByRule, removed };
    } catch (e) {
      if (!(e instanceof ChatportError)) throw e;
      return { ok: false, error: e, removal: removed || this.removal.anyElementRemoved(unwrapped.record) ? 'removed' : 'kept', unwrapped };
    }
  }

  /** Appends the key fingerprints of rows (of keyed tables) to `list`, one a keyed row in row order. */
  private printRows(rows: readonly { table: TableName; row: Row }[], list: PrintList): void {
    const parts = this.keyParts;
    for (const { table, row } of rows) {
      const keys = this.keysOf[this.tableIndex.get(table)!];
      if (!keys) continue;
      // the parts of rowKeyText (record-errors.ts), which the apply stage and datasets fingerprint as one text
      parts[0] = table;
      for (let k = 0; k < keys.length; k++) parts[k + 1] = String(row[keys[k]!]);
      list.appendParts(parts, keys.length + 1);
    }
  }

  /** Whether a fingerprint appended to `list` since word `from` is one this run removes from the start. */
  private isForced(list: PrintList, from: number): boolean {
    return this.forced !== null && list.anyIn(this.forced, from);
  }

  private anyRemovedAt(rows: readonly { row: Row }[]): boolean {
    return rows.some(({ row }) => row.removed_at !== undefined && row.removed_at !== null);
  }

  /** The MAP_DUPLICATE_ID error for a record whose `repeated`-th keyed row repeats an earlier key. */
  private duplicateOf(rows: readonly { table: TableName; row: Row }[], repeated: number): ChatportError {
    let seen = 0;
    for (const { table, row } of rows) {
      const keys = this.keysOf[this.tableIndex.get(table)!];
      if (!keys) continue;
      if (seen++ === repeated)
        return duplicateError(
          table,
          keys,
          keys.map((k) => String(row[k])),
        );
    }
    throw new Error(`internal: record has no keyed row ${repeated}`);
  }

  /** An encoder names the row within its fragment; the user needs the input record that produced it. */
  private placeEncodingError(e: ChatportError, raw: RawRecord, file: string): ChatportError {
    const message = e.message.replace(/ \(row \d+\)$/, '') + ' (a row mapped from this record)';
    return new ChatportError(e.code, message, e.stage, { ...positionOf(raw, file), ...(e.position.path !== undefined ? { path: e.position.path } : {}) });
  }
}

/** What an unknown enum value of a removed record is counted as: its text may be content. */
export const WITHHELD_VALUE = '(withheld: removed record)';

const keysOf_ = keysOf;

/** The conversation a record belongs to for sharding: its first keyed row's conversation_id, as text. */
function conversationOf(keyRows: readonly { row: Row }[]): string | null {
  for (const { row } of keyRows) {
    const id = row.conversation_id;
    if (typeof id === 'string') return id;
  }
  return null;
}

/**
 * Whether the mapping read anything but keys from a record: some top-level field other than those its key columns
 * read is consumed (absent from the record-level rows' `extra`, or only partly there). A mapping that reads nothing
 * else from any record of a run is the wrong mapping for the input (apply-stage.ts). Records that give only for_each
 * rows are not judged: their `extra` is per element.
 */
const enum Beyond {
  /** The record's data reached a column other than the keys (or gave rows its keys alone do not). */
  Filled,
  /** The record has other fields, and none of them reached a column: only `extra` would hold them. */
  Unfilled,
  /** The record holds nothing but its keys: it tells nothing about the mapping. */
  NothingElse,
}

/**
 * Two mapped row lists alike in everything but `extra` (which holds what the mapping did not read) and the columns
 * `guessed` names: an enum value the mapping does not know, whose column holds the mapping's default instead.
 */
function sameBeyondExtra(a: readonly MappedRow[], b: readonly MappedRow[], guessed: ReadonlySet<string>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.table !== y.table) return false;
    for (const column of new Set([...Object.keys(x.row), ...Object.keys(y.row)])) {
      if (column === 'extra' || guessed.has(column)) continue;
      if (stableStringify(x.row[column] ?? null) !== stableStringify(y.row[column] ?? null)) return false;
    }
  }
  return true;
}

/** The result of a segment that failed as a whole before any record (an input that starts with a broken BOM). */
function emptyResult(derived: number, fatal: PlainError): SegmentResult {
  return {
    records: 0,
    mapped: 0,
    redacted: 0,
    otherShard: 0,
    failures: [],
    enums: [],
    keyRecords: new Int32Array(0),
    keyTables: new Uint8Array(0),
    keyPrints: new Uint32Array(0),
    keyRedacted: new Uint8Array(0),
    matched: false,
    unmatched: false,
    emitted: {},
    skippedByRule: {},
    fragments: {},
    rows: {},
    derived: Array.from({ length: derived }, () => ({ ids: [], slots: [] })),
    forgotten: 0,
    forgottenConversations: [],
    fatal,
    sawContent: true,
  };
}
