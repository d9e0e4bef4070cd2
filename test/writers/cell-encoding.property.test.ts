// The per-cell encoders on their own, each against an oracle that shares no code with it: the JSON printers
// (stableStringify, jsonText, writeJson and friends) read back by lossless-json and compared with JSON.stringify
// and Buffer's UTF-8 encoder; formatMicros read back by the platform's Date parser; the Snappy compressor
// decompressed by hyparquet's decoder. Whole files of every format are judged in oracle-roundtrip.property.test.ts.

import fc from 'fast-check';
import { snappyUncompress } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { LosslessNumber } from '../../src/json/lossless-number.js';
import { stableStringify } from '../../src/json/stable-json.js';
import { formatMicros } from '../../src/model/timestamp.js';
import { ByteBuffer, jsonText, writeJson, writeJsonString, writeUtf8 } from '../../src/writers/column-values.js';
import { maxCompressedLength, snappyCompress, snappyCompressInto } from '../../src/writers/parquet/snappy.js';
import { anyString, jsonTree, longNumber } from './arbitraries.js';
import { isoMicros, jsonModel, parseJsonText } from './oracles.js';

const SLOW = 120_000;

/** What a call did: its result, or the class and message of what it threw. */
function outcome<T>(f: () => T): { value: T } | { threw: string } {
  try {
    return { value: f() };
  } catch (err) {
    return { threw: err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err) };
  }
}

