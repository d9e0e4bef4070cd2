// The read -> parse -> map -> redact -> derive stages as one async generator of canonical rows. Writers
// (export) and the Dashly migration both consume it, so redaction and error policy cannot differ between them.

import type { Readable } from 'node:stream';
import { ChatportError, type Position } from '../errors.js';
import type { CompiledMapping } from '../mapping/compile-mapping.js';
import { mapRecord, type MappedRecord } from '../mapping/compile-mapping.js';
import type { MapContext } from '../mapping/compile-rule.js';
import { loadMapping } from '../mapping/load-mapping.js';
import type { Row, TableName } from '../model/canonical-schema.js';
import { redactRows } from '../redact/redact.js';
import { expandInputs, type InputSource } from '../readers/input-sources.js';
import { parseRecord, positionOf } from '../readers/parse-record.js';
import { readRawBatches } from '../readers/record-stream.js';
import type { RawRecord } from '../readers/record-splitter.js';
import { ConversationDeriver } from './derive-conversations.js';
import { DuplicateKeys, type KeyPrint } from './duplicate-keys.js';
import { RunStats } from './run-stats.js';
import { MapWorkerClient } from './map-worker-client.js';
import { chatportError, restoreLossless, type RecordResult } from './map-worker-protocol.js';

/** Batches sent to the mapping worker and not yet applied (--threads 2): bounds memory and read-ahead. */
const MAX_IN_FLIGHT = 3;

interface InFlightBatch {
  readonly file: string;
  readonly input: { records: number };
  /** Kept for rejects.jsonl (the worker got a copy). */
  readonly raws: RawRecord[];
  readonly results: Promise<RecordResult[]>;
}

export type ErrorPolicy = 'fail' | 'skip';

export interface CanonicalRow {
  readonly table: TableName;
  readonly row: Row;
}

/** A record that could not be turned into rows, as written to rejects.jsonl. */
export interface RejectEntry {
  file: string;
  line: number | null;
  record_index: number;
  byte_offset: number;
  code: string;
  stage: string;
  path: string | null;
  reason: string;
  /** The record's text; null when withheld (removed record, or not kept because it was too large). */
  raw: string | null;
  raw_withheld: string | null;
}

export interface MappedStreamOptions {
  readonly mapping: CompiledMapping;
  readonly sources: readonly InputSource[];
  readonly onError: ErrorPolicy;
  readonly stats: RunStats;
  readonly onReject?: (entry: RejectEntry) => Promise<void> | void;
  readonly maxRecordBytes?: number;
  readonly maxDepth?: number;
  /** Replaces how sources are opened (tests feed bytes in chosen chunk sizes). */
  readonly open?: (source: InputSource) => Readable;
  /** Derived conversations kept in memory before spilling to disk (tests force spills with a small number). */
  readonly maxConversationsInMemory?: number;
  /**
   * 2: parse, map and redact in a worker thread (`export --threads 2`); dedupe, derive, stats and rejects stay
   * here, applied in input order, so the output is the same as with 1 (the default).
   */
  readonly threads?: 1 | 2;
  /** The `--from` the worker loads the mapping from (default: the compiled mapping's file). */
  readonly mappingFrom?: string;
}

/** Canonical rows one by one (validate, migrate, tests); the export reads whole batches with mappedBatches. */
export async function* mappedRows(options: MappedStreamOptions): AsyncGenerator<CanonicalRow> {
  for await (const batch of mappedBatches(options)) yield* batch;
}

