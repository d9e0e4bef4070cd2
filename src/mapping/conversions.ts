// Value conversions named by mappings: exact id strings from numbers or strings, text, numbers, booleans,
// and timestamps (Unix seconds with fractions, epoch millis, ISO-8601 with or without zone) to epoch microseconds.
// A conversion failure throws ConversionError; the engine adds the file, record and path.

import { LosslessNumber, exactDouble } from '../json/lossless-number.js';
import { MAX_MICROS, MIN_MICROS } from '../model/timestamp.js';
import type { Conversion } from './mapping-types.js';

export class ConversionError extends Error {
  constructor(
    readonly code: 'MAP_INVALID_VALUE' | 'MAP_INVALID_TIMESTAMP' | 'MAP_TIMESTAMP_OUT_OF_RANGE',
    message: string,
  ) {
    super(message);
  }
}

export type Converter = (value: unknown) => unknown;

export function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof LosslessNumber) return 'a number';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

function fail(expected: string, v: unknown): never {
  throw new ConversionError('MAP_INVALID_VALUE', `expected ${expected}, got ${describeType(v)}`);
}

function toId(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) fail('an id', v);
    return String(v);
  }
  if (v instanceof LosslessNumber) return v.raw;
  return fail('an id (string or number)', v);
}

function toStringValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof LosslessNumber) return v.raw;
  return fail('a string', v);
}

function toText(v: unknown): string {
  if (typeof v === 'string') return v;
  return fail('text', v);
}

function toInteger(v: unknown): number {
  const n = toNumber(v);
  if (!Number.isSafeInteger(n)) fail('an integer', v);
  return n;
}

function toNumber(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v instanceof LosslessNumber) {
    const n = Number(v.raw);
    if (Number.isFinite(n)) return n; // 1e400 is no number a column can hold
    return fail('a number', v);
  }
  if (typeof v === 'string' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v.trim())) return Number(v);
  return fail('a number', v);
}

/** Vendors send booleans as true/false, 0/1, "" or "0"/"1"/"true"/"false". */
function toBoolean(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (v instanceof LosslessNumber) {
    // 0.0, -0, 1.0: the number their text spells
    const d = exactDouble(v);
    if (d === 0) return false;
    if (d === 1) return true;
    return fail('a boolean', v);
  }
  if (v === 0 || v === '' || v === '0' || v === 'false') return false;
  if (v === 1 || v === '1' || v === 'true') return true;
  return fail('a boolean', v);
}

/** Exact epoch micros from decimal text in the given unit (10^6 for seconds, 10^3 for millis). */
function decimalToMicros(text: string, unitDigits: 6 | 3): number {
  // -?\d+(\.\d+)? scanned by hand: this runs for every timestamp, and a regex with captures cost more
  const n = text.length;
  const sign = text.charCodeAt(0) === 45;
  let i = sign ? 1 : 0;
  const wholeStart = i;
  while (i < n && isDigit(text.charCodeAt(i))) i++;
  const wholeEnd = i;
  let fracStart = n;
  let ok = wholeEnd > wholeStart;
  if (ok && i < n) {
    if (text.charCodeAt(i) !== 46) ok = false;
    else {
      fracStart = ++i;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
      if (i === fracStart || i !== n) ok = false;
    }
  }
  if (!ok) {
    // exponent notation or junk: go through a double (exponent forms only come from short literals)
    const x = Number(text);
    if (!Number.isFinite(x)) throw new ConversionError('MAP_INVALID_TIMESTAMP', `not a timestamp`);
    return checkRange(Math.round(x * 10 ** unitDigits));
  }
  const fracLen = n - fracStart;
  for (let k = fracStart + unitDigits; k < n; k++) {
    if (text.charCodeAt(k) !== 48) {
      throw new ConversionError('MAP_INVALID_TIMESTAMP', `timestamp ${text} is finer than a microsecond; chatport keeps microseconds exactly and will not round`);
    }
  }
  let frac = 0;
  for (let k = 0; k < unitDigits; k++) frac = frac * 10 + (k < fracLen ? text.charCodeAt(fracStart + k) - 48 : 0);
  const micros = Number(text.slice(wholeStart, wholeEnd)) * 10 ** unitDigits + frac;
  // + 0: the literal -0 (or -0.0) is the epoch itself, 0, not -0
  return checkRange((sign ? -micros : micros) + 0);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function checkRange(micros: number): number {
  if (!Number.isFinite(micros) || micros < MIN_MICROS || micros >= MAX_MICROS) {
    throw new ConversionError('MAP_TIMESTAMP_OUT_OF_RANGE', `timestamp is outside 1970-01-01..2100-01-01 (a unit mistake or a placeholder?)`);
  }
  return micros;
}

function numericText(v: unknown): string | null {
  if (typeof v === 'number') return Number.isFinite(v) ? numberToPlainText(v) : null;
  if (v instanceof LosslessNumber) return v.raw;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)) return v;
  return null;
}

