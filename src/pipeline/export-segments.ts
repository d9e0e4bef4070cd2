// The export's stages on every core. The main thread reads the inputs and cuts them into segments of a fixed size
// (independent of read chunks and thread count): JSONL inputs as blocks of whole lines that the workers split
// themselves, other inputs as records the main thread splits. Segments are processed (split for blocks, then parse,
// map, redact, encode: process-segment.ts) by worker threads, or here when there are none; results are applied
// strictly in input order: duplicate keys across the run, stats, rejects, partial aggregates of derived tables,
// and the encoded fragments appended to the writers. Derived tables are written last. Output bytes are the same for
// any number of workers, because a segment's bytes depend only on its records and the order of application is fixed.

import type { Readable } from 'node:stream';
import { ChatportError } from '../errors.js';
import type { CompiledMapping } from '../mapping/compile-mapping.js';
import { TABLES, type Row, type TableName } from '../model/canonical-schema.js';
import type { InputCounts } from './run-stats.js';
import type { InputSource } from '../readers/input-sources.js';
import { lineBlocks, type LongLine } from '../readers/line-blocks.js';
import { isJsonlName, readBytes } from '../readers/record-stream.js';
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_RECORD_BYTES, RecordSplitter, emptyInputError, type RawRecord } from '../readers/record-splitter.js';
import type { TableWriter, WriterDef } from '../writers/writer.js';
import { ConversationDeriver } from './derive-conversations.js';
import { DuplicateKeys } from './duplicate-keys.js';
import { ORDER_PER_SEGMENT, SegmentProcessor, type Duplicates, type SegmentInput } from './process-segment.js';
import { RecordErrors, type ErrorPolicy, type RejectEntry } from './record-errors.js';
import type { RunStats } from './run-stats.js';
import { SegmentPool } from './segment-pool.js';
import { chatportError, type PlainError, type PlainRaw, type SegmentResult } from './segment-protocol.js';

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
  /** Where spilled aggregates go: the run's temporary folder (default: the OS temporary folder). */
  readonly spillDir?: string;
}

/** An input being read: its counters, and whether any of its blocks held more than blank space. */
interface InputState {
  readonly name: string;
  readonly counts: InputCounts;
  sawContent: boolean;
}

interface Segment {
  readonly input: InputState;
  readonly orderBase: number;
  readonly records: SegmentInput;
  /** The input's last block: the line the input ends on (an input of blank lines is empty); otherwise null. */
  readonly endLine: number | null;
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
  const limits = { maxRecordBytes: o.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES, maxDepth: o.maxDepth ?? DEFAULT_MAX_DEPTH };
  const derivers = mapping.derived.map((d) => new ConversationDeriver(d, o.maxConversationsInMemory, o.spillDir));
  const errors = new RecordErrors(o.onError, stats, mapping);
  const seen = mapping.tables.map(() => new DuplicateKeys());
  let local: SegmentProcessor | null = null;
  /** This thread's processor: every segment without workers, and a segment that must be redone for duplicates. */
  const localProcessor = (): SegmentProcessor => {
    local ??= new SegmentProcessor(mapping, new Map(mapping.tables.map((t) => [t.name, o.writerDef.encoder({ table: TABLES[t.name], csvRaw: o.csvRaw })] as const)), limits);
    return local;
  };
  const pool = o.workers > 0 ? new SegmentPool(o.workers, { from: o.mappingFrom ?? mapping.file, format: o.writerDef.format, csvRaw: o.csvRaw, ...limits }) : null;
  // two per worker keeps each busy while the main thread applies results; one when this thread does the work
  const maxInFlight = pool ? o.workers * 2 : 1;
  const inFlight: Segment[] = [];
  let segments = 0;

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

  /** Set when applying a segment failed: the run stops with that error, nothing else is applied. */
  let applyFailed = false;
  const apply = async (seg: Segment): Promise<void> => {
    try {
      await applyInOrder(seg);
    } catch (e) {
      applyFailed = true;
      throw e;
    }
  };

  const applyInOrder = async (seg: Segment): Promise<void> => {
    const { input } = seg;
    const file = input.name;
    // block records count from the block's start: they follow every record of the input applied so far
    const base = seg.records.kind === 'block' ? input.counts.records : 0;
    let result = seg.result ? await seg.result : localProcessor().process(file, seg.orderBase, seg.records, null);
    if (result.fatal) throw chatportError(shift(result.fatal, base));
    const duplicates: Duplicates = findDuplicates(result);
    // rare: the segment is done again here without the repeated records' rows (their keys are already known)
    if (duplicates.size) result = localProcessor().process(file, seg.orderBase, seg.records, duplicates);
    if (result.fatal) throw chatportError(shift(result.fatal, base));
    stats.recordsRead += result.records;
    input.counts.records += result.records;
    input.sawContent ||= result.sawContent;
    const { enums } = result;
    for (let k = 0; k < enums.length; k += 2) stats.unknownEnum(enums[k]!, enums[k + 1]!);
    for (const f of result.failures) {
      const raw = f.raw ? rawRecordOf(f.raw, base) : (seg.records as { raws: readonly RawRecord[] }).raws[f.index]!;
      errors.handle(chatportError(shift(f.error, base)), raw, file, f.removed, f.removalKnown);
    }
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
    if (seg.endLine !== null && !input.sawContent) throw emptyInputError(file, seg.endLine);
  };

