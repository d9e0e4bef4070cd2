// How every writer reads a canonical row's cell: one set of rules for null, required columns and value types,
// so a row that JSONL accepts is accepted (and rejected) by CSV and Parquet in the same way.

import { ChatportError } from '../errors.js';
import { LosslessNumber } from '../json/lossless-number.js';
import { plainUntil, stableStringify } from '../json/stable-json.js';
import type { ColumnDef, Row, TableDef } from '../model/canonical-schema.js';

/** Column types as small integers: writers switch on them in their per-cell loops. */
export const T_STRING = 0;
export const T_TIMESTAMP = 1;
export const T_BOOLEAN = 2;
export const T_INTEGER = 3;
export const T_JSON = 4;

export function typeCode(col: ColumnDef): number {
  switch (col.type) {
    case 'string':
      return T_STRING;
    case 'timestamp':
      return T_TIMESTAMP;
    case 'boolean':
      return T_BOOLEAN;
    case 'integer':
      return T_INTEGER;
    case 'json':
      return T_JSON;
  }
}

/** A row that lacks a required column is a mapping defect; the writer names it instead of writing a broken key. */
export function missingRequired(table: TableDef, col: ColumnDef, rowIndex: number): ChatportError {
  return new ChatportError('MAP_MISSING_FIELD', `table ${table.name}: column ${col.name} may not be null (row ${rowIndex})`, 'write', {
    recordIndex: rowIndex,
    path: col.name,
  });
}

function invalid(table: TableDef, col: ColumnDef, rowIndex: number, value: unknown, expected: string): ChatportError {
  const shown = typeof value === 'object' ? Object.prototype.toString.call(value) : `${typeof value} ${String(value)}`;
  return new ChatportError(
    'MAP_INVALID_VALUE',
    `table ${table.name}: column ${col.name} expects ${expected}, got ${shown.slice(0, 80)} (row ${rowIndex})`,
    'write',
    { recordIndex: rowIndex, path: col.name },
  );
}

/**
 * Text of a string column. Numeric ids that reached us as LosslessNumber, bigint or number are printed exactly
 * (they are text to the model); anything else is a mapping bug and is refused rather than printed as "[object Object]".
 */
export function textValue(table: TableDef, col: ColumnDef, rowIndex: number, value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof LosslessNumber) return value.raw;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw invalid(table, col, rowIndex, value, 'a string');
}

/** Epoch microseconds; fractions or non-numbers would silently shift instants, so they are refused. */
export function microsValue(table: TableDef, col: ColumnDef, rowIndex: number, value: unknown): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  throw invalid(table, col, rowIndex, value, 'integer epoch microseconds');
}

export function booleanValue(table: TableDef, col: ColumnDef, rowIndex: number, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  throw invalid(table, col, rowIndex, value, 'a boolean');
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A signed 64-bit integer: a safe-integer number, or a bigint / LosslessNumber for larger values. */
export function integerValue(table: TableDef, col: ColumnDef, rowIndex: number, value: unknown): number | bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  let big: bigint | undefined;
  if (typeof value === 'bigint') big = value;
  else if (value instanceof LosslessNumber && /^-?\d+$/.test(value.raw)) big = BigInt(value.raw);
  if (big !== undefined && big >= INT64_MIN && big <= INT64_MAX) return big;
  throw invalid(table, col, rowIndex, value, 'a 64-bit integer');
}

/**
 * JSON text of a json-typed cell: stableStringify, whose single walk measured cheaper than checking for plain trees
 * first and handing those to JSON.stringify (most Dashly cells hold LosslessNumber ids, so paid for both walks).
 */
export function jsonText(v: unknown): string {
  return stableStringify(v);
}

/**
 * Copies a row's cells, in column order, into cells[at..]. Rows made by the mapping share one shape with their
 * keys in column order, so a for-in walk reads each cell by its field index; a row whose keys are not exactly the
 * columns in order is read by name. (`row[name]` in a loop over the columns is a keyed load with a new key each
 * time, which V8 serves from its megamorphic cache: measured ~2x the cost.)
 */
export function readCells(row: Row, names: readonly string[], cells: unknown[], at: number): void {
  const n = names.length;
  let c = 0;
  for (const key in row) {
    if (c === n || key !== names[c]) {
      c = -1;
      break;
    }
    cells[at + c] = row[key];
    c++;
  }
  if (c !== n) for (c = 0; c < n; c++) cells[at + c] = row[names[c]!];
}

/** An append-only byte buffer that grows by doubling and is reset, not reallocated, between uses. */
export class ByteBuffer {
  buf: Buffer;
  length = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  append(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.length);
    this.length += src.length;
  }
}

