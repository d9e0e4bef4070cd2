// How every writer reads a canonical row's cell: one set of rules for null, required columns and value types,
// so a row that JSONL accepts is accepted (and rejected) by CSV and Parquet in the same way.

import { ChatportError } from '../errors.js';
import { LosslessNumber } from '../json/lossless-number.js';
import { stableStringify } from '../json/stable-json.js';
import type { ColumnDef, TableDef } from '../model/canonical-schema.js';

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
  return new ChatportError(
    'MAP_MISSING_FIELD',
    `table ${table.name}: column ${col.name} may not be null (row ${rowIndex})`,
    'write',
    { recordIndex: rowIndex, path: col.name },
  );
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
