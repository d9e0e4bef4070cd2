// The per-cell encoders (stableStringify / jsonText, formatMicros, Snappy) were rewritten for speed; these
// properties hold them to the exact bytes, and the exact errors, of the versions they replaced
// (cell-encoding-reference.ts), on random values and on the edges each fast path draws a line at.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LosslessNumber } from '../../src/json/lossless-number.js';
import { stableStringify } from '../../src/json/stable-json.js';
import { formatMicros } from '../../src/model/timestamp.js';
import { jsonText } from '../../src/writers/column-values.js';
import { maxCompressedLength, snappyCompress, snappyCompressInto } from '../../src/writers/snappy.js';
import { refFormatMicros, refJsonText, refSnappyCompress, refStableStringify } from './cell-encoding-reference.js';
import { snappyUncompress } from './snappy-reference.js';

const SLOW = 120_000;

/** What a call did: its result, or the class and message of what it threw. */
function outcome(f: (v: never) => unknown, v: unknown): unknown {
  try {
    return { value: f(v as never) };
  } catch (err) {
    return { threw: err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err) };
  }
}

/** Both implementations agree on `v`: same text or same error. */
function sameJson(v: unknown): void {
  const expected = outcome(refStableStringify, v);
  expect(outcome(stableStringify, v)).toEqual(expected);
  expect(outcome(jsonText, v)).toEqual(outcome(refJsonText, v));
  expect(outcome(jsonText, v)).toEqual(expected);
}

// ---- JSON ----

const LONE = ['\ud800', '\udbff', '\udc00', '\udfff'];
/** Strings with every kind of character JSON.stringify treats specially, wherever they fall. */
const trickyString = fc.oneof(
  fc.fullUnicodeString({ maxLength: 20 }),
  fc.string16bits({ maxLength: 20 }), // lone surrogates, reversed pairs
  fc
    .array(
      fc.oneof(
        fc.constantFrom('"', '\\', '\n', '\r', '\t', '\b', '\f', '\u0000', '\u001f', '\u007f', '\u2028', '\u2029', '/', '😀', 'é', 'ж'),
        fc.constantFrom(...LONE),
        fc.fullUnicodeString({ maxLength: 8 }),
        fc.constant('x'.repeat(70)),
      ),
      { maxLength: 8 },
    )
    .map((parts) => parts.join('')),
);

const losslessNumber = fc
  .oneof(
    fc.bigInt().map(String),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
    fc.constantFrom('18446744073709551615', '-0', '1.0', '1e400', '1641002141.631719', '0.000001'),
  )
  .map((raw) => new LosslessNumber(raw));

const numberValue = fc.oneof(
  fc.double(), // NaN, infinities, -0, subnormals
  fc.integer(),
  fc.constantFrom(-0, 0, 1e21, 1e-7, 1e20, -1e21, 0.1, 5e-324, Number.MAX_VALUE, Number.MAX_SAFE_INTEGER + 2, NaN, Infinity, -Infinity),
);

class Box {
  constructor(readonly a: number) {}
  get b(): number {
    return this.a + 1;
  }
}

/** Objects JSON.stringify and stableStringify see differently: left to stableStringify's rules in both versions. */
const oddObject = fc.oneof(
  fc.constant(new Date(0)),
  fc.constant(new Map([['a', 1]])),
  fc.constant(new Box(1)),
  fc.constant({ toJSON: () => 'x', y: 1 }),
  fc.constant(Object.assign(Object.create(null) as object, { k: 1, '': null })),
  fc.constant(Object.assign([1, 2], { extra: 3 })),
  // eslint-disable-next-line no-sparse-arrays
  fc.constant([1, , 3]),
  fc.constant(new String('ab')),
  fc.constant(new Number(3)),
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
    numberValue,
    trickyString,
    losslessNumber,
    fc.constantFrom(() => 1, Symbol('s')),
    oddObject,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(keyString, tie('value'), { maxKeys: 5 }),
  ),
}));

