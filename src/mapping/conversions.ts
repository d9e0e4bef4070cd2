// Value conversions named by mappings: exact id strings from numbers or strings, text, numbers, booleans,
// and timestamps (Unix seconds with fractions, epoch millis, ISO-8601 with or without zone) to epoch microseconds.
// A conversion failure throws ConversionError; the engine adds the file, record and path. Messages describe a value
// by its type and shape, never by its text: an error line, a reject's reason or a validate report can then never
// carry a record's content (a removed part's included), whatever the value holds.

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

/**
 * A value as an error message may show it: its type and shape, never its characters. Strings say their length and
 * what they look like, so a mapping author can tell which conversion fits without the value being printed.
 */
export function describeValue(v: unknown): string {
  if (typeof v !== 'string') return describeType(v);
  if (v === '') return 'an empty string';
  const shape = ISO.test(v.trim())
    ? ' that looks like an ISO-8601 date and time'
    : /^-?\d+$/.test(v)
      ? ' of digits'
      : /^-?\d+\.\d+$/.test(v)
        ? ' that looks like a decimal number'
        : '';
  return `a string of ${v.length} character${v.length === 1 ? '' : 's'}${shape}`;
}

function fail(expected: string, v: unknown, hint = ''): never {
  throw new ConversionError('MAP_INVALID_VALUE', `expected ${expected}, got ${describeValue(v)}${hint}`);
}

/** What to do about an object or array where a single value is expected: read a field inside, or keep it whole. */
function containerHint(v: unknown): string {
  if (Array.isArray(v)) return ': pick one element (pick: first, a path with [0]) or keep the list in a json column';
  if (v !== null && typeof v === 'object') return ': point the path at a field inside it (x.id), or keep it whole in a json column';
  return '';
}

/** The conversion that fits a string's shape, where one does. */
function stringHint(v: unknown): string {
  if (typeof v !== 'string') return '';
  if (ISO.test(v.trim())) return ': it looks like a date and time, use convert: iso8601';
  return '';
}

function toId(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) fail('an id', v);
    return String(v);
  }
  if (v instanceof LosslessNumber) return v.raw;
  return fail('an id (string or number)', v, containerHint(v));
}

function toStringValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof LosslessNumber) return v.raw;
  return fail('a string', v, containerHint(v));
}

function toText(v: unknown): string {
  if (typeof v === 'string') return v;
  const scalar = typeof v === 'number' || typeof v === 'boolean' || v instanceof LosslessNumber;
  return fail('text', v, scalar ? ': use convert: string to keep it as text' : containerHint(v));
}

/** Block-level tags whose boundaries are line breaks in the text a reader sees. */
const BLOCK_TAGS = /^(p|div|br|li|ul|ol|h[1-6]|tr|table|blockquote|pre|hr)$/i;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/**
 * HTML (Intercom and Zendesk message bodies) as the plain text a reader sees: tags removed, block tags (p, div, br,
 * li...) as line breaks, character references decoded, runs of blank lines collapsed, the ends trimmed. One pass
 * over the text, no parser state beyond the current tag: cost bounded by the text's length. The HTML itself is not
 * lost: the shipped mappings keep it in `payload`.
 */
function toPlainText(v: unknown): string {
  const s = toText(v);
  if (s.indexOf('<') < 0 && s.indexOf('&') < 0) return s;
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '<') {
      const close = s.indexOf('>', i);
      if (close < 0) {
        out += s.slice(i);
        break;
      }
      const name = /^<\/?\s*([A-Za-z0-9]+)/.exec(s.slice(i, close + 1))?.[1] ?? '';
      if (BLOCK_TAGS.test(name) && !out.endsWith('\n') && out !== '') out += '\n';
      i = close + 1;
    } else if (c === '&') {
      const m = /^&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,8});/.exec(s.slice(i, i + 12));
      const ref = m?.[1];
      let ch: string | undefined;
      if (ref?.startsWith('#x')) ch = safeCodePoint(parseInt(ref.slice(2), 16));
      else if (ref?.startsWith('#')) ch = safeCodePoint(parseInt(ref.slice(1), 10));
      else if (ref !== undefined) ch = Object.prototype.hasOwnProperty.call(ENTITIES, ref) ? ENTITIES[ref] : undefined;
      if (m && ch !== undefined) {
        out += ch;
        i += m[0].length;
      } else {
        out += c;
        i++;
      }
    } else {
      out += c;
      i++;
    }
  }
  return out.replace(/\n{3,}/g, '\n\n').trim();
}