/** The rows of each input chunk as one array, so the per-row path has no await in it. */
export async function* mappedBatches(options: MappedStreamOptions): AsyncGenerator<CanonicalRow[]> {
  const { mapping, stats } = options;
  const derivers = mapping.derived.map((d) => new ConversationDeriver(d, options.maxConversationsInMemory));
  for (const t of mapping.tables) {
    stats.table(t.name);
    if (!t.forEach) stats.recordLevelTables.add(t.name);
  }
  for (const d of mapping.derived) stats.table(d.name);
  const ctx: MapContext = { removed: false, unknownEnum: (c, v) => stats.unknownEnum(c, v) };
  const removalHint = removalHintOf(mapping);
  // one fingerprint set per table with a key; derived tables are keyed by construction
  const seenKeys = new Map(mapping.tables.map((t) => [t.name, { keys: t.def.key, seen: new DuplicateKeys() }] as const));

  /** Rejected records of the current batch, handed to onReject after it (no await per record). */
  const pendingRejects: RejectEntry[] = [];

  /** Parses and maps one record; a record-level error is thrown (fail) or queued for rejects (skip: null). */
  const mapOrReject = (raw: RawRecord, file: string): { mapped: MappedRecord; redactedByRow: boolean } | null => {
    // reset before anything can throw: a record that fails to parse must not inherit the previous one's flag
    ctx.removed = false;
    try {
      if (raw.problem) throw raw.problem;
      const parsed = parseRecord(raw, file);
      const mapped = mapRecord(mapping, parsed.value, ctx);
      const redactedByRow = redactRows(mapped.rows, mapped.removed);
      // a row redacted for its removed_at withholds the record's text from rejects too
      if (redactedByRow) ctx.removed = true;
      // redaction keeps every key column, so duplicates are found on the redacted rows
      rejectDuplicates(mapped.rows, seenKeys);
      return { mapped, redactedByRow };
    } catch (e) {
      rejectOrThrow(e, raw, file, ctx.removed);
      return null;
    }
  };

  /** A record-level error: thrown (fail, or a broken record inside a JSON array), or queued for rejects. */
  const rejectOrThrow = (e: unknown, raw: RawRecord, file: string, removed: boolean): void => {
    if (!(e instanceof ChatportError)) throw e;
    const error = e.at(positionOf(raw, file));
    if (options.onError === 'fail') throw error;
    if (error.code === 'READ_INVALID_JSON' && raw.boundary === 'structure') {
      // Inside a JSON array or envelope a broken record may have shifted every record boundary after it:
      // going on could split other records into fragments (and removed content into rejects).
      throw new ChatportError(
        'READ_INVALID_JSON',
        `${error.message}; inside a JSON array the records after a syntax error cannot be found reliably, so the run stops even with --on-error skip (JSONL inputs can skip broken lines)`,
        'read',
        error.position,
      );
    }
    stats.rejected(error.code);
    pendingRejects.push(rejectEntry(error, raw, removed, removalHint));
  };

  try {
    yield* options.threads === 2 ? mapAllThreaded() : mapAll();
  } finally {
    // spilled aggregates are removed whether the run finished, failed or was abandoned by its consumer
    await Promise.all(derivers.map((d) => d.cleanup()));
  }

  /** Registers an input in the run's counters and reads its records in per-chunk batches, counting bytes. */
  function readSource(source: InputSource) {
    const input = { name: source.name, bytes: 0, records: 0 };
    stats.inputs.push(input);
    const batches = readRawBatches(source, {
      envelopeKeys: mapping.envelopeKeys,
      ...(options.maxRecordBytes !== undefined ? { maxRecordBytes: options.maxRecordBytes } : {}),
      ...(options.maxDepth !== undefined ? { maxDepth: options.maxDepth } : {}),
      ...(options.open ? { open: options.open } : {}),
      onBytes: (n) => {
        input.bytes += n;
        stats.bytesRead += n;
      },
    });
    return { input, batches };
  }

  async function* mapAll(): AsyncGenerator<CanonicalRow[]> {
    for (const source of options.sources) {
      const { input, batches } = readSource(source);
      for await (const raws of batches) {
        const out: CanonicalRow[] = [];
        for (const raw of raws) {
          stats.recordsRead++;
          input.records++;
          const result = mapOrReject(raw, source.name);
          if (result === null) continue;
          const { mapped, redactedByRow } = result;
          stats.recordsMapped++;
          if (mapped.removed) stats.recordsRedacted++;
          for (const table in mapped.skippedByRule) stats.table(table as TableName).skippedByRule += mapped.skippedByRule[table as TableName]!;
          for (const item of mapped.rows) {
            for (const d of derivers) if (d.derive.from === item.table) d.add(item.row, ctx);
            stats.table(item.table).emitted++;
            out.push(item);
          }
          if (redactedByRow && !mapped.removed) stats.recordsRedacted++;
        }
        for (const r of pendingRejects.splice(0)) await options.onReject?.(r);
        if (out.length) yield out;
        for (const d of derivers) await d.maybeSpill();
      }
    }
    yield* emitDerived();
  }

  /**
   * --threads 2: the same loop with parse + map + redact in a worker. Up to MAX_IN_FLIGHT batches are in the
   * worker while this thread reads ahead and writes; results are applied strictly in the order read.
   */
  async function* mapAllThreaded(): AsyncGenerator<CanonicalRow[]> {
    const client = new MapWorkerClient(options.mappingFrom ?? mapping.file);
    const inFlight: InFlightBatch[] = [];
    try {
      for (const source of options.sources) {
        const { input, batches } = readSource(source);
        const it = batches[Symbol.asyncIterator]();
        try {
          for (;;) {
            let next: IteratorResult<RawRecord[]>;
            try {
              next = await it.next();
            } catch (readError) {
              // the one-thread path would have applied every earlier batch (and met its errors) first
              while (inFlight.length) yield* applyBatch(inFlight.shift()!);
              throw readError;
            }
            if (next.done) break;
            inFlight.push({ file: source.name, input, raws: next.value, results: client.submit(source.name, next.value) });
            if (inFlight.length >= MAX_IN_FLIGHT) yield* applyBatch(inFlight.shift()!);
          }
        } finally {
          await it.return?.(undefined);
        }
      }
      while (inFlight.length) yield* applyBatch(inFlight.shift()!);
    } finally {
      await client.close();
    }
    yield* emitDerived();
  }

  /** One batch's worker results, applied as the one-thread loop applies mapOrReject's. */
  async function* applyBatch(batch: InFlightBatch): AsyncGenerator<CanonicalRow[]> {
    const results = await batch.results;
    const out: CanonicalRow[] = [];
    for (let i = 0; i < results.length; i++) {
      const raw = batch.raws[i]!;
      const res = results[i]!;
      stats.recordsRead++;
      batch.input.records++;
      if (res.enums) for (let k = 0; k < res.enums.length; k += 2) stats.unknownEnum(res.enums[k]!, res.enums[k + 1]!);
      try {
        if (!res.ok) throw chatportError(res.error);
        if (res.lossless) restoreLossless(res.rows, res.lossless);
        rejectDuplicates(res.rows, seenKeys);
      } catch (e) {
        // a row redacted for its removed_at withholds the record's text from rejects too
        rejectOrThrow(e, raw, batch.file, res.ok ? res.removed || res.redactedByRow : res.removed);
        continue;
      }
      stats.recordsMapped++;
      if (res.removed) stats.recordsRedacted++;
      for (const table in res.skippedByRule) stats.table(table as TableName).skippedByRule += res.skippedByRule[table as TableName]!;
      ctx.removed = res.removed;
      for (const item of res.rows) {
        for (const d of derivers) if (d.derive.from === item.table) d.add(item.row, ctx);
        stats.table(item.table).emitted++;
        out.push(item);
      }
      if (res.redactedByRow && !res.removed) stats.recordsRedacted++;
    }
    for (const r of pendingRejects.splice(0)) await options.onReject?.(r);
    if (out.length) yield out;
    for (const d of derivers) await d.maybeSpill();
  }

  async function* emitDerived(): AsyncGenerator<CanonicalRow[]> {
    for (const d of derivers) {
      let out: CanonicalRow[] = [];
      for await (const row of d.rows()) {
        stats.table(d.derive.name).emitted++;
        out.push({ table: d.derive.name, row });
        if (out.length >= 4096) {
          yield out;
          out = [];
        }
      }
      if (out.length) yield out;
    }
  }
}

