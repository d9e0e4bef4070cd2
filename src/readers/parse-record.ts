// Turns one record's bytes into a JS value: strict UTF-8, JSON.parse, and number literals too long for a
// double kept exactly as LosslessNumber (ids up to 2^64-1, microsecond timestamps).

import { isUtf8 } from 'node:buffer';
import { ChatportError, type Position } from '../errors.js';
import { LosslessNumber, isUnsafeNumberText } from '../json/lossless-number.js';
import type { RawRecord } from './record-splitter.js';

/** JSON.parse's reviver receives the literal's source text since V8 11 (Node 20): used only when needed. */
type ReviverContext = { source?: string };

function keepLongNumbers(this: unknown, _key: string, value: unknown, context?: ReviverContext): unknown {
  if (typeof value === 'number' && context?.source !== undefined && isUnsafeNumberText(context.source)) {
    return new LosslessNumber(context.source);
  }
  return value;
}

export function decodeRecordText(raw: RawRecord, file: string): string {
  if (!isUtf8(raw.bytes)) {
    const bad = firstInvalidUtf8(raw.bytes);
    throw new ChatportError('READ_INVALID_UTF8', `invalid UTF-8 at byte ${raw.byteOffset + bad} (input must be UTF-8)`, 'read', positionOf(raw, file));
  }
  return raw.bytes.toString('utf8');
}

export function parseRecordText(text: string, raw: RawRecord, file: string): unknown {
  try {
    return raw.hasLongNumber ? JSON.parse(text, keepLongNumbers as (k: string, v: unknown) => unknown) : JSON.parse(text);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const at = /position (\d+)/.exec(message);
    const detail = at ? `${message.replace(/ in JSON at position \d+.*$/s, '')} at byte ${raw.byteOffset + Number(at[1])}` : message;
    throw new ChatportError('READ_INVALID_JSON', `invalid JSON: ${detail}`, 'read', positionOf(raw, file));
  }
}

export function positionOf(raw: Pick<RawRecord, 'recordIndex' | 'byteOffset' | 'line' | 'shape'>, file: string): Position {
  return raw.shape === 'object'
    ? { file, line: raw.line, recordIndex: raw.recordIndex, byteOffset: raw.byteOffset }
    : { file, recordIndex: raw.recordIndex, byteOffset: raw.byteOffset };
}

function firstInvalidUtf8(buf: Buffer): number {
  // Only runs on a failing record: find the offset to report.
  let lo = 0;
  let hi = buf.length;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (isUtf8(buf.subarray(0, mid))) lo = mid;
    else hi = mid;
  }
  // `lo` bytes are valid UTF-8 (possibly ending mid-sequence); the bad sequence starts near there
  return lo;
}
