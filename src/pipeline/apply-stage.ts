// The one ordered stage of the pipeline, on the main thread: segment results are applied here strictly in input
// order, and only here are the decisions taken that need the whole run. Duplicate keys (the first copy wins), removal
// spread across copies of a part (the removal ledger: a first copy whose key an earlier copy removed is redone
// redacted), record counts, the error policy and rejects, unknown enum values, the partial aggregates of derived
// tables, and handing the rows or fragments to the sink. Derived tables are written when all input is applied.

import { ChatportError } from '../errors.js';
import type { CompiledMapping } from '../mapping/compile-mapping.js';
import type { Row, TableName } from '../model/canonical-schema.js';
import type { RawRecord } from '../readers/record-splitter.js';
import { emptyInputError } from '../readers/record-splitter.js';
import { PrivacyRule, type PrivacySettings } from '../redact/privacy-rule.js';
import type { RemovalLedger } from '../redact/removal-ledger.js';
import type { Sink } from '../sinks/sink.js';
import { encodingWriter } from '../writers/registry.js';
import { ConversationDeriver } from './derive-conversations.js';
import type { FingerprintSet } from './duplicate-keys.js';
import { ORDER_PER_SEGMENT, SegmentProcessor, type ReadLimits, type Verdicts } from './process-segment.js';
import type { InputState, Segment } from './read-segments.js';
import { RecordErrors, type ErrorPolicy } from './record-errors.js';
import type { RunStats } from './run-stats.js';
import { chatportError, type PlainError, type PlainRaw, type SegmentResult } from './segment-protocol.js';
import type { Shard } from './shard-filter.js';

/** Rows of derived tables handed to the sink at a time. */
const DERIVED_BATCH_ROWS = 4096;

export interface ApplyOptions {
  readonly mapping: CompiledMapping;
  readonly sink: Sink;
  readonly stats: RunStats;
  readonly onError: ErrorPolicy;
  readonly limits: ReadLimits;
  /** Every key written in the run (the duplicate detector; the ledger reads it too). */
  readonly written: FingerprintSet;
  readonly ledger: RemovalLedger;
  /** Derived conversations kept in memory before spilling to `spillDir` (the run's own temporary folder). */
  readonly maxConversationsInMemory?: number;
  readonly spillDir: string;
  /** Fail a run in which the mapping read nothing but keys from any record (validate only reports it). */
  readonly requireMatch: boolean;
  /** Pseudonymizing and masking (src/redact/privacy-rule.ts): derived rows pass it here, rejects lose their text. */
  readonly privacy: PrivacySettings | null;
  /** This run's shard (--shard I/N), or null. */
  readonly shard: Shard | null;
}

export class ApplyStage {
  private readonly derivers: ConversationDeriver[];
  private readonly errors: RecordErrors;
  private local: SegmentProcessor | null = null;
  private readonly privacy: PrivacyRule;
  private readonly recordsAreConversations: boolean;
  /**
   * Conversations a thread found to be a forgotten person's during this attempt (salted hashes, as many as their
   * conversations in the input): their records before the finding one, in the input or on another thread, went out
   * unforgotten, so the run is done again with these known from the start (run-pipeline.ts).
   */
  readonly foundConversations = new Set<string>();
  /** Some record of the run had a field read beyond its keys; some had other fields and none was read. */
  private matched = false;
  private unmatched = false;

  constructor(private readonly o: ApplyOptions) {
    const { mapping, stats } = o;
    for (const t of mapping.tables) {
      stats.table(t.name);
      if (t.onePerRecord) stats.recordLevelTables.add(t.name);
    }
    for (const d of mapping.derived) stats.table(d.name);
    this.derivers = mapping.derived.map((d) => new ConversationDeriver(d, o.spillDir, o.maxConversationsInMemory));
    this.privacy = new PrivacyRule(o.privacy, mapping.outputTables);
    this.recordsAreConversations = mapping.tables.some((t) => t.onePerRecord && t.def.key.length === 1 && t.def.key[0] === 'conversation_id');
    this.errors = new RecordErrors(o.onError, stats, o.ledger, this.privacy.rejectTextWithheld);
  }