function bytesOf(write: (out: ByteBuffer) => void): Buffer {
  const out = new ByteBuffer(4); // tiny: every write has to grow it
  write(out);
  return Buffer.from(out.buf.subarray(0, out.length));
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// ---- JSON ----

/** JSON-shaped trees with every kind of string (unpaired surrogates too) and non-finite numbers, printed as null. */
const tree = fc.oneof(jsonTree(anyString), fc.constantFrom(NaN, Infinity, [-Infinity, undefined], { a: undefined }, { a: undefined, b: 1 }));

/** Objects JSON.stringify and stableStringify see differently (stableStringify ignores toJSON, reads own keys only). */
const oddObject = fc.constantFrom<unknown>(
  new Date(0),
  new Map([['a', 1]]),
  { toJSON: () => 'x', y: 1 },
  Object.assign(Object.create(null) as object, { k: 1, '': null }),
  Object.assign([1, 2], { extra: 3 }),
  // eslint-disable-next-line no-sparse-arrays
  [1, , 3],
  new String('ab'),
  new Uint8Array([1, 2]),
  { f: () => 1, s: Symbol('z') },
  { 2: 'b', 1: 'a', z: 0, '-1': 'm' },
);

describe('JSON printers', () => {
  it(
    'print JSON that an independent parser reads back as the same data, numbers digit for digit',
    () => {
      fc.assert(
        fc.property(tree, (v) => {
          const text = stableStringify(v);
          expect(parseJsonText(text)).toEqual(jsonModel(v));
          expect(jsonText(v)).toBe(text);
          // the byte writer (JSONL, CSV and Parquet cells) prints what the string printer (rejects, migrate) prints
          const bytes = bytesOf((out) => writeJson(out, v));
          expect(strictUtf8.decode(bytes)).toBe(text);
        }),
        { numRuns: 1_500 },
      );
    },
    SLOW,
  );

  it(
    'print exactly what JSON.stringify prints for trees without LosslessNumbers',
    () => {
      fc.assert(
        fc.property(fc.oneof(fc.jsonValue(), fc.unicodeJsonValue(), jsonTree(anyString).map(withoutLossless)), (v) => {
          expect(stableStringify(v)).toBe(JSON.stringify(v ?? null));
          expect(bytesOf((out) => writeJson(out, v))).toEqual(Buffer.from(JSON.stringify(v ?? null), 'utf8'));
        }),
        { numRuns: 1_000 },
      );
    },
    SLOW,
  );

  it('print a LosslessNumber as its exact digits wherever it sits', () => {
    fc.assert(
      fc.property(longNumber, fc.string({ maxLength: 5 }), (n, k) => {
        for (const v of [n, [n], { [k]: n }, [{ [k]: [n, n] }]]) {
          expect(stableStringify(v)).toBe(JSON.stringify(v).replaceAll(`"${n.raw}"`, n.raw)); // LosslessNumber#toJSON is its raw text
          expect(strictUtf8.decode(bytesOf((out) => writeJson(out, v)))).toBe(stableStringify(v));
        }
      }),
      { numRuns: 500 },
    );
  });

  it(
    'quote any string, as value and as key, as JSON.stringify does, and write any string as Buffer does',
    () => {
      fc.assert(
        fc.property(fc.oneof(anyString, fc.fullUnicodeString({ maxLength: 300 }), fc.string16bits({ maxLength: 300 })), (s) => {
          expect(bytesOf((out) => writeJsonString(out, s))).toEqual(Buffer.from(JSON.stringify(s), 'utf8'));
          expect(bytesOf((out) => writeUtf8(out, s))).toEqual(Buffer.from(s, 'utf8'));
          const nested = { [s]: [s, { [s]: s }] };
          expect(stableStringify(nested)).toBe(JSON.stringify(nested));
          expect(bytesOf((out) => writeJson(out, nested))).toEqual(Buffer.from(JSON.stringify(nested), 'utf8'));
        }),
        { numRuns: 1_500 },
      );
    },
    SLOW,
  );

  it('quote many distinct keys (past the key caches) and long keys the same way, the first time and the next', () => {
    const wide: Record<string, unknown> = {};
    for (let i = 0; i < 10_000; i++)
      wide[`key_${i}_${'é'.repeat(i % 3)}${i % 7 === 0 ? '"' : ''}`] = i % 5 ? i : new LosslessNumber(`1${String(i).padStart(19, '0')}`);
    wide['k'.repeat(500)] = 'é';
    for (let round = 0; round < 2; round++) {
      expect(parseJsonText(stableStringify(wide))).toEqual(jsonModel(wide));
      expect(strictUtf8.decode(bytesOf((out) => writeJson(out, wide)))).toBe(stableStringify(wide));
    }
  });

  it('on the common small cells and the edges of the fast paths', () => {
    const edges: unknown[] = [
      {},
      [],
      null,
      [[]],
      [{}],
      { a: {} },
      { a: undefined },
      { a: undefined, b: 1 },
      { a: 1, b: undefined },
      [undefined],
      -0,
      [-0, 1e21, 1e-7],
      new LosslessNumber('1400053279699811483'),
      { id: new LosslessNumber('1400053279699811483'), name: 'a.png', size: 1 },
      '',
      'a"b',
      'a\\b',
      'ok \ud83d\ude00 ok',
      '\ud83d',
      '\ude00\ud83d',
      'x\ud83d',
      '\ud83d\ud83d\ude00',
      'tail\n',
      '\nhead',
      '\ufeffbom',
      'Корзина 📞\nкорзина',
      'x'.repeat(10_000) + '\n' + 'y'.repeat(10_000),
      true,
      false,
      0,
      12,
    ];
    for (const v of edges) {
      const text = stableStringify(v);
      expect(parseJsonText(text)).toEqual(jsonModel(v));
      expect(strictUtf8.decode(bytesOf((out) => writeJson(out, v)))).toBe(text);
      if (!(v instanceof LosslessNumber) && !JSON.stringify(v).includes('1400053279699811483')) expect(text).toBe(JSON.stringify(v));
    }
  });

  it('agree on odd objects (no row holds one: rows come from JSON) and on the bigint error', () => {
    fc.assert(
      fc.property(fc.oneof(oddObject, fc.array(oddObject, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 3 }), oddObject, { maxKeys: 3 })), (v) => {
        const text = outcome(() => stableStringify(v));
        expect(outcome(() => strictUtf8.decode(bytesOf((out) => writeJson(out, v))))).toEqual(text);
        if ('value' in text) parseJsonText(text.value); // still JSON
      }),
      { numRuns: 300 },
    );
    for (const v of [1n, [1n], { a: 1n }]) {
      expect(outcome(() => stableStringify(v))).toEqual({ threw: 'TypeError: Do not know how to serialize a BigInt' });
      expect(outcome(() => bytesOf((out) => writeJson(out, v)))).toEqual({ threw: 'TypeError: Do not know how to serialize a BigInt' });
    }
  });
});

