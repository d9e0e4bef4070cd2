// Turns one record's bytes into a JS value: strict UTF-8, JSON.parse, and the number literals that the rule of
// json/lossless-number.ts keeps as text turned into LosslessNumber (ids up to 2^64-1, microsecond timestamps).

import { isUtf8 } from 'node:buffer';
import { ChatportError, type Position } from '../errors.js';
import { LosslessNumber, isKeptNumberAt } from '../json/lossless-number.js';
import { parsePartialJson } from '../json/partial-json.js';
import type { RawRecord } from './record-splitter.js';

// The splitter notes the ranges of the literals that may need it (a fraction, an exponent, a minus, or many
// digits); the rule picks those that do, and they are kept exact by quoting them with a leading NUL before
// JSON.parse (fast, native) and turning those strings into LosslessNumber afterwards. A NUL can only reach a parsed
// string through the escape \u0000 (raw control characters are invalid JSON), and only a string that begins with it
// could pass for a marked one: when the lexer saw no string open with a backslash (RawRecord.escapeOpensString), the
// marker is unambiguous without a search of the bytes; otherwise it is unambiguous when the record holds no such
// escape anywhere. A record that holds that escape itself gets another control character as its
// marker (U+0001 ... U+0019, spelled only as \u00XX with digits), and one that holds all of them (never seen) is
// checked by JSON.parse and read by the JS reader of json/partial-json.ts, which applies the same rule to every
// literal itself: no V8 flag, nothing set at import.

/** Marker characters in order of preference: their only JSON spelling is `\u00` and two digits. */
const MARKS = [0, 1, 2, 3, 4, 5, 6, 7, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19];
const MARK_ESCAPES = MARKS.map((c) => Buffer.from(`\\u00${c.toString(16).padStart(2, '0')}`));
/** `"\u00XX`: a marked string's opening quote and the marker's escape. */
const MARK_OPENS = MARKS.map((c) => Buffer.from(`"\\u00${c.toString(16).padStart(2, '0')}`));

/** The first marker whose escape the record does not hold, or -1 (then the record takes the exact reader). */
function markerFor(bytes: Buffer): number {
  for (let m = 0; m < MARKS.length; m++) if (bytes.indexOf(MARK_ESCAPES[m]!) < 0) return m;
  return -1;
}
/** Pieces up to this many bytes are copied in a loop rather than by Buffer#copy. */
const SHORT_COPY = 64;
/** Reused for building marked texts; grows to the largest record seen. */
let scratch = Buffer.allocUnsafe(1 << 16);

/**
 * The ranges whose literal the rule keeps as text, or null for none. A range whose text is not a JSON number at all
 * (`1.0.0`, `--1`: the splitter does not check the grammar) is not kept, so JSON.parse refuses it rather than
 * taking it as a quoted string.
 */
function keptRanges(bytes: Buffer, ranges: number[]): number[] | null {
  let kept: number[] | null = null;
  for (let k = 0; k < ranges.length; k += 2) {
    if (isKeptNumberAt(bytes, ranges[k]!, ranges[k + 1]!)) {
      if (kept === null) {
        if (k === 0 && ranges.length === 2) return ranges;
        kept = [];
      }
      kept.push(ranges[k]!, ranges[k + 1]!);
    }
  }
  return kept;
}

/**
 * The record's text with each kept number literal turned into a marked string: the bytes are copied into a
 * scratch buffer with the quotes and NUL escape inserted, then decoded once into a flat string (cheaper than
 * decoding segment by segment and concatenating, which leaves JSON.parse a rope to flatten: ~0.3-0.6 µs a Dashly
 * part). A number literal is ASCII, so every cut falls on a character boundary.
 */
function markNumbers(bytes: Buffer, ranges: number[], marker: number): string {
  const MARK_OPEN = MARK_OPENS[marker]!;
  const need = bytes.length + (ranges.length / 2) * (MARK_OPEN.length + 1);
  if (need > scratch.length) scratch = Buffer.allocUnsafe(Math.max(need, scratch.length * 2));
  const out = scratch;
  let o = 0;
  let at = 0;
  for (let k = 0; k < ranges.length; k += 2) {
    const start = ranges[k]!;
    const end = ranges[k + 1]!;
    o = copyBytes(bytes, at, start, out, o);
    o = copyBytes(MARK_OPEN, 0, MARK_OPEN.length, out, o);
    o = copyBytes(bytes, start, end, out, o);
    out[o++] = 0x22; // "
    at = end;
  }
  o = copyBytes(bytes, at, bytes.length, out, o);
  return out.toString('utf8', 0, o);
}