/** Shortest round-trip text of a double, without exponent for the magnitudes timestamps have. */
function numberToPlainText(n: number): string {
  const s = String(n);
  return s.indexOf('e') >= 0 ? n.toFixed(6) : s;
}

function fromEpoch(v: unknown, unit: 'seconds' | 'millis' | 'auto'): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) {
    // what the decimal path computes for an integer's digits (its String has no exponent or fraction), without
    // printing them: |v| * 10^digits, signed; + 0 turns -0 into the 0 the digits of -0 give
    const seconds = unit === 'seconds' || (unit === 'auto' && Math.abs(v) < 1e11);
    return checkRange(v * (seconds ? 1e6 : 1e3) + 0);
  }
  const text = numericText(v);
  if (text === null) {
    if (typeof v === 'string') throw new ConversionError('MAP_INVALID_TIMESTAMP', `"${clip(v)}" is not an epoch number`);
    throw new ConversionError('MAP_INVALID_TIMESTAMP', `expected an epoch number, got ${describeType(v)}`);
  }
  let u = unit;
  if (u === 'auto') u = Math.abs(Number(text)) >= 1e11 ? 'millis' : 'seconds';
  return decimalToMicros(text, u === 'seconds' ? 6 : 3);
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

function fromIso(v: unknown): number {
  if (typeof v !== 'string') throw new ConversionError('MAP_INVALID_TIMESTAMP', `expected an ISO-8601 string, got ${describeType(v)}`);
  const m = ISO.exec(v.trim());
  if (!m) throw new ConversionError('MAP_INVALID_TIMESTAMP', `"${clip(v)}" is not an ISO-8601 timestamp`);
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    throw new ConversionError('MAP_INVALID_TIMESTAMP', `"${clip(v)}" is not a valid date and time`);
  }
  if (frac.length > 6 && /[1-9]/.test(frac.slice(6))) {
    throw new ConversionError('MAP_INVALID_TIMESTAMP', `"${clip(v)}" is finer than a microsecond; chatport will not round`);
  }
  let offsetMinutes = 0;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMinutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'));
  }
  const ms = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes * 60_000;
  return checkRange(ms * 1000 + Number((frac + '000000').slice(0, 6)));
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function fromAnyTimestamp(v: unknown, unit: 'seconds' | 'millis' | 'auto'): number {
  if (typeof v === 'string' && !/^-?\d+(\.\d+)?$/.test(v)) return fromIso(v);
  return fromEpoch(v, unit);
}

function clip(s: string): string {
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}

export function converterFor(conversion: Conversion, unit: 'seconds' | 'millis' | 'auto' = 'seconds'): Converter {
  switch (conversion) {
    case 'id':
      return toId;
    case 'string':
      return toStringValue;
    case 'text':
      return toText;
    case 'integer':
      return toInteger;
    case 'number':
      return toNumber;
    case 'boolean':
      return toBoolean;
    case 'json':
      return (v) => v;
    case 'unix_seconds':
      return (v) => fromEpoch(v, 'seconds');
    case 'unix_millis':
      return (v) => fromEpoch(v, 'millis');
    case 'iso8601':
      return fromIso;
    case 'timestamp':
      return (v) => fromAnyTimestamp(v, unit);
  }
}

/** Conversions whose output is a timestamp (epoch micros). */
export const TIMESTAMP_CONVERSIONS: ReadonlySet<Conversion> = new Set(['unix_seconds', 'unix_millis', 'iso8601', 'timestamp']);
