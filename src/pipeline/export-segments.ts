// The export's stages on every core. The main thread reads and splits the inputs and cuts the records into
// segments of a fixed size (independent of read chunks and thread count); segments are processed (parse, map,
// redact, encode: process-segment.ts) by worker threads, or here when there are none; results are applied strictly
// in input order: duplicate keys across the run, stats, rejects, partial aggregates of derived tables, and the
// encoded fragments appended to the writers. Derived tables are written last. Output bytes are the same for any
// number of workers, because a segment's bytes depend only on its records and the order of application is fixed.

import type { Readable } from 'node:stream';
import { ChatportError } from '../errors.js';
import type { CompiledMapping } from '../mapping/compile-mapping.js';
import { TABLES, type Row, type TableName } from '../model/canonical-schema.js';
import type { InputCounts } from './run-stats.js';
import type { InputSource } from '../readers/input-sources.js';
import { readRawBatches } from '../readers/record-stream.js';
import type { RawRecord } from '../readers/record-splitter.js';
import type { TableWriter, WriterDef } from '../writers/writer.js';
import { ConversationDeriver } from './derive-conversations.js';
import { DuplicateKeys } from './duplicate-keys.js';
import { SegmentProcessor, type Duplicates } from './process-segment.js';
import { RecordErrors, type ErrorPolicy, type RejectEntry } from './record-errors.js';
import type { RunStats } from './run-stats.js';
import { SegmentPool } from './segment-pool.js';
import { chatportError, type SegmentResult } from './segment-protocol.js';

/**
 * A segment ends after this many records or bytes, whichever comes first. 2048 measured as fast as 4096 and 8192
 * with 2 workers and ~50 MB less peak RSS (each segment in flight holds its records, values and rows).
 */
export const SEGMENT_RECORDS = 2048;
export const SEGMENT_BYTES = 2 << 20;
/** Rows of derived tables handed to their writer at a time. */
const DERIVED_BATCH_ROWS = 4096;

export interface SegmentRunOptions {
  readonly mapping: CompiledMapping;
  /** The `--from` that workers load the mapping from (default: the compiled mapping's file). */
  readonly mappingFrom?: string;
  readonly sources: readonly InputSource[];
  readonly onError: ErrorPolicy;
  readonly stats: RunStats;
  readonly writerDef: WriterDef;
  readonly writers: ReadonlyMap<TableName, TableWriter>;
  readonly csvRaw: boolean;
  /** Worker threads; 0 processes every segment on this thread. */
  readonly workers: number;
  readonly onReject: (entry: RejectEntry) => Promise<void>;
  /** Called between segments: throws to stop the run (SIGINT/SIGTERM). */
  readonly checkAbort: () => void;
  readonly maxRecordBytes?: number;
  readonly maxDepth?: number;
  /** Replaces how sources are opened (tests feed bytes in chosen chunk sizes). */
  readonly open?: (source: InputSource) => Readable;
  /** Derived conversations kept in memory before spilling to disk (tests force spills with a small number). */
  readonly maxConversationsInMemory?: number;
}

interface Segment {
  readonly file: string;
  readonly input: InputCounts;
  readonly firstOrdinal: number;
  readonly raws: RawRecord[];
  /** Started at submit with workers; on this thread, computed when the segment's turn comes (bounded memory). */
  readonly result: Promise<SegmentResult> | null;
}