  /** This thread's processor: every segment when there are no workers, and a segment redone for a verdict. */
  processor(): SegmentProcessor {
    if (this.local) return this.local;
    const { mapping, sink, limits, ledger } = this.o;
    const input = sink.input;
    const output =
      input.kind === 'rows'
        ? ({ kind: 'rows' } as const)
        : ({
            kind: 'fragments',
            encoders: new Map(mapping.tables.map((t) => [t.name, encodingWriter(input).encoder({ table: t.def, csvRaw: input.csvRaw })] as const)),
          } as const);
    this.local = new SegmentProcessor(mapping, output, limits, ledger.forced, this.o.privacy, this.o.shard);
    return this.local;
  }

  /** Applies one segment's result (computed by a worker, or null to compute it here now). */
  async apply(seg: Segment, computed: SegmentResult | null): Promise<void> {
    const { stats, sink } = this.o;
    const { input } = seg;
    const file = input.name;
    const orderBase = seg.number * ORDER_PER_SEGMENT;
    // block records and the records after a long line count from their splitter's start
    const base = seg.relativeFrom === null ? 0 : input.counts.records - seg.relativeFrom;
    if (seg.records.kind === 'records' && seg.relativeFrom !== null) input.relativeBase ??= base;
    let result = computed ?? this.processor().process(file, orderBase, seg.records, null);
    if (result.fatal) throw chatportError(shift(result.fatal, base));
    this.foundForgotten(result.forgottenConversations);
    const verdicts = this.judgeKeys(result);
    // rare: the segment is done again here with the verdicts (its keys are already registered)
    if (verdicts) result = this.processor().process(file, orderBase, seg.records, verdicts);
    if (result.fatal) throw chatportError(shift(result.fatal, base));
    if (verdicts) this.foundForgotten(result.forgottenConversations);
    stats.recordsForgotten += result.forgotten;
    stats.recordsRead += result.records;
    input.counts.records += result.records;
    input.sawContent ||= result.sawContent;
    this.matched ||= result.matched;
    this.unmatched ||= result.unmatched;
    const { enums } = result;
    for (let k = 0; k < enums.length; k += 2) stats.unknownEnum(enums[k]!, enums[k + 1]!);
    for (const f of result.failures) {
      const raw = f.raw ? rawRecordOf(f.raw, base) : (seg.records as { raws: readonly RawRecord[] }).raws[f.index]!;
      const shifted = seg.records.kind === 'records' && base !== 0 ? { ...raw, recordIndex: raw.recordIndex + base } : raw;
      this.errors.handle(chatportError(shift(f.error, base)), shifted, file, f.removal, f.keyPrints);
    }
    stats.recordsMapped += result.mapped;
    stats.recordsRedacted += result.redacted;
    stats.recordsOtherShards += result.otherShard;
    for (const table in result.skippedByRule) stats.table(table as TableName).skippedByRule += result.skippedByRule[table as TableName]!;
    for (const table in result.emitted) stats.table(table as TableName).emitted += result.emitted[table as TableName]!;
    for (const table in result.fragments) await sink.writeFragment(table as TableName, result.fragments[table as TableName]!);
    for (const table in result.rows) await sink.writeRows(table as TableName, result.rows[table as TableName]!);
    for (let d = 0; d < this.derivers.length; d++) {
      this.derivers[d]!.mergePartial(result.derived[d]!);
      await this.derivers[d]!.maybeSpill();
    }
    for (const r of this.errors.take()) await sink.reject(r);
    if (seg.endLine !== null && !input.sawContent) throw emptyInputError(file, seg.endLine);
  }

  /** A read error raised after a hand-over counts records from there: shifted like the records. */
  placeReadError(e: ChatportError, input: InputState): ChatportError {
    const base = input.relativeBase ?? input.counts.records;
    const at = e.position.recordIndex;
    return at === undefined ? e : new ChatportError(e.code, e.message, e.stage, { ...e.position, recordIndex: at + base });
  }