/** Convenience for other commands (migrate): load the mapping and inputs, then stream canonical rows. */
export async function* canonicalRows(options: {
  from: string;
  inputs: readonly string[];
  onError?: ErrorPolicy;
  stats?: RunStats;
  onReject?: (entry: RejectEntry) => Promise<void> | void;
}): AsyncGenerator<CanonicalRow> {
  const mapping = await loadMapping(options.from);
  const sources = await expandInputs(options.inputs);
  yield* mappedRows({
    mapping,
    sources,
    onError: options.onError ?? 'fail',
    stats: options.stats ?? new RunStats(),
    ...(options.onReject ? { onReject: options.onReject } : {}),
  });
}

/** A record whose row key was already seen is rejected whole: the first occurrence wins. */
function rejectDuplicates(
  rows: readonly CanonicalRow[],
  seenKeys: Map<TableName, { keys: readonly string[]; seen: DuplicateKeys }>,
): void {
  // the usual record has one keyed row: remember its fingerprint without a pending list
  let firstSeen: DuplicateKeys | null = null;
  let firstPrint: KeyPrint | null = null;
  let pending: [DuplicateKeys, KeyPrint][] | null = null;
  for (let r = 0; r < rows.length; r++) {
    const { table, row } = rows[r]!;
    const entry = seenKeys.get(table);
    if (!entry) continue;
    const keys = entry.keys;
    let key = '';
    for (let k = 0; k < keys.length; k++) key += String(row[keys[k]!]) + '\u0000';
    const print = entry.seen.printIfNew(key);
    if (print === null) {
      const what = entry.keys.map((k) => `${k} ${String(row[k])}`).join(', ');
      throw new ChatportError('MAP_DUPLICATE_ID', `duplicate ${table} row (${what}): an earlier record had the same id; the first one is kept`, 'map');
    }
    if (firstPrint === null) {
      firstSeen = entry.seen;
      firstPrint = print;
    } else (pending ??= []).push([entry.seen, print]);
  }
  // remember only once the whole record passed, so a rejected record leaves no trace
  if (firstPrint !== null) firstSeen!.addPrint(firstPrint);
  if (pending) for (const [seen, print] of pending) seen.addPrint(print);
}