describe('stableStringify and jsonText print what the previous versions printed', () => {
  it('on random trees of every kind of value', () => {
    fc.assert(fc.property(tree.value, sameJson), { numRuns: 5_000 });
  }, SLOW);

  it('on fast-check JSON values, unicode ones included', () => {
    fc.assert(fc.property(fc.jsonValue(), sameJson), { numRuns: 2_000 });
    fc.assert(fc.property(fc.unicodeJsonValue(), sameJson), { numRuns: 2_000 });
  }, SLOW);

  it('on any string, as value and as key', () => {
    fc.assert(
      fc.property(fc.oneof(trickyString, fc.fullUnicodeString({ maxLength: 300 }), fc.string16bits({ maxLength: 300 })), (s) => {
        sameJson(s);
        sameJson({ [s]: s });
        sameJson([s, { [s]: [s] }]);
      }),
      { numRuns: 5_000 },
    );
  }, SLOW);

  it('on the common small cells and edge cases', () => {
    for (const v of [
      {},
      [],
      null,
      undefined,
      [[]],
      [{}],
      { a: {} },
      { a: undefined },
      { a: undefined, b: 1 },
      { a: 1, b: undefined },
      [undefined],
      -0,
      [-0, 1e21, 1e-7, NaN, Infinity],
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
      'Корзина 📞\nкорзина',
      'x'.repeat(10_000) + '\n' + 'y'.repeat(10_000),
      true,
      false,
      0,
      12,
    ]) {
      sameJson(v);
    }
  });

  it('throws what the previous versions threw (bigint) and prints functions and symbols as the old rules did', () => {
    for (const v of [1n, [1n], { a: 1n }, () => 1, Symbol('x'), [() => 1, Symbol('y')], { f: () => 1, s: Symbol('z') }]) {
      sameJson(v);
    }
    expect(outcome(stableStringify, { a: 1n })).toEqual({ threw: 'TypeError: Do not know how to serialize a BigInt' });
  });

  it('quotes many distinct keys (past the key cache) the same way', () => {
    const wide: Record<string, number> = {};
    for (let i = 0; i < 10_000; i++) wide[`key_${i}_${'é'.repeat(i % 3)}${i % 7 === 0 ? '"' : ''}`] = i;
    wide['k'.repeat(500)] = 1;
    sameJson(wide);
    sameJson(wide); // second time through the cache
  });
});

// ---- Timestamps ----

const YEAR0_MS = -62_167_219_200_000; // 0000-01-01T00:00:00Z
const YEAR10000_MS = 253_402_300_800_000;
const DATE_MAX_MS = 8.64e15;

function sameMicros(micros: number): void {
  expect(outcome(formatMicros, micros)).toEqual(outcome(refFormatMicros, micros));
}