function safeCodePoint(n: number): string | undefined {
  return Number.isInteger(n) && n > 0 && n <= 0x10ffff && !(n >= 0xd800 && n <= 0xdfff) ? String.fromCodePoint(n) : undefined;
}

function toInteger(v: unknown): number {
  const n = toNumber(v);
  if (!Number.isSafeInteger(n)) {
    const hint = Number.isInteger(n)
      ? ': it has more digits than an exact double, use convert: id or string to keep them'
      : ': it has a fraction, use convert: number';
    fail('an integer', v, hint);
  }
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
  return fail(
    'a number',
    v,
    typeof v === 'boolean' ? ': use convert: boolean' : typeof v === 'string' ? stringHint(v) || ': map the words with enum' : containerHint(v),
  );
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
  return fail(
    'a boolean',
    v,
    typeof v === 'string' || typeof v === 'number' ? ' (booleans are true/false, 0/1, "0"/"1", "true"/"false"): map other values with enum' : containerHint(v),
  );
}

/** Exact epoch micros from decimal text in the given unit (10^6 for seconds, 10^3 for millis). */
function decimalToMicros(text: string, unitDigits: 6 | 3): number {
  // -?\d+(\.\d+)? scanned by hand: this runs for every timestamp, and a regex with captures cost more
  const n = text.length;
  const sign = text.charCodeAt(0) === 45;
  let i = sign ? 1 : 0;
  const wholeStart = i;
  // the whole part's value as it is scanned: exact up to 15 digits (below 2^53); longer ones are read by Number below
  let whole = 0;
  for (let c = text.charCodeAt(i); i < n && isDigit(c); c = text.charCodeAt(++i)) whole = whole * 10 + (c - 48);
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
    return checkRange(Math.round(x * (unitDigits === 6 ? 1e6 : 1e3)));
  }
  const fracLen = n - fracStart;
  for (let k = fracStart + unitDigits; k < n; k++) {
    if (text.charCodeAt(k) !== 48) {
      throw new ConversionError(
        'MAP_INVALID_TIMESTAMP',
        `a timestamp with ${fracLen} fraction digits is finer than a microsecond; chatport keeps microseconds exactly and will not round`,
      );
    }
  }
  let frac = 0;
  for (let k = 0; k < unitDigits; k++) frac = frac * 10 + (k < fracLen ? text.charCodeAt(fracStart + k) - 48 : 0);
  // the power as a literal: `10 ** unitDigits` is a call to pow for every timestamp
  if (wholeEnd - wholeStart > 15) whole = Number(text.slice(wholeStart, wholeEnd));
  const micros = whole * (unitDigits === 6 ? 1e6 : 1e3) + frac;
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
    if (typeof v === 'string') {
      const hint = ISO.test(v.trim()) ? ': use convert: iso8601 (or timestamp)' : '';
      throw new ConversionError('MAP_INVALID_TIMESTAMP', `${describeValue(v)} is not an epoch number${hint}`);
    }
    throw new ConversionError('MAP_INVALID_TIMESTAMP', `expected an epoch number, got ${describeType(v)}${containerHint(v)}`);
  }
  let u = unit;
  if (u === 'auto') u = Math.abs(Number(text)) >= 1e11 ? 'millis' : 'seconds';
  return decimalToMicros(text, u === 'seconds' ? 6 : 3);
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

function fromIso(v: unknown): number {
  if (typeof v !== 'string') {
    const epoch = typeof v === 'number' || v instanceof LosslessNumber;
    throw new ConversionError(
      'MAP_INVALID_TIMESTAMP',
      `expected an ISO-8601 string, got ${describeType(v)}${epoch ? ': use convert: unix_seconds, unix_millis or timestamp' : containerHint(v)}`,
    );
  }
  const m = ISO.exec(v.trim());
  if (!m) {
    const epoch = /^-?\d+(\.\d+)?$/.test(v.trim());
    throw new ConversionError(
      'MAP_INVALID_TIMESTAMP',
      `${describeValue(v)} is not an ISO-8601 timestamp${epoch ? ': use convert: unix_seconds, unix_millis or timestamp' : ''}`,
    );
  }
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    throw new ConversionError('MAP_INVALID_TIMESTAMP', `${describeValue(v)} is not a valid date and time (a month, day, hour, minute or second out of range)`);
  }
  if (frac.length > 6 && /[1-9]/.test(frac.slice(6))) {
    throw new ConversionError('MAP_INVALID_TIMESTAMP', `${describeValue(v)} is finer than a microsecond; chatport will not round`);
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
    case 'html_text':
      return toPlainText;
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