/** The tree with each LosslessNumber replaced by the nearest double: what JSON.stringify alone can print. */
function withoutLossless(v: unknown): unknown {
  if (v instanceof LosslessNumber) return Number(v.raw);
  if (Array.isArray(v)) return v.map(withoutLossless);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v))
    Object.defineProperty(out, k, { value: withoutLossless((v as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true });
  return out;
}

// ---- Timestamps ----

const US_PER_DAY = 86_400_000_000;
/** The instants writers print: integer microseconds a double holds exactly (about 1685 to 2255). */
const FIRST_DAY = Math.ceil(Number.MIN_SAFE_INTEGER / US_PER_DAY);
const LAST_DAY = Math.floor(Number.MAX_SAFE_INTEGER / US_PER_DAY) - 1;

function roundTrips(micros: number): void {
  const text = formatMicros(micros);
  let back: bigint;
  try {
    back = isoMicros(text);
  } catch (err) {
    expect.fail(`${micros}: ${(err as Error).message}`);
  }
  if (back !== BigInt(micros)) expect.fail(`${micros} printed as ${text}, which reads back as ${back}`);
}

describe('formatMicros', () => {
  it(
    'prints ISO 8601 UTC with the shortest exact fraction, which Date parses back to the same instant',
    () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.integer({ min: -1e12, max: 1e12 }).map((ms) => ms * 1000), // whole milliseconds around 1970
            fc.integer({ min: -1e10, max: 1e10 }).map((sec) => sec * 1_000_000), // whole seconds: no fraction printed
            fc.integer({ min: 0, max: 4_102_444_800_000_000 }), // 1970-2100, what mappings accept
            fc.maxSafeInteger(),
          ),
          roundTrips,
        ),
        { numRuns: 5_000 },
      );
    },
    SLOW,
  );

  it(
    'on every day writers can print, at a different time of day each, and through the day cache and its collisions',
    () => {
      for (let day = FIRST_DAY; day <= LAST_DAY; day++) roundTrips(day * US_PER_DAY + ((day * 7_919) % 86_400_000) * 1000 + (day % 1000));
      // days 1024 apart share a cache slot: alternate between them
      const base = Date.UTC(2022, 0, 1) * 1000;
      for (let i = 0; i < 5_000; i++) roundTrips(base + ((i % 3) * 1024 + (i % 5)) * US_PER_DAY + i * 1_234_567);
    },
    SLOW,
  );

  it('at the edges of each field, of leap years and centuries, and of the safe integers', () => {
    const edges: number[] = [0, -0, 1, -1, 999, 1000, 1001, -999, -1000, -1001, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    for (const ms of [
      Date.UTC(1969, 11, 31, 23, 59, 59, 999),
      Date.UTC(2000, 1, 29),
      Date.UTC(1900, 1, 28),
      Date.UTC(1900, 2, 1),
      Date.UTC(2100, 0, 1),
      Date.UTC(2024, 1, 29, 23, 59, 59, 999),
      Date.UTC(1700, 0, 1),
    ]) {
      for (const d of [-1001, -1000, -1, 0, 1, 999, 1000, 1001]) edges.push(ms * 1000 + d);
    }
    for (const v of edges) roundTrips(v);
    expect(formatMicros(Date.UTC(2024, 1, 29, 23, 59, 59) * 1000 + 123_456)).toBe('2024-02-29T23:59:59.123456Z');
    expect(formatMicros(Date.UTC(2024, 1, 29, 23, 59, 59) * 1000 + 120_000)).toBe('2024-02-29T23:59:59.120Z');
    expect(formatMicros(Date.UTC(2024, 1, 29, 23, 59, 59) * 1000)).toBe('2024-02-29T23:59:59Z');
    expect(formatMicros(-1)).toBe('1969-12-31T23:59:59.999999Z');
  });
});