describe('formatMicros prints what the Date-based version printed', () => {
  it('on integer microseconds across every year Date can print, and past them', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: -1e12, max: 1e12 }).map((ms) => ms * 1000), // whole milliseconds around 1970
          fc.integer({ min: -1e10, max: 1e10 }).map((sec) => sec * 1_000_000), // whole seconds: no fraction printed
          fc.integer({ min: 0, max: 4_102_444_800_000_000 }), // 1970-2100, the accepted range
          fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
          fc.double({ min: YEAR0_MS * 1000 - 1e12, max: YEAR10000_MS * 1000 + 1e12, noNaN: true }).map(Math.floor), // years 0000-9999, unsafe integers
          fc.double({ min: -DATE_MAX_MS * 1000 * 1.01, max: DATE_MAX_MS * 1000 * 1.01, noNaN: true }).map(Math.floor),
        ),
        sameMicros,
      ),
      { numRuns: 20_000 },
    );
  }, SLOW);

  it('on fractions of a microsecond, NaN, infinities and other doubles', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double(),
          fc.double({ min: -1e16, max: 1e16 }),
          fc.tuple(fc.integer({ min: -1e15, max: 1e15 }), fc.double({ min: 0, max: 1, noNaN: true })).map(([i, f]) => i + f),
        ),
        sameMicros,
      ),
      { numRuns: 20_000 },
    );
  }, SLOW);

  it('at the edges of the fast path, of Date, and of each field', () => {
    const edges: number[] = [0, -0, 1, -1, 999, 1000, 1001, -999, -1000, -1001, 0.5, -0.5, 1e-7, 999.9999, NaN, Infinity, -Infinity];
    for (const ms of [YEAR0_MS, YEAR10000_MS, -DATE_MAX_MS, DATE_MAX_MS, Date.UTC(1969, 11, 31, 23, 59, 59, 999), Date.UTC(2000, 1, 29), Date.UTC(1900, 1, 28), Date.UTC(2100, 0, 1), Date.UTC(9999, 11, 31, 23, 59, 59, 999)]) {
      for (const d of [-1001, -1000, -1, 0, 1, 999, 1000, 1001]) edges.push(ms * 1000 + d);
    }
    for (const v of [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 60, -(2 ** 60), Number.MAX_VALUE, -Number.MAX_VALUE, 5e-324]) edges.push(v);
    for (const v of edges) sameMicros(v);
  });

  it('on every day of 0000-9999 (calendar arithmetic), through the day cache and its collisions', () => {
    // one instant per day with varying time of day: covers leap years, century rules and month ends
    for (let day = YEAR0_MS / 86_400_000; day < YEAR10000_MS / 86_400_000; day++) {
      // a multiple of 64 below a day, so the sum stays exact even past 2^53 and takes the integer path
      const micros = day * 86_400_000_000 + ((day * 7_919) % 1_350_000_000) * 64;
      if (formatMicros(micros) !== refFormatMicros(micros)) sameMicros(micros); // expect() only on a difference: 3.6M days
    }
    // days 1024 apart share a cache slot: alternate between them
    const base = Date.UTC(2022, 0, 1) * 1000;
    for (let i = 0; i < 5_000; i++) sameMicros(base + ((i % 3) * 1024 + (i % 5)) * 86_400_000_000 + i * 1_234_567);
  }, SLOW);
});

// ---- Snappy ----

function sameSnappy(input: Uint8Array): void {
  const packed = snappyCompress(input);
  const expected = refSnappyCompress(input);
  expect(Buffer.compare(packed, expected)).toBe(0);
  expect(Buffer.compare(snappyUncompress(packed), Buffer.from(input))).toBe(0);
  // into a larger buffer at an offset, as the Parquet writer does
  const dst = new Uint8Array(7 + maxCompressedLength(input.length));
  const end = snappyCompressInto(input, dst, 7);
  expect(Buffer.compare(Buffer.from(dst.subarray(7, end)), expected)).toBe(0);
}

describe('snappyCompress writes the bytes the previous encoder wrote', () => {
  it('on random, repetitive, text and near-block-size inputs', () => {
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
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 70_000 }), repetitive, fewSymbols, text, nearBlock, fc.uint8Array({ maxLength: 40 })), sameSnappy),
      { numRuns: 400 },
    );
  }, SLOW);

  it('on every small length and on Parquet-like pages', () => {
    const words = Buffer.from(Array.from({ length: 60_000 }, (_, i) => ['hello', 'straße', '😀', 'id', String(i)][i % 5]).join(' '));
    for (let n = 0; n <= 300; n++) sameSnappy(words.subarray(0, n));
    sameSnappy(words);
    sameSnappy(new Uint8Array(300_000)); // long matches across blocks
    sameSnappy(new Uint8Array(200_000).map((_, i) => (i * 2654435761) >>> 24)); // little to match
    const ints = new Uint8Array(new BigInt64Array(Array.from({ length: 50_000 }, (_, i) => 1_641_002_141_631_719n + BigInt(i) * 1_234_567n)).buffer);
    sameSnappy(ints);
  }, SLOW);
});