export async function exportSegments(o: SegmentRunOptions): Promise<void> {
  const { mapping, stats } = o;
  for (const t of mapping.tables) {
    stats.table(t.name);
    if (!t.forEach) stats.recordLevelTables.add(t.name);
  }
  for (const d of mapping.derived) stats.table(d.name);
  const derivers = mapping.derived.map((d) => new ConversationDeriver(d, o.maxConversationsInMemory));
  const errors = new RecordErrors(o.onError, stats, mapping);
  const seen = mapping.tables.map(() => new DuplicateKeys());
  let local: SegmentProcessor | null = null;
  /** This thread's processor: every segment without workers, and a segment that must be redone for duplicates. */
  const localProcessor = (): SegmentProcessor => {
    local ??= new SegmentProcessor(mapping, new Map(mapping.tables.map((t) => [t.name, o.writerDef.encoder({ table: TABLES[t.name], csvRaw: o.csvRaw })] as const)));
    return local;
  };
  const pool = o.workers > 0 ? new SegmentPool(o.workers, { from: o.mappingFrom ?? mapping.file, format: o.writerDef.format, csvRaw: o.csvRaw }) : null;
  // two per worker keeps each busy while the main thread applies results; one when this thread does the work
  const maxInFlight = pool ? o.workers * 2 : 1;
  const inFlight: Segment[] = [];
  let ordinal = 0;

  /** Which records repeat a key seen earlier in the run; remembers the keys of every other record. */
  const findDuplicates = (result: SegmentResult): Map<number, number> => {
    const found = new Map<number, number>();
    const { keyRecords, keyTables, keyPrints } = result;
    for (let k = 0; k < keyRecords.length; ) {
      const rec = keyRecords[k]!;
      let end = k;
      while (end < keyRecords.length && keyRecords[end] === rec) end++;
      // a record is rejected whole at its first repeated key; its keys are remembered only when none repeats
      let repeated = -1;
      for (let j = k; j < end && repeated < 0; j++) if (seen[keyTables[j]!]!.hasPair(keyPrints[j * 2]!, keyPrints[j * 2 + 1]!)) repeated = j - k;
      if (repeated >= 0) found.set(rec, repeated);
      else for (let j = k; j < end; j++) seen[keyTables[j]!]!.addPair(keyPrints[j * 2]!, keyPrints[j * 2 + 1]!);
      k = end;
    }
    return found;
  };

  const apply = async (seg: Segment): Promise<void> => {
    let result = seg.result ? await seg.result : localProcessor().process(seg.file, seg.firstOrdinal, seg.raws, null);
    if (result.fatal) throw chatportError(result.fatal);
    const duplicates: Duplicates = findDuplicates(result);
    // rare: the segment is done again here without the repeated records' rows (their keys are already known)
    if (duplicates.size) result = localProcessor().process(seg.file, seg.firstOrdinal, seg.raws, duplicates);
    if (result.fatal) throw chatportError(result.fatal);
    stats.recordsRead += result.records;
    seg.input.records += result.records;
    const { enums } = result;
    for (let k = 0; k < enums.length; k += 2) stats.unknownEnum(enums[k]!, enums[k + 1]!);
    for (const f of result.failures) errors.handle(chatportError(f.error), seg.raws[f.index]!, seg.file, f.removed);
    stats.recordsMapped += result.mapped;
    stats.recordsRedacted += result.redacted;
    for (const table in result.skippedByRule) stats.table(table as TableName).skippedByRule += result.skippedByRule[table as TableName]!;
    for (const table in result.emitted) stats.table(table as TableName).emitted += result.emitted[table as TableName]!;
    for (const table in result.fragments) await o.writers.get(table as TableName)!.writeFragment(result.fragments[table as TableName]!);
    for (let d = 0; d < derivers.length; d++) {
      derivers[d]!.mergePartial(result.derived[d]!);
      await derivers[d]!.maybeSpill();
    }
    for (const r of errors.take()) await o.onReject(r);
  };

  const submit = async (file: string, input: InputCounts, raws: RawRecord[]): Promise<void> => {
    const firstOrdinal = ordinal;
    ordinal += raws.length;
    inFlight.push({ file, input, firstOrdinal, raws, result: pool ? pool.submit(file, firstOrdinal, raws) : null });
    if (inFlight.length >= maxInFlight) {
      o.checkAbort();
      await apply(inFlight.shift()!);
    }
  };

  try {
    for (const source of o.sources) {
      const input: InputCounts = { name: source.name, bytes: 0, records: 0 };
      stats.inputs.push(input);
      const batches = readRawBatches(source, {
        envelopeKeys: mapping.envelopeKeys,
        ...(o.maxRecordBytes !== undefined ? { maxRecordBytes: o.maxRecordBytes } : {}),
        ...(o.maxDepth !== undefined ? { maxDepth: o.maxDepth } : {}),
        ...(o.open ? { open: o.open } : {}),
        onBytes: (n) => {
          input.bytes += n;
          stats.bytesRead += n;
        },
      });
      let raws: RawRecord[] = [];
      let bytes = 0;
      const it = batches[Symbol.asyncIterator]();
      try {
        for (;;) {
          let next: IteratorResult<RawRecord[]>;
          try {
            next = await it.next();
          } catch (readError) {
            // records before the broken place are applied first (their errors come first), as a reader meets them
            if (raws.length) await submit(source.name, input, raws);
            raws = [];
            while (inFlight.length) await apply(inFlight.shift()!);
            throw readError;
          }
          if (next.done) break;
          for (const raw of next.value) {
            raws.push(raw);
            bytes += raw.bytes.length;
            if (raws.length >= SEGMENT_RECORDS || bytes >= SEGMENT_BYTES) {
              await submit(source.name, input, raws);
              raws = [];
              bytes = 0;
            }
          }
        }
      } finally {
        await it.return?.(undefined);
      }
      if (raws.length) await submit(source.name, input, raws);
    }
    while (inFlight.length) {
      o.checkAbort();
      await apply(inFlight.shift()!);
    }
    await pool?.close();
    for (const d of derivers) await writeDerived(d, o.writers.get(d.derive.name)!, stats, o.checkAbort);
  } finally {
    await pool?.close();
    // spilled aggregates are removed whether the run finished or failed
    await Promise.all(derivers.map((d) => d.cleanup()));
  }
}

async function writeDerived(d: ConversationDeriver, writer: TableWriter, stats: RunStats, checkAbort: () => void): Promise<void> {
  let batch: Row[] = [];
  for await (const row of d.rows()) {
    stats.table(d.derive.name).emitted++;
    batch.push(row);
    if (batch.length >= DERIVED_BATCH_ROWS) {
      checkAbort();
      await writer.write(batch);
      batch = [];
    }
  }
  if (batch.length) await writer.write(batch);
}

/** Worker threads to use for `--threads N` (N counts every thread, the main one included). */
export function workersFor(threads: number): number {
  if (!Number.isInteger(threads) || threads < 1) throw new ChatportError('CONFIG_BAD_OPTION', `--threads must be a whole number of 1 or more (got ${String(threads)})`, 'cli');
  return threads === 1 ? 0 : threads;
}