/**
 * Appends `s` as UTF-8, as Buffer#write prints it (a lone surrogate as U+FFFD). ASCII is copied here: a call into
 * the native encoder costs more than a short string; the rest of a string from its first non-ASCII character
 * goes to the native encoder.
 */
export function writeUtf8(out: ByteBuffer, s: string): void {
  const n = s.length;
  out.ensure(n * 3); // a UTF-16 code unit is at most 3 UTF-8 bytes
  const buf = out.buf;
  const at = out.length;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) break;
    buf[at + i] = c;
  }
  out.length = i === n ? at + n : at + buf.write(s, at, 'utf8');
}

/** Appends JSON.stringify(s) as UTF-8. */
export function writeJsonString(out: ByteBuffer, s: string): void {
  const n = s.length;
  out.ensure(n * 6 + 2); // \u00XX for a control character; 3 UTF-8 bytes for other code units
  const buf = out.buf;
  const start = out.length;
  buf[start] = 0x22;
  let p = start + 1;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || c < 0x20 || c === 0x22 || c === 0x5c) break;
    buf[p++] = c;
  }
  if (i < n) {
    if (plainUntil(s, i) < n) {
      // something to escape: JSON.stringify prints it (rare in chat data: quotes, newlines, lone surrogates)
      out.length = start + buf.write(JSON.stringify(s), start, 'utf8');
      return;
    }
    p = start + 1 + buf.write(s, start + 1, 'utf8'); // non-ASCII: the native encoder
  }
  buf[p] = 0x22;
  out.length = p + 1;
}

/** UTF-8 of a quoted key and its colon (`"key":`), for the few dozen keys that make up nearly every object. */
const keyBytes = new Map<string, Uint8Array>();
const MAX_CACHED_KEYS = 4096;
const MAX_CACHED_KEY_LENGTH = 64;
const scratchKey = new ByteBuffer(256);

function writeKey(out: ByteBuffer, key: string): void {
  let bytes = keyBytes.get(key);
  if (bytes === undefined) {
    if (keyBytes.size >= MAX_CACHED_KEYS || key.length > MAX_CACHED_KEY_LENGTH) {
      writeJsonString(out, key);
      out.ensure(1);
      out.buf[out.length++] = 0x3a;
      return;
    }
    scratchKey.length = 0;
    writeJsonString(scratchKey, key);
    scratchKey.ensure(1);
    scratchKey.buf[scratchKey.length++] = 0x3a;
    bytes = Uint8Array.prototype.slice.call(scratchKey.buf, 0, scratchKey.length);
    keyBytes.set(key, bytes);
  }
  writeBytes(out, bytes);
}

export function writeByte(out: ByteBuffer, b: number): void {
  out.ensure(1);
  out.buf[out.length++] = b;
}

/** Appends a few bytes (a key, a separator): a loop beats a call into Uint8Array#set at these lengths. */
export function writeBytes(out: ByteBuffer, bytes: Uint8Array): void {
  const n = bytes.length;
  out.ensure(n);
  const buf = out.buf;
  const at = out.length;
  for (let i = 0; i < n; i++) buf[at + i] = bytes[i]!;
  out.length = at + n;
}

/**
 * Appends the UTF-8 of jsonText(v) (stableStringify) without building the string: the same walk, printing each
 * key, string and number straight into the buffer. Throws what stableStringify throws (bigint), possibly after
 * writing part of the value.
 */
export function writeJson(out: ByteBuffer, value: unknown): void {
  switch (typeof value) {
    case 'string':
      writeJsonString(out, value);
      return;
    case 'number':
      writeUtf8(out, Number.isFinite(value) ? '' + value : 'null'); // as JSON.stringify prints numbers (-0 as 0)
      return;
    case 'boolean':
      writeUtf8(out, value ? 'true' : 'false');
      return;
    case 'undefined':
      writeUtf8(out, 'null');
      return;
    case 'object':
      break;
    default:
      writeUtf8(out, JSON.stringify(value) ?? 'null'); // function, symbol: null; bigint: JSON.stringify's TypeError
      return;
  }
  if (value === null) {
    writeUtf8(out, 'null');
    return;
  }
  if (value instanceof LosslessNumber) {
    writeUtf8(out, value.raw);
    return;
  }
  if (Array.isArray(value)) {
    writeByte(out, 0x5b); // [
    for (let i = 0; i < value.length; i++) {
      if (i > 0) writeByte(out, 0x2c);
      writeJson(out, value[i]);
    }
    writeByte(out, 0x5d); // ]
    return;
  }
  const keys = Object.keys(value);
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    writeByte(out, first ? 0x7b : 0x2c); // { or ,
    first = false;
    writeKey(out, key);
    writeJson(out, v);
  }
  if (first) writeByte(out, 0x7b);
  writeByte(out, 0x7d); // }
}
