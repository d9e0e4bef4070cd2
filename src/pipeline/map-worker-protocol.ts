// The messages between the main thread and the mapping worker (`export --threads 2`, map-worker.ts).
// Main sends the raw records of one input chunk as one transferred buffer plus per-record metadata; the worker
// answers with one result per record, in order. Everything here survives structured clone: class instances
// (ChatportError, LosslessNumber) travel as plain data and are rebuilt on the main thread.

import { ChatportError, type ErrorCode, type Position, type Stage } from '../errors.js';
import { LosslessNumber } from '../json/lossless-number.js';
import type { Row, TableName } from '../model/canonical-schema.js';
import type { ContainerShape, RawRecord } from '../readers/record-splitter.js';

export interface WorkerInit {
  /** The `--from` string (vendor id or mapping file path), loaded again with loadMapping in the worker. */
  readonly from: string;
}

export interface PlainError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly stage: Stage;
  readonly position: Position;
}

export interface BatchRequest {
  readonly seq: number;
  readonly file: string;
  /** All records' bytes back to back; record i is bytes [ends[i-1] (or 0), ends[i]). Transferred, not copied. */
  readonly bytes: ArrayBuffer;
  /** Per record: end offset in `bytes`, recordIndex, byteOffset, line (4 numbers a record). */
  readonly meta: Float64Array;
  readonly shapes: ContainerShape[];
  readonly boundaries: ('line' | 'structure')[];
  readonly longNumbers: (number[] | null)[];
  /** The splitter's problem per record, or null; null for the whole batch when no record has one. */
  readonly problems: (PlainError | null)[] | null;
}

/** One record's outcome. */
export type RecordResult = MappedResult | ErrorResult;

export interface MappedResult {
  readonly ok: true;
  readonly rows: { table: TableName; row: Row }[];
  readonly removed: boolean;
  readonly skippedByRule: Partial<Record<TableName, number>>;
  /** A row was redacted because it carries removed_at (the record itself is not removed). */
  readonly redactedByRow: boolean;
  /** ctx.unknownEnum calls while mapping, flat [column, value, column, value, ...]; null when none. */
  readonly enums: string[] | null;
  /** Where LosslessNumbers were (replaced by their text): [rowIndex, key, key, ...] each; null when none. */
  readonly lossless: (string | number)[][] | null;
}

export interface ErrorResult {
  readonly ok: false;
  readonly error: PlainError;
  /** ctx.removed when the error was thrown (decides whether rejects.jsonl may hold the record's text). */
  readonly removed: boolean;
  readonly enums: string[] | null;
}

export type WorkerReply =
  | { readonly seq: number; readonly results: RecordResult[] }
  /** A bug (not a ChatportError) or a failure to start: the run stops with it. */
  | { readonly seq: number; readonly fatal: string };

export function plainError(e: ChatportError): PlainError {
  return { code: e.code, message: e.message, stage: e.stage, position: { ...e.position } };
}

export function chatportError(p: PlainError): ChatportError {
  return new ChatportError(p.code, p.message, p.stage, p.position);
}

/** Packs a chunk's records into one buffer (a copy: main keeps the originals for rejects.jsonl). */
export function packBatch(seq: number, file: string, raws: readonly RawRecord[]): { request: BatchRequest; transfer: ArrayBuffer[] } {
  let total = 0;
  for (const r of raws) total += r.bytes.length;
  const bytes = new ArrayBuffer(total);
  const view = new Uint8Array(bytes);
  const meta = new Float64Array(raws.length * 4);
  const shapes: ContainerShape[] = new Array(raws.length);
  const boundaries: ('line' | 'structure')[] = new Array(raws.length);
  const longNumbers: (number[] | null)[] = new Array(raws.length);
  let problems: (PlainError | null)[] | null = null;
  let at = 0;
  for (let i = 0; i < raws.length; i++) {
    const r = raws[i]!;
    view.set(r.bytes, at);
    at += r.bytes.length;
    meta[i * 4] = at;
    meta[i * 4 + 1] = r.recordIndex;
    meta[i * 4 + 2] = r.byteOffset;
    meta[i * 4 + 3] = r.line;
    shapes[i] = r.shape;
    boundaries[i] = r.boundary;
    longNumbers[i] = r.longNumbers;
    if (r.problem) (problems ??= new Array<PlainError | null>(raws.length).fill(null))[i] = plainError(r.problem);
  }
  return { request: { seq, file, bytes, meta, shapes, boundaries, longNumbers, problems }, transfer: [bytes] };
}

/** The RawRecords of a request, as views of its buffer (worker side). */
export function unpackBatch(req: BatchRequest): RawRecord[] {
  const buf = Buffer.from(req.bytes);
  const out: RawRecord[] = new Array(req.shapes.length);
  let start = 0;
  for (let i = 0; i < out.length; i++) {
    const end = req.meta[i * 4]!;
    const problem = req.problems?.[i];
    out[i] = {
      bytes: buf.subarray(start, end),
      recordIndex: req.meta[i * 4 + 1]!,
      byteOffset: req.meta[i * 4 + 2]!,
      line: req.meta[i * 4 + 3]!,
      shape: req.shapes[i]!,
      boundary: req.boundaries[i]!,
      longNumbers: req.longNumbers[i]!,
      ...(problem ? { problem: chatportError(problem) } : {}),
    };
    start = end;
  }
  return out;
}

/**
 * Replaces every LosslessNumber in the rows by its text and returns where each was (worker side). Only these
 * recorded places are turned back (restoreLossless), so vendor data of any shape cannot be mistaken for one.
 * An object reachable twice (shared by two cells) is replaced once: structured clone keeps the sharing.
 */
export function extractLossless(rows: readonly { row: Row }[]): (string | number)[][] | null {
  let found: (string | number)[][] | null = null;
  const path: (string | number)[] = [];
  const walk = (container: Record<string, unknown> | unknown[]): void => {
    if (Array.isArray(container)) {
      for (let i = 0; i < container.length; i++) visit(container, i, container[i]);
    } else {
      for (const key in container) visit(container, key, container[key]);
    }
  };
  const visit = (container: Record<string, unknown> | unknown[], key: string | number, v: unknown): void => {
    if (v === null || typeof v !== 'object') return;
    path.push(key);
    if (v instanceof LosslessNumber) {
      (container as Record<string | number, unknown>)[key] = v.raw;
      (found ??= []).push(path.slice());
    } else walk(v as Record<string, unknown> | unknown[]);
    path.pop();
  };
  for (let r = 0; r < rows.length; r++) {
    path.push(r);
    walk(rows[r]!.row);
    path.pop();
  }
  return found;
}

/** Turns the recorded places back into LosslessNumbers (main side). */
export function restoreLossless(rows: readonly { row: Row }[], places: readonly (readonly (string | number)[])[]): void {
  for (const place of places) {
    let container: Record<string | number, unknown> = rows[place[0] as number]!.row;
    for (let k = 1; k < place.length - 1; k++) container = container[place[k]!] as Record<string | number, unknown>;
    const last = place[place.length - 1]!;
    container[last] = new LosslessNumber(container[last] as string);
  }
}
