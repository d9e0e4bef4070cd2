// The encoders write rows straight as bytes (JSON cells printed into the page or line, cells read by a for-in walk
// when a row's keys are the columns in order). These properties hold them to the exact bytes, and the exact
// errors, of the string-building encoders they replaced (encoder-reference.ts), on random rows of every shape.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LosslessNumber } from '../../src/json/lossless-number.js';
import { stableStringify } from '../../src/json/stable-json.js';
import { TABLES, type ColumnDef, type Row, type TableDef } from '../../src/model/canonical-schema.js';
import { ByteBuffer, writeJson, writeJsonString, writeUtf8 } from '../../src/writers/column-values.js';
import { csvWriter } from '../../src/writers/csv-writer.js';
import { jsonlWriter } from '../../src/writers/jsonl-writer.js';
import type { CodecName } from '../../src/writers/parquet-metadata.js';
import { parquetWriterWith } from '../../src/writers/parquet-writer.js';
import type { EncodedFragment, TableEncoder } from '../../src/writers/writer.js';
import { RefParquetEncoder, refCsvRow, refJsonlRow, refTextFragment } from './encoder-reference.js';

const SLOW = 180_000;

/** What a call did: its result, or the class and message of what it threw. */
function outcome<T>(f: () => T): { value: T } | { threw: string } {
  try {
    return { value: f() };
  } catch (err) {
    return { threw: err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err) };
  }
}

// ---- values ----

const LONE = ['\ud800', '\udbff', '\udc00', '\udfff'];
const trickyString = fc.oneof(
  fc.fullUnicodeString({ maxLength: 20 }),
  fc.string16bits({ maxLength: 20 }),
  fc.string({ maxLength: 90 }),
  fc
    .array(
      fc.oneof(
        fc.constantFrom('"', '\\', '\n', '\r', '\t', ',', '\u0000', '\u001f', '\u007f', '\u0080', '\u2028', '😀', 'é', 'ж', '=', '+', '-', '@', "'"),
        fc.constantFrom(...LONE),
        fc.fullUnicodeString({ maxLength: 8 }),
        fc.constant('x'.repeat(70)),
        fc.constant('1400053279699342115'),
      ),
      { maxLength: 8 },
    )
    .map((parts) => parts.join('')),
);

const losslessNumber = fc
  .oneof(
    fc.bigInt().map(String),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
    fc.constantFrom('18446744073709551615', '-0', '1.0', '1e400', '1641002141.631719', '\ud800', 'é1'),
  )
  .map((raw) => new LosslessNumber(raw));

const oddObject = fc.oneof(
  fc.constant(new Date(0)),
  fc.constant(new Map([['a', 1]])),
  fc.constant({ toJSON: () => 'x', y: 1 }),
  fc.constant(Object.assign(Object.create(null) as object, { k: 1, '': null })),
  fc.constant(Object.assign([1, 2], { extra: 3 })),
  // eslint-disable-next-line no-sparse-arrays
  fc.constant([1, , 3]),
  fc.constant(new String('ab')),
  fc.constant(new Uint8Array([1, 2])),
  fc.constant(JSON.parse('{"__proto__": {"a": 1}, "b": 2}') as object),
  fc.constant({ 2: 'b', 1: 'a', z: 0, '-1': 'm' }),
);

const keyString = fc.oneof(trickyString, fc.constantFrom('id', 'type', 'created_at', '__proto__', 'constructor', '0', '10', ''));

const tree = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.constant(undefined),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    trickyString,
    losslessNumber,
    fc.constantFrom(() => 1, Symbol('s'), 1n),
    oddObject,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(keyString, tie('value'), { maxKeys: 5 }),
  ),
}));

/** A cell for a column: mostly what the column takes, sometimes null, sometimes a value it must refuse. */
function cell(col: ColumnDef): fc.Arbitrary<unknown> {
  const bad = fc.constantFrom({}, [], true, NaN, 1.5, 'text', 2n ** 70n, new LosslessNumber('1.5'), Symbol('s'));
  const good = {
    string: fc.oneof({ weight: 6, arbitrary: trickyString }, losslessNumber, fc.bigInt(), fc.double({ noNaN: true })),
    timestamp: fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }).map((s) => s * 1_000_000), fc.maxSafeInteger(), fc.constant(1_641_062_627_123_456)),
    boolean: fc.boolean(),
    integer: fc.oneof(fc.maxSafeInteger(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt().map((b) => new LosslessNumber(String(b)))),
    json: tree.value,
  }[col.type];
  return fc.oneof({ weight: 12, arbitrary: good }, { weight: 3, arbitrary: fc.constantFrom(null, undefined) }, { weight: 1, arbitrary: bad });
}