/** Bytes [from, to) of src into out at o; returns the offset after them. */
function copyBytes(src: Buffer, from: number, to: number, out: Buffer, o: number): number {
  // Buffer#copy with a range makes a view per call: the short pieces between number literals are cheaper by hand
  if (to - from > SHORT_COPY) return o + src.copy(out, o, from, to);
  for (let i = from; i < to; i++) out[o++] = src[i]!;
  return o;
}

/** Replaces marked strings with LosslessNumber, in place; stops once `remaining` were found. */
function unmark(value: unknown, remaining: { n: number; readonly mark: number }): unknown {
  if (typeof value === 'string') return value.charCodeAt(0) === remaining.mark ? (remaining.n--, new LosslessNumber(value.slice(1))) : value;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length && remaining.n > 0; i++) {
      const v = value[i];
      if (typeof v === 'string' || (v !== null && typeof v === 'object')) value[i] = unmark(v, remaining);
    }
    return value;
  }
  const obj = value as Record<string, unknown>;
  for (const key in obj) {
    if (remaining.n <= 0) break;
    const v = obj[key];
    if (typeof v === 'string' || (v !== null && typeof v === 'object')) obj[key] = unmark(v, remaining);
  }
  return value;
}

function checkUtf8(raw: RawRecord, file: string): void {
  if (!isUtf8(raw.bytes)) {
    const bad = firstInvalidUtf8(raw.bytes);
    throw new ChatportError('READ_INVALID_UTF8', `invalid UTF-8 at byte ${raw.byteOffset + bad} (input must be UTF-8)`, 'read', positionOf(raw, file));
  }
}

/**
 * Decodes and parses one record, keeping number literals exact. The text is decoded once: records with kept
 * numbers are decoded straight into their marked form (the caller decodes the bytes again for a reject).
 */
export function parseRecord(raw: RawRecord, file: string): { value: unknown } {
  checkUtf8(raw, file);
  const ranges = raw.longNumbers === null ? null : keptRanges(raw.bytes, raw.longNumbers);
  if (ranges === null) return { value: parseJson(raw.bytes.toString('utf8'), raw, file, false) };
  // NUL, unless a string of the record opens with an escape and so might begin with a control character itself
  const marker = raw.escapeOpensString ? markerFor(raw.bytes) : 0;
  if (marker < 0) return { value: parseJson(raw.bytes.toString('utf8'), raw, file, true) };
  let value: unknown;
  try {
    value = JSON.parse(markNumbers(raw.bytes, ranges, marker));
  } catch {
    // report the error against the original text, with its own positions
    return { value: parseJson(raw.bytes.toString('utf8'), raw, file, false) };
  }
  return { value: unmark(value, { n: ranges.length / 2, mark: MARKS[marker]! }) };
}

function parseJson(text: string, raw: RawRecord, file: string, exact: boolean): unknown {
  try {
    const value: unknown = JSON.parse(text);
    if (!exact) return value;
    // valid JSON (JSON.parse said so), read again keeping number literals exact
    const read = parsePartialJson(text);
    if (!read.complete) throw new Error('internal: the exact reader stopped on text JSON.parse accepted');
    return read.value;
  } catch (e) {
    // V8's messages quote a snippet of the text; that snippet could be removed (GDPR) content, so only the
    // kind of problem and its offset are reported.
    const message = e instanceof Error ? e.message : String(e);
    const at = /position (\d+)/.exec(message);
    const where = at ? ` at byte ${raw.byteOffset + Number(at[1])}` : '';
    throw new ChatportError('READ_INVALID_JSON', `invalid JSON: ${jsonProblem(message)}${where}`, 'read', positionOf(raw, file));
  }
}

function jsonProblem(message: string): string {
  if (/Unterminated string/i.test(message)) return 'a string is not closed';
  if (/Unexpected end|end of JSON input/i.test(message)) return 'the record ends too early';
  if (/Bad control character/i.test(message)) return 'a raw control character (such as a newline) inside a string';
  if (/Bad (escaped character|Unicode escape)/i.test(message)) return 'a bad escape sequence in a string';
  if (/Unexpected non-whitespace character after JSON/i.test(message)) return 'unexpected data after the end of the record';
  if (/Unexpected number/i.test(message)) return 'an unexpected number';
  if (/Unexpected string/i.test(message)) return 'an unexpected string';
  if (/Unexpected token/i.test(message)) return 'an unexpected character';
  return 'not valid JSON';
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
