// What crosses between the export's main thread and its segment workers (segment-worker.ts): a segment's raw
// records packed into one transferred buffer plus per-record metadata, and back a SegmentResult (plain data and
// transferred fragment bytes, no rows). Everything here survives structured clone; ChatportErrors travel as plain
// data and are rebuilt on the main thread.

import { ChatportError, type ErrorCode, type Position, type Stage } from '../errors.js';
import type { Row, TableName } from '../model/canonical-schema.js';
import type { PrivacySettings } from '../redact/privacy-rule.js';
import type { TextRemoval } from '../redact/removal-rule.js';
import type { ContainerShape, RawRecord } from '../readers/record-splitter.js';
import type { SinkInput } from '../sinks/sink.js';
import type { EncodedFragment } from '../writers/writer.js';
import type { PartialStates } from './derive-conversations.js';
import type { Shard } from './shard-filter.js';

export interface PlainError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly stage: Stage;
  readonly position: Position;
}

/** A segment's raw records packed for another thread: three transferred buffers, and problems (rare) cloned. */
export interface PackedRecords {
  /** All records' bytes back to back; record i is bytes [ends[i-1] (or 0), ends[i]). */
  readonly bytes: ArrayBuffer;
  /**
   * Per record, META_FIELDS numbers: end offset in `bytes`, recordIndex, byteOffset, line, shape and boundary (and
   * escapeOpensString) in one, kept-number count (-1: null).
   */
  readonly meta: Float64Array;
  /** Every record's kept-number ranges (RawRecord.longNumbers) back to back. */
  readonly numbers: Float64Array;
  /** The splitter's problem per record, or null; null for the whole batch when no record has one. */
  readonly problems: (PlainError | null)[] | null;
}

const META_FIELDS = 6;
const SHAPES: readonly ContainerShape[] = ['array', 'envelope', 'object'];
const BOUNDARIES: readonly RawRecord['boundary'][] = ['line', 'structure'];

export function plainError(e: ChatportError): PlainError {
  return { code: e.code, message: e.message, stage: e.stage, position: { ...e.position } };
}

export function chatportError(p: PlainError): ChatportError {
  return new ChatportError(p.code, p.message, p.stage, p.position);
}

/** Packs a segment's records into one buffer (a copy: main keeps the originals for rejects.jsonl). */
export function packRecords(raws: readonly RawRecord[]): PackedRecords {
  let total = 0;
  let kept = 0;
  for (const r of raws) {
    total += r.bytes.length;
    if (r.longNumbers) kept += r.longNumbers.length;
  }
  const view = Buffer.allocUnsafeSlow(total); // a buffer of its own (transferable), not zero-filled: every byte is set below
  const meta = new Float64Array(raws.length * META_FIELDS);
  const numbers = new Float64Array(kept);
  let problems: (PlainError | null)[] | null = null;
  let at = 0;
  let n = 0;
  for (let i = 0; i < raws.length; i++) {
    const r = raws[i]!;
    view.set(r.bytes, at);
    at += r.bytes.length;
    const m = i * META_FIELDS;
    meta[m] = at;
    meta[m + 1] = r.recordIndex;
    meta[m + 2] = r.byteOffset;
    meta[m + 3] = r.line;
    meta[m + 4] = (SHAPES.indexOf(r.shape) * 2 + BOUNDARIES.indexOf(r.boundary)) * 2 + (r.escapeOpensString ? 1 : 0);
    const ranges = r.longNumbers;
    meta[m + 5] = ranges ? ranges.length : -1;
    if (ranges) for (let k = 0; k < ranges.length; k++) numbers[n++] = ranges[k]!;
    if (r.problem) (problems ??= new Array<PlainError | null>(raws.length).fill(null))[i] = plainError(r.problem);
  }
  return { bytes: view.buffer as ArrayBuffer, meta, numbers, problems };
}

/** What to transfer (not copy) with a packed segment. */
export function packedTransferables(p: PackedRecords): ArrayBuffer[] {
  return [p.bytes, p.meta.buffer as ArrayBuffer, p.numbers.buffer as ArrayBuffer];
}

/** The RawRecords of a packed segment, as views of its buffer (worker side). */
export function unpackRecords(req: PackedRecords): RawRecord[] {
  const buf = Buffer.from(req.bytes);
  const { meta, numbers } = req;
  const out: RawRecord[] = new Array(meta.length / META_FIELDS);
  let start = 0;
  let n = 0;
  for (let i = 0; i < out.length; i++) {
    const m = i * META_FIELDS;
    const end = meta[m]!;
    const problem = req.problems?.[i];
    const count = meta[m + 5]!;
    let longNumbers: number[] | null = null;
    if (count >= 0) {
      longNumbers = new Array<number>(count);
      for (let k = 0; k < count; k++) longNumbers[k] = numbers[n++]!;
    }
    const kinds = meta[m + 4]!;
    out[i] = {
      bytes: buf.subarray(start, end),
      recordIndex: meta[m + 1]!,
      byteOffset: meta[m + 2]!,
      line: meta[m + 3]!,
      shape: SHAPES[kinds >> 2]!,
      boundary: BOUNDARIES[(kinds >> 1) & 1]!,
      longNumbers,
      escapeOpensString: (kinds & 1) === 1,
      ...(problem ? { problem: chatportError(problem) } : {}),
    };
    start = end;
  }
  return out;
}

