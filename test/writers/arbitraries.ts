// fast-check generators for the writer tests: text that stresses each format, ids as vendors send them, instants
// with microseconds, 64-bit integers, nested JSON with long numbers, and rows built the ways a mapping (or a library
// user) may build them.

import fc from 'fast-check';
import { LosslessNumber } from '../../src/json/lossless-number.js';
import type { ColumnDef, Row, TableDef } from '../../src/model/canonical-schema.js';

/** Pieces that stress a format: separators, quotes, line breaks, formula starts, NUL, escapes, emoji, long runs. */
const hostilePiece = fc.constantFrom(
  ',',
  '"',
  '\r',
  '\n',
  '\r\n',
  '=',
  '+',
  '-',
  '@',
  '\t',
  "'",
  '\u0000',
  '\u001f',
  '\u007f',
  '\u0080',
  '\\',
  '/',
  '\u2028',
  '\u2029',
  '\ufeff',
  '😀',
  '👍🏽',
  '🏳️‍🌈',
  'é',
  'ж',
  '中文',
  'עברית',
  ' ',
  'x',
  '1400053279699342115',
  '+49 30 1234-5',
  '-5',
  'x'.repeat(70),
  'é'.repeat(300),
);

/** Well-formed Unicode text (no unpaired surrogates): what every format and DuckDB hold exactly. */
export const text = fc.oneof(
  fc.fullUnicodeString({ maxLength: 40 }),
  fc.array(fc.oneof(hostilePiece, fc.fullUnicodeString({ maxLength: 8 })), { maxLength: 8 }).map((parts) => parts.join('')),
);

/** Any JavaScript string, unpaired surrogates and reversed pairs included. */
export const anyString = fc.oneof(
  text,
  fc.string16bits({ maxLength: 30 }),
  fc.array(fc.oneof(hostilePiece, fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff', '\ude00\ud83d')), { maxLength: 6 }).map((p) => p.join('')),
);

const UINT64_MAX = 2n ** 64n - 1n;

/** Number literals a double cannot hold, as the reader keeps them: long ids (up to 2^64-1 and past it), long decimals. */
export const longNumber = fc
  .oneof(
    fc.bigInt({ min: 2n ** 53n + 1n, max: UINT64_MAX }).map(String),
    fc.bigInt({ min: -(2n ** 63n), max: -(2n ** 53n) - 1n }).map(String),
    fc.bigInt({ min: UINT64_MAX, max: 10n ** 30n }).map(String),
    fc
      .tuple(fc.integer({ min: 1_000_000_000, max: 2_000_000_000 }), fc.integer({ min: 0, max: 999_999 }))
      .map(([s, us]) => `${s}.${String(us).padStart(6, '0')}`),
    fc.constantFrom('18446744073709551615', '1641002141.631719', '1.2345678901234567e+30', '-0.12345678901234567'),
  )
  .map((raw) => new LosslessNumber(raw));

/** An id as vendors send it: text, a long digit string, or a number kept exact (LosslessNumber, bigint, safe number). */
export const id = fc.oneof(
  { weight: 3, arbitrary: text },
  fc.bigInt({ min: 0n, max: UINT64_MAX }).map(String),
  fc.constant('18446744073709551615'),
  longNumber,
  fc.bigInt({ min: 0n, max: UINT64_MAX }),
  fc.maxSafeNat(),
);

const SECOND = 1_000_000;
/** Epoch microseconds (safe integers): whole seconds, milliseconds, microseconds; before 1970 and far ahead. */
export const micros = fc.oneof(
  fc.integer({ min: 0, max: 4_102_444_800 }).map((s) => s * SECOND),
  fc.integer({ min: 0, max: 4_102_444_800_000 }).map((ms) => ms * 1000),
  fc.integer({ min: 0, max: 4_102_444_800_000_000 }),
  fc.maxSafeInteger(),
  fc.constantFrom(1_709_251_199_123_456, -1, 0, 1, -86_400_000_001, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
);

/** A signed 64-bit integer as a row may hold it: a safe number, a bigint, or a LosslessNumber of integer digits. */
export const int64 = fc.oneof(
  fc.maxSafeInteger(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((b) => new LosslessNumber(String(b))),
  fc.constantFrom(2n ** 63n - 1n, -(2n ** 63n), 0, -1),
);

const key = fc.oneof(text, fc.constantFrom('id', 'type', 'created_at', '__proto__', 'constructor', '0', '10', '-1', ''));

/** Nested JSON as the reader builds it (JSON.parse plus LosslessNumbers), with members a mapping may leave undefined. */
export function jsonTree(strings: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  return fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer(),
      fc.constantFrom(-0, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, 0.1),
      strings,
      longNumber,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(key, fc.oneof({ weight: 6, arbitrary: tie('value') }, fc.constant(undefined)), { maxKeys: 4 }),
    ),
  })).value;
}