// ---- Snappy ----

/** Snappy's preamble: the uncompressed length as a little-endian base-128 varint (hyparquet's decoder skips it). */
function preambleLength(packed: Uint8Array): number {
  let n = 0;
  for (let i = 0, shift = 0; ; i++, shift += 7) {
    const b = packed[i]!;
    n += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return n;
  }
}

function roundTripsSnappy(input: Uint8Array): void {
  const packed = snappyCompress(input);
  expect(packed.length).toBeLessThanOrEqual(maxCompressedLength(input.length));
  expect(preambleLength(packed)).toBe(input.length);
  const back = new Uint8Array(input.length);
  snappyUncompress(packed, back);
  if (Buffer.compare(back, input) !== 0) expect.fail(`${input.length} bytes did not come back`);
  // into a larger buffer at an offset, as the Parquet writer does: the same bytes
  const dst = new Uint8Array(7 + maxCompressedLength(input.length));
  const end = snappyCompressInto(input, dst, 7);
  expect(Buffer.compare(dst.subarray(7, end), packed)).toBe(0);
}

describe('snappyCompress', () => {
  it(
    'round-trips through an independent decoder: random, repetitive, few-symbol, text and near-block-size inputs',
    () => {
      const repetitive = fc
        .tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 5_000 }), fc.uint8Array({ maxLength: 20 }))
        .map(([unit, times, noise]) => {
          const out = new Uint8Array(unit.length * times + noise.length);
          for (let i = 0; i < times; i++) out.set(unit, i * unit.length);
          out.set(noise, unit.length * times);
          return out;
        });
      const fewSymbols = fc.uint8Array({ maxLength: 140_000 }).map((a) => a.map((b) => b & 3));
      const text = fc.fullUnicodeString({ maxLength: 3_000 }).map((s) => new Uint8Array(Buffer.from(s.repeat(3), 'utf8')));
      const nearBlock = fc
        .tuple(fc.integer({ min: -40, max: 40 }), fc.integer({ min: 1, max: 3 }), fc.uint8Array({ minLength: 1, maxLength: 300 }))
        .map(([delta, blocks, unit]) => {
          const out = new Uint8Array(blocks * 65_536 + delta);
          for (let i = 0; i < out.length; i++) out[i] = unit[(i * 7) % unit.length]! ^ (i % 251 === 0 ? 1 : 0);
          return out;
        });
      fc.assert(
        fc.property(
          fc.oneof(fc.uint8Array({ maxLength: 70_000 }), repetitive, fewSymbols, text, nearBlock, fc.uint8Array({ maxLength: 40 })),
          roundTripsSnappy,
        ),
        {
          numRuns: 300,
        },
      );
    },
    SLOW,
  );

  it(
    'on every small length, long matches across blocks, little to match, and Parquet-like pages; compresses repetition',
    () => {
      const words = Buffer.from(Array.from({ length: 60_000 }, (_, i) => ['hello', 'straße', '😀', 'id', String(i)][i % 5]).join(' '));
      for (let n = 0; n <= 300; n++) roundTripsSnappy(words.subarray(0, n));
      roundTripsSnappy(words);
      roundTripsSnappy(new Uint8Array(300_000));
      roundTripsSnappy(new Uint8Array(200_000).map((_, i) => (i * 2654435761) >>> 24));
      roundTripsSnappy(new Uint8Array(new BigInt64Array(Array.from({ length: 50_000 }, (_, i) => 1_641_002_141_631_719n + BigInt(i) * 1_234_567n)).buffer));
      const repeated = Buffer.from('abcdefgh'.repeat(50_000)); // 400 kB, seven blocks
      roundTripsSnappy(repeated);
      expect(snappyCompress(repeated).length).toBeLessThan(repeated.length / 10);
    },
    SLOW,
  );
});