/** A record of the segment that did not become rows. */
export interface RecordFailure {
  /** Index of the record in its segment. */
  readonly index: number;
  readonly error: PlainError;
  /** What the record shows of its removal (src/redact/removal-rule.ts): its text goes to rejects only when 'kept'. */
  readonly removal: TextRemoval;
  /** The keys its rows would have had, as word pairs (empty when they cannot be read): links it to other copies. */
  readonly keyPrints: Uint32Array;
  /** Block segments: the record itself (the main thread never split it), recordIndex relative to the block. */
  readonly raw: PlainRaw | null;
}

/** A RawRecord as plain data (its problem travels in the failure's error). */
export type PlainRaw = Omit<RawRecord, 'problem' | 'bytes'> & { readonly bytes: Uint8Array };

export function plainRaw(raw: RawRecord): PlainRaw {
  // a copy: the record is a view of the whole block
  return {
    bytes: Uint8Array.from(raw.bytes),
    recordIndex: raw.recordIndex,
    byteOffset: raw.byteOffset,
    line: raw.line,
    shape: raw.shape,
    boundary: raw.boundary,
    longNumbers: raw.longNumbers,
    escapeOpensString: raw.escapeOpensString,
  };
}

/** Everything the main thread needs of a processed segment: counts, failures, key fingerprints and encoded rows. */
export interface SegmentResult {
  readonly records: number;
  readonly mapped: number;
  readonly redacted: number;
  /** Records of other shards' conversations, passed over before mapping (--shard; 0 otherwise). */
  readonly otherShard: number;
  /** In record order; duplicates named by the main thread appear here as MAP_DUPLICATE_ID. */
  readonly failures: RecordFailure[];
  /** Unknown enum values met, flat [column, value, column, value, ...] in record order. */
  readonly enums: string[];
  /** Per keyed row of a mapped record: the record's index in the segment. */
  readonly keyRecords: Int32Array;
  /** Per keyed row: its table's index in mapping.tables. */
  readonly keyTables: Uint8Array;
  /** Per keyed row: two words of the key's 64-bit fingerprint. */
  readonly keyPrints: Uint32Array;
  /** Per keyed row: 1 when the row was redacted (its record is removed, or the row carries removed_at). */
  readonly keyRedacted: Uint8Array;
  /** Some record of the segment had a field read beyond its keys (a mapping that never does is the wrong one). */
  readonly matched: boolean;
  /** Some record of the segment had fields besides its keys and none of them was read. */
  readonly unmatched: boolean;
  readonly emitted: Partial<Record<TableName, number>>;
  readonly skippedByRule: Partial<Record<TableName, number>>;
  /** The encoded rows per table, for sinks that take fragments (export). */
  readonly fragments: Partial<Record<TableName, EncodedFragment>>;
  /** The rows per table, for sinks that take rows (validate, migrate, the library); LosslessNumbers tagged across threads. */
  readonly rows: Partial<Record<TableName, Row[]>>;
  /** Per derived table of the mapping: this segment's partial aggregates (LosslessNumbers tagged across threads). */
  readonly derived: PartialStates[];
  /** Records of forgotten people cleared (src/redact/privacy-rule.ts forgetRecord). */
  readonly forgotten: number;
  /**
   * Conversations this thread found to be a forgotten person's while doing the segment, as salted hashes (never an
   * id): other records of them may have gone out before, here or on another thread (the run is then done again).
   */
  readonly forgottenConversations: string[];
  /** A failure of the whole segment (a row a column cannot hold, a broken start of input): the run stops with it. */
  readonly fatal: PlainError | null;
  /** Block segments: whether the block held anything but blank space (an input of blank lines is empty). */
  readonly sawContent: boolean;
}

/** Main -> worker: one segment to process. */
export interface SegmentRequest {
  readonly seq: number;
  readonly file: string;
  /** Order number of the segment's first record (ORDER_PER_SEGMENT apart: orders rows for derived tables). */
  readonly orderBase: number;
  /** Records split by the main thread, or a block of whole JSONL lines for the worker to split. */
  readonly records: PackedRecords | null;
  readonly block: { readonly bytes: Uint8Array; readonly byteOffset: number; readonly line: number } | null;
}

export type SegmentReply =
  /** `block`: the request's block bytes, handed back (they were transferred, not copied). */
  | { readonly seq: number; readonly result: SegmentResult; readonly block: Uint8Array | null }
  /** A bug (not a ChatportError) or a failure to start: the run stops with it. */
  | { readonly seq: number; readonly crash: string };

/** What a segment worker needs to build the same processor as the main thread. */
export interface SegmentWorkerInit {
  /** The mapping as parsed from its file (CompiledMapping.spec) and the file's name: the worker compiles its own. */
  readonly mappingSpec: unknown;
  readonly mappingFile: string;
  /** Encode for this format, or send rows back. */
  readonly output: SinkInput;
  readonly maxRecordBytes: number;
  readonly maxDepth: number;
  /** Keys removed from their first copy on (a repeated run), as word pairs; empty otherwise. */
  readonly forced: Uint32Array;
  /** Pseudonymizing and masking (src/redact/privacy-rule.ts), or null. */
  readonly privacy: PrivacySettings | null;
  /** This run's shard (--shard I/N), or null. */
  readonly shard: Shard | null;
}

/** The buffers of a result that can move to another thread without a copy. */
export function transferablesOf(result: SegmentResult): ArrayBuffer[] {
  const out: ArrayBuffer[] = [
    result.keyRecords.buffer as ArrayBuffer,
    result.keyTables.buffer as ArrayBuffer,
    result.keyPrints.buffer as ArrayBuffer,
    result.keyRedacted.buffer as ArrayBuffer,
  ];
  for (const f of Object.values(result.fragments)) if (f) out.push(f.bytes.buffer as ArrayBuffer);
  return out;
}