/** A value column `col` accepts, by its type (docs/formats.md); `strings` is the text to use. */
export function goodValue(col: ColumnDef, strings: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  switch (col.type) {
    case 'string':
      return col.name.endsWith('_id') ? fc.oneof(id, strings) : fc.oneof({ weight: 5, arbitrary: strings }, id);
    case 'timestamp':
      return micros;
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return int64;
    case 'json':
      return jsonTree(strings);
  }
}

/** A cell: mostly a good value, for optional columns sometimes null or missing. */
export function goodCell(col: ColumnDef, strings: fc.Arbitrary<string> = text): fc.Arbitrary<unknown> {
  if (!col.nullable) return goodValue(col, strings);
  return fc.oneof({ weight: 5, arbitrary: goodValue(col, strings) }, fc.constantFrom(null, undefined));
}

/** How the row object is built: as the mapping builds it (keys in column order), or any other way. */
export type Shape = 'ordered' | 'template' | 'shuffled' | 'missing' | 'extra' | 'inherited';
const SHAPES: Shape[] = ['ordered', 'template', 'shuffled', 'missing', 'extra', 'inherited'];

export function buildRow(table: TableDef, values: readonly unknown[], shape: Shape, seed: number): Row {
  const names = table.columns.map((c) => c.name);
  switch (shape) {
    case 'ordered':
      return Object.fromEntries(names.map((n, i) => [n, values[i]]));
    case 'template': {
      const row = JSON.parse(JSON.stringify(Object.fromEntries(names.map((n) => [n, null])))) as Row;
      names.forEach((n, i) => (row[n] = values[i]));
      return row;
    }
    case 'shuffled': {
      const order = names.map((n, i) => [n, i] as const).sort((a, b) => ((a[1] * 7919 + seed) % 23) - ((b[1] * 7919 + seed) % 23));
      return Object.fromEntries(order.map(([n, i]) => [n, values[i]]));
    }
    case 'missing':
      return Object.fromEntries(names.map((n, i) => [n, values[i]] as const).filter((_, i) => (i + seed) % 3 !== 0 || values[i] !== undefined));
    case 'extra': {
      const row: Row = Object.fromEntries(names.map((n, i) => [n, values[i]]));
      if (seed % 2) row.zzz = 1;
      else return { first: 0, ...row };
      return row;
    }
    case 'inherited': {
      const cut = seed % names.length;
      const proto = Object.fromEntries(names.slice(0, cut).map((n, i) => [n, values[i]]));
      const row = Object.create(proto) as Row;
      names.slice(cut).forEach((n, i) => (row[n] = values[cut + i]));
      return row;
    }
  }
}

/** One row of `table` from the given cell generators, built in any shape. */
export function rowOf(table: TableDef, cell: (col: ColumnDef) => fc.Arbitrary<unknown>): fc.Arbitrary<Row> {
  return fc
    .record({ values: fc.tuple(...table.columns.map(cell)), shape: fc.constantFrom(...SHAPES), seed: fc.nat() })
    .map((r) => buildRow(table, r.values, r.shape, r.seed));
}