  /** After all input: the run-level checks, then the derived tables, in conversation-id order. */
  async finish(checkAbort: () => void): Promise<void> {
    const { mapping, stats, sink } = this.o;
    stats.onlyKeysRead = this.unmatched && !this.matched;
    if (stats.onlyKeysRead && this.o.requireMatch) {
      throw new ChatportError(
        'CONFIG_MAPPING_MISMATCH',
        `the mapping ${mapping.vendor} filled nothing but the key columns from any of the ${stats.recordsMapped} records (everything else would land in extra): is --from the right mapping for this input?`,
        'config',
      );
    }
    // no record of the run had what the mapping requires (--on-error skip): a run that mapped nothing is no success,
    // and its rejects would be the whole input, raw, judged by a removal rule that may not be this vendor's. Lines that
    // do not parse, and values of the wrong type, say nothing about the mapping: they are rejected as usual.
    const missing = stats.rejectsByCode.get('MAP_MISSING_FIELD') ?? 0;
    if (stats.recordsMapped === 0 && missing > 0 && this.o.requireMatch) {
      throw new ChatportError(
        'CONFIG_MAPPING_MISMATCH',
        `none of the ${stats.recordsRejected} records has the fields the mapping ${mapping.vendor} requires (${missing} lack a key or required field): is --from the right mapping for this input? (chatport validate shows why)`,
        'config',
      );
    }
    for (const d of this.derivers) {
      let batch: Row[] = [];
      for await (const row of d.rows()) {
        stats.table(d.derive.name).emitted++;
        // built from rows before pseudonymizing and masking (a pseudonymized customer_id is the pseudonym of the raw id)
        this.privacy.applyToDerived(d.derive.name, row);
        batch.push(row);
        if (batch.length >= DERIVED_BATCH_ROWS) {
          checkAbort();
          await sink.writeRows(d.derive.name, batch);
          batch = [];
        }
      }
      if (batch.length) await sink.writeRows(d.derive.name, batch);
    }
  }

  /** Conversations a thread found a forgotten person's: every derived row of them is forgotten, and the run redone. */
  private foundForgotten(hashes: readonly string[]): void {
    if (hashes.length === 0) return;
    this.privacy.learnConversations(hashes);
    // a record that is a whole conversation (one row of a table keyed by conversation_id alone: Intercom, LiveChat,
    // Zendesk Chat, OnceHub) was forgotten whole; a record that is a part of one (Dashly, Expertflow) may have others
    if (!this.recordsAreConversations) for (const h of hashes) this.foundConversations.add(h);
  }

  /** Removes spilled aggregates; safe to call more than once (also on failure). */
  async cleanup(): Promise<void> {
    await Promise.all(this.derivers.map((d) => d.cleanup()));
  }

  /**
   * Duplicate keys across the run and removal across copies, per record in order: a record with a key written
   * before is rejected whole (the first copy wins); a first copy that is not redacted although an earlier copy of
   * one of its keys was removed is redone redacted. Keys of a record are remembered only when it is written.
   * Returns the verdicts when the segment must be redone, else null.
   */
  private judgeKeys(result: SegmentResult): Verdicts | null {
    const { written, ledger } = this.o;
    const { keyRecords, keyPrints, keyRedacted } = result;
    let verdicts: Map<number, { duplicateRow?: number; removed?: boolean }> | null = null;
    for (let k = 0; k < keyRecords.length;) {
      const rec = keyRecords[k]!;
      let end = k;
      while (end < keyRecords.length && keyRecords[end] === rec) end++;
      let repeated = -1;
      for (let j = k; j < end && repeated < 0; j++) if (written.hasPair(keyPrints[j * 2]!, keyPrints[j * 2 + 1]!)) repeated = j - k;
      if (repeated >= 0) {
        // rejected: the ledger sees it with the other rejects
        (verdicts ??= new Map()).set(rec, { duplicateRow: repeated });
      } else {
        let removed = false;
        for (let j = k; j < end && !removed; j++) removed = keyRedacted[j] === 0 && ledger.isRemoved(keyPrints[j * 2]!, keyPrints[j * 2 + 1]!);
        if (removed) (verdicts ??= new Map()).set(rec, { removed: true });
        for (let j = k; j < end; j++) {
          written.addPair(keyPrints[j * 2]!, keyPrints[j * 2 + 1]!);
          ledger.onWritten(keyPrints[j * 2]!, keyPrints[j * 2 + 1]!, removed || keyRedacted[j] === 1);
        }
      }
      k = end;
    }
    return verdicts;
  }
}

/** A record's error with its record index counted from the input's start. */
function shift(error: PlainError, base: number): PlainError {
  if (base === 0 || error.position.recordIndex === undefined) return error;
  return { ...error, position: { ...error.position, recordIndex: error.position.recordIndex + base } };
}

function rawRecordOf(raw: PlainRaw, base: number): RawRecord {
  return { ...raw, bytes: Buffer.from(raw.bytes.buffer, raw.bytes.byteOffset, raw.bytes.byteLength), recordIndex: raw.recordIndex + base };
}