/** How the row object is built: as the mapping builds it (keys in column order), or any other way. */
type Shape = 'ordered' | 'template' | 'shuffled' | 'missing' | 'extra' | 'inherited';
const shapes: Shape[] = ['ordered', 'template', 'shuffled', 'missing', 'extra', 'inherited'];

function buildRow(table: TableDef, values: unknown[], shape: Shape, seed: number): Row {
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

const tables: TableDef[] = [TABLES.messages, TABLES.conversations, TABLES.answers];

/** A table and a few rows for it, each of some shape. */
const batch = fc.constantFrom(...tables).chain((table) =>
  fc.record({
    table: fc.constant(table),
    rows: fc.array(
      fc.record({ values: fc.tuple(...table.columns.map(cell)), shape: fc.constantFrom(...shapes), seed: fc.nat() }).map((r) => buildRow(table, r.values, r.shape, r.seed)),
      { minLength: 1, maxLength: 6 },
    ),
    firstRow: fc.nat({ max: 5000 }),
  }),
);

// ---- cells ----

function bytesOf(write: (out: ByteBuffer) => void): Buffer {
  const out = new ByteBuffer(4); // tiny: every write has to grow it
  out.length = 0;
  write(out);
  return Buffer.from(out.buf.subarray(0, out.length));
}

describe('the byte writers print what the string builders printed', () => {
  it('writeJson: the UTF-8 of stableStringify, or its error', () => {
    fc.assert(
      fc.property(tree.value, (v) => {
        const want = outcome(() => Buffer.from(stableStringify(v), 'utf8'));
        expect(outcome(() => bytesOf((out) => writeJson(out, v)))).toEqual(want);
      }),
      { numRuns: 5_000 },
    );
    fc.assert(
      fc.property(fc.unicodeJsonValue(), (v) => {
        expect(bytesOf((out) => writeJson(out, v))).toEqual(Buffer.from(stableStringify(v), 'utf8'));
      }),
      { numRuns: 1_000 },
    );
  }, SLOW);

  it('writeJsonString and writeUtf8 on any string', () => {
    fc.assert(
      fc.property(fc.oneof(trickyString, fc.fullUnicodeString({ maxLength: 300 }), fc.string16bits({ maxLength: 300 })), (s) => {
        expect(bytesOf((out) => writeJsonString(out, s))).toEqual(Buffer.from(JSON.stringify(s), 'utf8'));
        expect(bytesOf((out) => writeUtf8(out, s))).toEqual(Buffer.from(s, 'utf8'));
        expect(bytesOf((out) => writeJson(out, { [s]: [s, { [s]: s }] }))).toEqual(Buffer.from(stableStringify({ [s]: [s, { [s]: s }] }), 'utf8'));
      }),
      { numRuns: 5_000 },
    );
  }, SLOW);

  it('keys past the key cache and long keys', () => {
    for (let i = 0; i < 5000; i++) {
      const v = { [`k${i}`]: i, ['x'.repeat(60 + (i % 10)) + i]: 'é' };
      expect(bytesOf((out) => writeJson(out, v))).toEqual(Buffer.from(stableStringify(v), 'utf8'));
    }
  });
});

// ---- encoders ----

/** Equal bytes, or a short account of the first difference (a diff of megabytes would not be read, or fit). */
function expectSameBytes(got: Uint8Array, want: Uint8Array, what: string): void {
  if (Buffer.compare(got, want) === 0) return;
  let at = 0;
  while (at < got.length && at < want.length && got[at] === want[at]) at++;
  const around = (b: Uint8Array) => Buffer.from(b.subarray(Math.max(0, at - 40), at + 40)).toString('latin1');
  expect.fail(`${what}: ${got.length} bytes, expected ${want.length}; first difference at ${at}: got ${JSON.stringify(around(got))}, expected ${JSON.stringify(around(want))}`);
}

function fragmentOutcome(encoder: TableEncoder, rows: readonly Row[], firstRow: number): { value: EncodedFragment } | { threw: string } {
  const r = outcome(() => encoder.encode(rows, firstRow));
  if ('value' in r) return { value: { ...r.value, bytes: Buffer.from(r.value.bytes) } };
  return r;
}

describe('the encoders write what the string-building encoders wrote', () => {
  it('JSONL', () => {
    fc.assert(
      fc.property(batch, ({ table, rows, firstRow }) => {
        const want = outcome(() => ({ rows: rows.length, bytes: Buffer.from(refTextFragment(rows, firstRow, (row, i) => refJsonlRow(table, row, i))), columns: null }));
        expect(fragmentOutcome(jsonlWriter.encoder({ table }), rows, firstRow)).toEqual(want);
      }),
      { numRuns: 3_000 },
    );
  }, SLOW);

  it('CSV, neutralised and raw', () => {
    for (const raw of [false, true]) {
      fc.assert(
        fc.property(batch, ({ table, rows, firstRow }) => {
          const want = outcome(() => ({ rows: rows.length, bytes: Buffer.from(refTextFragment(rows, firstRow, (row, i) => refCsvRow(table, row, i, raw))), columns: null }));
          expect(fragmentOutcome(csvWriter.encoder({ table, csvRaw: raw }), rows, firstRow)).toEqual(want);
        }),
        { numRuns: 2_000 },
      );
    }
  }, SLOW);

  it('Parquet, with every codec and pages cut often', () => {
    const codecs: CodecName[] = ['none', 'snappy', 'gzip'];
    // encoders are reused between runs, as between fragments, until one throws (a failed encoder is dropped)
    const pairs = new Map<string, [TableEncoder, TableEncoder]>();
    fc.assert(
      fc.property(batch, fc.constantFrom(...codecs), fc.constantFrom(1, 40, 300, 1 << 20), ({ table, rows, firstRow }, codec, pageBytes) => {
        const key = `${table.name} ${codec} ${pageBytes}`;
        let pair = pairs.get(key);
        if (!pair) pairs.set(key, (pair = [new RefParquetEncoder(table, { codec, pageBytes }), parquetWriterWith({ codec, pageBytes }).encoder({ table })]));
        const want = fragmentOutcome(pair[0], rows, firstRow);
        const got = fragmentOutcome(pair[1], rows, firstRow);
        if ('threw' in want || 'threw' in got) pairs.delete(key);
        expect(got).toEqual(want);
      }),
      { numRuns: 3_000 },
    );
  }, SLOW);

  it('reuse their buffers across fragments, large and small, without carrying anything over', () => {
    const table = TABLES.messages;
    const big = (i: number): Row => ({
      ...Object.fromEntries(table.columns.map((c) => [c.name, null])),
      source: 'dashly',
      conversation_id: String(i % 7),
      message_id: new LosslessNumber(String(1400053279699342115n + BigInt(i))),
      created_at: 1_641_062_627_000_000 + i,
      text: i % 3 ? 'é'.repeat((i % 50) * 37) : 'a,"b"\n'.repeat(i % 60),
      payload: { body: 'x'.repeat((i % 40) * 101), n: i, list: [i, 'ж', null] },
      redacted: i % 2 === 0,
      extra: i % 4 ? null : { k: new LosslessNumber('12345678901234567890') },
    });
    const sizes = [3, 2048, 1, 700, 0, 5000, 17];
    const encoders = [
      [jsonlWriter.encoder({ table }), (rows: Row[], first: number) => refTextFragment(rows, first, (row, i) => refJsonlRow(table, row, i))],
      [csvWriter.encoder({ table }), (rows: Row[], first: number) => refTextFragment(rows, first, (row, i) => refCsvRow(table, row, i, false))],
    ] as const;
    const parquet = parquetWriterWith({ pageBytes: 1 << 16 }).encoder({ table });
    const refParquet = new RefParquetEncoder(table, { pageBytes: 1 << 16, codec: 'snappy' });
    let first = 0;
    for (const n of sizes) {
      const rows = Array.from({ length: n }, (_, i) => big(first + i));
      for (const [enc, ref] of encoders) expectSameBytes(enc.encode(rows, first).bytes, ref(rows, first), `${n} rows`);
      const got = parquet.encode(rows, first);
      const want = refParquet.encode(rows, first);
      expectSameBytes(got.bytes, want.bytes, `${n} rows`);
      expect(got.columns).toEqual(want.columns);
      first += n;
    }
  }, SLOW);
});
