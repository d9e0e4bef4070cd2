// The read -> parse -> map -> redact -> derive stages as one async generator of canonical rows, record by record
// on this thread. validate and the Dashly migration consume it; export runs the same stages per segment
// (process-segment.ts) so that it can use every core. Both share the per-record steps (map-raw-record.ts) and the
// record error policy (record-errors.ts).

import type { Readable } from 'node:stream';
import type { CompiledMapping } from '../mapping/compile-mapping.js';
import type { MapContext } from '../mapping/compile-rule.js';
import { loadMapping } from '../mapping/load-mapping.js';
import type { Row, TableName } from '../model/canonical-schema.js';
import { expandInputs, type InputSource } from '../readers/input-sources.js';
import { readRawBatches } from '../readers/record-stream.js';
import type { RawRecord } from '../readers/record-splitter.js';
import { ConversationDeriver } from './derive-conversations.js';
import { DuplicateKeys, fingerprintInto } from './duplicate-keys.js';
import { mapRawRecord, type RedactedRecord } from './map-raw-record.js';
import { RecordErrors, duplicateError, rowKeyText, type ErrorPolicy, type RejectEntry } from './record-errors.js';
import { RunStats } from './run-stats.js';

export type { ErrorPolicy, RejectEntry } from './record-errors.js';

export interface CanonicalRow {
  readonly table: TableName;
  readonly row: Row;
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
}

/** Canonical rows one by one (validate, migrate, tests); the export runs segments instead (export-segments.ts). */
export async function* mappedRows(options: MappedStreamOptions): AsyncGenerator<CanonicalRow> {
  for await (const batch of mappedBatches(options)) yield* batch;
}

/** The rows of each input chunk as one array, so the per-row path has no await in it. */
async function* mappedBatches(options: MappedStreamOptions): AsyncGenerator<CanonicalRow[]> {
  const { mapping, stats } = options;
  const derivers = mapping.derived.map((d) => new ConversationDeriver(d, options.maxConversationsInMemory));
  for (const t of mapping.tables) {
    stats.table(t.name);
    if (!t.forEach) stats.recordLevelTables.add(t.name);
  }
  for (const d of mapping.derived) stats.table(d.name);
  const ctx: MapContext = { removed: false, removalKnown: false, unknownEnum: (c, v) => stats.unknownEnum(c, v) };
  const errors = new RecordErrors(options.onError, stats, mapping);
  // one fingerprint set per table with a key; derived tables are keyed by construction
  const seenKeys = new Map(mapping.tables.map((t) => [t.name, { keys: t.def.key, seen: new DuplicateKeys() }] as const));

  /** Parses and maps one record; a record-level error is thrown (fail) or queued for rejects (skip: null). */
  const mapOrReject = (raw: RawRecord, file: string): RedactedRecord | null => {
    try {
      const record = mapRawRecord(mapping, raw, file, ctx);
      // redaction keeps every key column, so duplicates are found on the redacted rows
      rejectDuplicates(record.mapped.rows, seenKeys);
      return record;
    } catch (e) {
      errors.handle(e, raw, file, ctx.removed, ctx.removalKnown);
      return null;
    }
  };

  try {
    yield* mapAll();
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
        for (const r of errors.take()) await options.onReject?.(r);
        if (out.length) yield out;
        for (const d of derivers) await d.maybeSpill();
      }
    }
    yield* emitDerived();
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
  rows: readonly { table: TableName; row: Row }[],
  seenKeys: Map<TableName, { keys: readonly string[]; seen: DuplicateKeys }>,
): void {
  const prints = new Uint32Array(rows.length * 2);
  const sets: (DuplicateKeys | null)[] = new Array(rows.length).fill(null);
  for (let r = 0; r < rows.length; r++) {
    const { table, row } = rows[r]!;
    const entry = seenKeys.get(table);
    if (!entry) continue;
    fingerprintInto(rowKeyText(row, entry.keys), prints, r * 2);
    if (entry.seen.hasPair(prints[r * 2]!, prints[r * 2 + 1]!)) throw duplicateError(table, entry.keys, entry.keys.map((k) => String(row[k])));
    sets[r] = entry.seen;
  }
  // remember only once the whole record passed, so a rejected record leaves no trace
  for (let r = 0; r < rows.length; r++) sets[r]?.addPair(prints[r * 2]!, prints[r * 2 + 1]!);
}