/**
 * A test on raw text for "this record may be removed", from the keys of the mapping's removed_when paths:
 * used when a record is too broken to evaluate the rule, so that its body never reaches rejects.jsonl.
 */
function removalHintOf(mapping: CompiledMapping): RemovalHint | null {
  if (!mapping.removedWhenKeys.length) return null;
  // each removal key must be present with a "not removed" value; a missing key (a record cut short before it)
  // or any other value means the record may be removed
  const shownNotRemoved = mapping.removedWhenKeys.map((k) => {
    const key = JSON.stringify(k).slice(1, -1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(`"${key}"\\s*:\\s*(?:null|false|0|""|"0")\\s*[,}\\]]`);
  });
  return { mayBeRemoved: (text) => !shownNotRemoved.every((re) => re.test(text)) };
}

/** For records too broken to evaluate removed_when: whether their raw text may belong to a removed record. */
interface RemovalHint {
  mayBeRemoved(text: string): boolean;
}

function rejectEntry(error: ChatportError, raw: RawRecord, removed: boolean, hint: RemovalHint | null): RejectEntry {
  const p: Position = error.position;
  // decoded again here: parsing decodes only into its marked form, and rejects are rare
  const rawText = raw.bytes.length ? raw.bytes.toString('utf8') : null;
  let withheld: string | null = null;
  if (removed) withheld = 'the record is marked removed (GDPR)';
  else if (rawText === null) withheld = 'the record was not kept (too large or too deep)';
  else if (error.stage === 'read' && hint && hint.mayBeRemoved(rawText)) {
    withheld = 'the record could not be parsed and does not show that it is not removed (GDPR)';
  }
  return {
    file: p.file ?? '',
    line: raw.shape === 'object' ? raw.line : null,
    record_index: raw.recordIndex,
    byte_offset: raw.byteOffset,
    code: error.code,
    stage: error.stage,
    path: p.path ?? null,
    reason: error.message,
    raw: withheld ? null : rawText,
    raw_withheld: withheld,
  };
}