  const drain = async (): Promise<void> => {
    while (inFlight.length) {
      o.checkAbort();
      await apply(inFlight.shift()!);
    }
  };

  const submit = async (input: InputState, records: SegmentInput, endLine: number | null = null): Promise<void> => {
    const orderBase = segments++ * ORDER_PER_SEGMENT;
    const result = pool ? pool.submit(input.name, orderBase, records) : null;
    inFlight.push({ input, orderBase, records, endLine, result });
    if (inFlight.length >= maxInFlight) {
      o.checkAbort();
      await apply(inFlight.shift()!);
    }
  };

  /** A JSONL input: blocks of whole lines, split by whoever processes them; a very long line hands over to readRecords. */
  const readBlocks = async (input: InputState, bytes: AsyncIterator<Buffer>): Promise<void> => {
    let longLine: LongLine | null = null;
    for await (const item of lineBlocks(bytes, SEGMENT_BYTES, SEGMENT_RECORDS, limits.maxRecordBytes)) {
      if (item.kind === 'long-line') {
        longLine = item.rest;
        break;
      }
      const { block } = item;
      await submit(input, { kind: 'block', bytes: block.bytes, byteOffset: block.byteOffset, line: block.line }, block.last ? block.endLine : null);
    }
    if (!longLine) return;
    // the record index of the line's record is known once every block before it is applied
    await drain();
    const splitter = new RecordSplitter({
      file: input.name,
      envelopeKeys: mapping.envelopeKeys,
      ...limits,
      lines: true,
      start: { byteOffset: longLine.byteOffset, line: longLine.line, recordIndex: input.counts.records, sawContent: input.sawContent },
    });
    await readRecords(input, bytes, splitter, longLine.head);
  };

  /** Records split here, cut into segments of SEGMENT_RECORDS or SEGMENT_BYTES. */
  const readRecords = async (input: InputState, bytes: AsyncIterator<Buffer>, splitter: RecordSplitter, head: Buffer | null): Promise<void> => {
    let raws: RawRecord[] = [];
    let size = 0;
    const take = async (records: RawRecord[]): Promise<void> => {
      for (const raw of records) {
        raws.push(raw);
        size += raw.bytes.length;
        if (raws.length >= SEGMENT_RECORDS || size >= SEGMENT_BYTES) {
          await submit(input, { kind: 'records', raws });
          raws = [];
          size = 0;
        }
      }
    };
    try {
      if (head) await take(splitter.push(head));
      for (;;) {
        const next = await bytes.next();
        if (next.done) break;
        await take(splitter.push(next.value));
      }
      await take(splitter.end());
    } catch (e) {
      // a read error: the records before it are applied first (their errors come first)
      if (!applyFailed && raws.length) await submit(input, { kind: 'records', raws });
      throw e;
    }
    if (raws.length) await submit(input, { kind: 'records', raws });
  };

  try {
    for (const source of o.sources) {
      const counts: InputCounts = { name: source.name, bytes: 0, records: 0 };
      stats.inputs.push(counts);
      const input: InputState = { name: source.name, counts, sawContent: false };
      const bytes = readBytes(source, {
        ...(o.open ? { open: o.open } : {}),
        onBytes: (n) => {
          counts.bytes += n;
          stats.bytesRead += n;
        },
      });
      try {
        if (isJsonlName(source.name)) await readBlocks(input, bytes);
        else {
          const splitter = new RecordSplitter({ file: source.name, envelopeKeys: mapping.envelopeKeys, ...limits, lines: false });
          await readRecords(input, bytes, splitter, null);
        }
      } catch (readError) {
        // records before the broken place are applied first (their errors come first), as a reader meets them
        if (!applyFailed) await drain();
        throw readError;
      } finally {
        await bytes.return(undefined);
      }
    }
    await drain();
    await pool?.close();
    for (const d of derivers) await writeDerived(d, o.writers.get(d.derive.name)!, stats, o.checkAbort);
  } finally {
    await pool?.close();
    // spilled aggregates are removed whether the run finished or failed
    await Promise.all(derivers.map((d) => d.cleanup()));
  }
}

/** A block record's error with its record index counted from the input's start. */
function shift(error: PlainError, base: number): PlainError {
  if (base === 0 || error.position.recordIndex === undefined) return error;
  return { ...error, position: { ...error.position, recordIndex: error.position.recordIndex + base } };
}

function rawRecordOf(raw: PlainRaw, base: number): RawRecord {
  return { ...raw, bytes: Buffer.from(raw.bytes.buffer, raw.bytes.byteOffset, raw.bytes.byteLength), recordIndex: raw.recordIndex + base };
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

/** Above this, more workers only cost memory (each holds its own heap, ~50 MB, and segments in flight). */
const MAX_THREADS = 32;

/** Worker threads for `--threads N`: none for 1 (everything on the main thread), else N workers beside it. */
export function workersFor(threads: number): number {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new ChatportError('CONFIG_BAD_OPTION', `--threads must be a whole number from 1 to ${MAX_THREADS} (got ${String(threads)})`, 'cli');
  }
  return threads === 1 ? 0 : threads;
}
