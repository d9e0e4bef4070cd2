// Fast paths in the mapping engine, held to what they replaced on random values: unix timestamps from integer
// numbers (no digits printed), null_if on objects and arrays (no Object.keys or JSON text for {} and []), `is`
// conditions (no type name built), and the rest that goes to `extra` (a for-in walk instead of Object.keys);
// decimal timestamps against BigInt arithmetic, `nonempty` (a for-in count) and key-only paths against getAt.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LosslessNumber, exactDouble } from '../../src/json/lossless-number.js';
import { stableStringify } from '../../src/json/stable-json.js';
import { compileRule } from '../../src/mapping/compile-rule.js';
import { compileCondition, valueType } from '../../src/mapping/compile-condition.js';
import { type MapContext } from '../../src/mapping/rule-scope.js';
import { ConsumedTree } from '../../src/mapping/consumed-tree.js';
import { VALUE_TYPES, type ValueType } from '../../src/mapping/mapping-types.js';
import { ALL, compileGetter, getAt, type PathStep } from '../../src/mapping/paths.js';
import { MAX_MICROS, MIN_MICROS } from '../../src/model/timestamp.js';

const SLOW = 120_000;

function outcome(f: () => unknown): unknown {
  try {
    return { value: f() };
  } catch (err) {
    return { threw: err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err) };
  }
}

const ctx = (): MapContext => ({ unknownEnum: () => {} });
const scope = { file: 'test.yaml', at: 'tables.messages.columns.x', column: 'x', consumed: null, upConsumed: [], inJson: true } as const;

class Box {
  constructor(readonly a: number) {}
}

/** Values as records hold them, and a few no record holds. */
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, undefined, true, false, 0, -0, 1, '', '0', 'a', NaN, Infinity),
    fc.double(),
    fc.integer(),
    fc.string({ maxLength: 6 }),
    fc.bigInt().map((b) => new LosslessNumber(String(b))),
    fc.constantFrom(
      new Box(1),
      Object.create(null) as object,
      Object.assign(Object.create(null) as object, { a: 1 }),
      new Date(0),
      JSON.parse('{"__proto__": 1}') as object,
    ),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'b', '0', '__proto__', 'toString'), tie('v'), { maxKeys: 3 }),
  ),
})).v;

describe('unix timestamps from integer numbers', () => {
  it('give what the decimal digits of the number give (the path a string takes)', () => {
    const units = ['seconds', 'millis', 'auto'] as const;
    const convs = [
      ...units.map((unit) => ({ unit, evaluate: compileRule({ path: 'x', convert: 'timestamp', unit }, { ...scope, type: 'timestamp', inJson: false }) })),
      { unit: 'seconds', evaluate: compileRule({ path: 'x', convert: 'unix_seconds' }, { ...scope, type: 'timestamp', inJson: false }) },
      { unit: 'millis', evaluate: compileRule({ path: 'x', convert: 'unix_millis' }, { ...scope, type: 'timestamp', inJson: false }) },
      { unit: 'seconds', evaluate: compileRule({ path: 'x', convert: 'unix_seconds' }, { ...scope, type: 'json', inJson: true }) },
    ];
    const integer = fc.oneof(
      fc.maxSafeInteger(),
      fc.integer({ min: -1e6, max: 5e12 }),
      fc.constantFrom(0, -0, 1, -1, 1e11 - 1, 1e11, 4102444799, 4102444800, 4102444800000, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
    );
    fc.assert(
      fc.property(integer, (n) => {
        for (const { evaluate } of convs) {
          const fromNumber = outcome(() => evaluate({ x: n }, [], 0, ctx()));
          const fromDigits = outcome(() => evaluate({ x: String(n) }, [], 0, ctx()));
          expect(fromNumber).toEqual(fromDigits);
          if ('value' in (fromNumber as object)) expect(Object.is((fromNumber as { value: unknown }).value, -0)).toBe(false);
        }
      }),
      { numRuns: 20_000 },
    );
  });
});

// ---- null_if: the matcher before the fast paths, verbatim ----

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function refNullIfMatcher(list: readonly unknown[]): (v: unknown, keys: readonly string[]) => boolean {
  const strings = new Set(list.filter((x) => typeof x === 'string'));
  const others = new Set(list.filter((x) => typeof x === 'number' || typeof x === 'boolean').map((x) => JSON.stringify(x)));
  const arrayLengths = new Set(list.filter(Array.isArray).map((x) => x.length));
  const objectSizes = new Set(list.filter(isPlainObject).map((x) => Object.keys(x).length));
  const hasStringKey = list.some((x) => typeof x === 'string');
  return (v, keys) => {
    switch (typeof v) {
      case 'string':
        return strings.has(v);
      case 'number':
        return Number.isFinite(v) ? others.has(JSON.stringify(v)) : keys.includes(JSON.stringify(v));
      case 'boolean':
        return others.has(v ? 'true' : 'false');
      case 'object': {
        if (v instanceof LosslessNumber) {
          // a literal kept only for its spelling (0.0, -0, 1E2) is the number it spells (json/lossless-number.ts)
          const d = exactDouble(v);
          if (d !== null) return others.has(JSON.stringify(d));
          return hasStringKey && keys.includes(JSON.stringify(v));
        }
        if (Array.isArray(v)) return arrayLengths.has(v.length) && keys.includes(JSON.stringify(v));
        if (v !== null && Object.getPrototypeOf(v) === Object.prototype && !objectSizes.has(Object.keys(v).length)) return false;
        return keys.includes(JSON.stringify(v));
      }
      default:
        return keys.includes(JSON.stringify(v));
    }
  };
}

function refNullIf(list: readonly unknown[]): (v: unknown) => unknown {
  const keys = list.map((x) => JSON.stringify(x));
  const matches = refNullIfMatcher(list);
  return (v) => (v === null || v === undefined ? null : matches(v, keys) ? null : v);
}

describe('null_if', () => {
  it(
    'nulls exactly what it nulled before, {} and [] included',
    () => {
      const listValue = fc.oneof(value, fc.constantFrom({}, [], { a: 1 }, [1], [[]], { a: {} }, '', 0, false, 'x', null));
      fc.assert(
        fc.property(fc.array(listValue, { minLength: 1, maxLength: 4 }), fc.array(value, { maxLength: 8 }), (list, values) => {
          const evaluate = compileRule({ path: 'x', null_if: list }, { ...scope, type: 'json' });
          const ref = refNullIf(list);
          for (const v of [...values, ...list, {}, [], { a: 1 }, [1]]) {
            expect(outcome(() => evaluate({ x: v }, [], 0, ctx()))).toEqual(outcome(() => ref(v)));
          }
        }),
        { numRuns: 5_000 },
      );
    },
    SLOW,
  );
});

describe('is', () => {
  it('holds for the same values as `valueType(v) in the list`', () => {
    fc.assert(
      fc.property(fc.subarray([...VALUE_TYPES] as ValueType[], { minLength: 1 }), fc.array(value, { maxLength: 8 }), (types, values) => {
        const test = compileCondition({ path: 'x', is: types }, scope);
        const set = new Set<string>(types);
        for (const v of [...values, 1n, () => 1, Symbol('s')]) {
          expect(test({ x: v }, [], ctx())).toBe(v !== undefined && set.has(valueType(v)));
        }
        expect(test({}, [], ctx())).toBe(false);
      }),
      { numRuns: 5_000 },
    );
  });
});

// ---- extra: the rest before the for-in walk, verbatim ----

interface Entry {
  whole: boolean;
  scalar: boolean;
  nulls: boolean;
  children: Map<string, Entry> | null;
  items: Map<number, Entry> | null;
  every: Entry | null;
}

const GONE = Symbol('gone');

/** The rule of consumed-tree.ts written plainly (Object.keys, recursion on every value): what rest must equal. */
function refValue(v: unknown, e: Entry): unknown {
  if (e.whole) return GONE;
  if (v === null || typeof v !== 'object' || v instanceof LosslessNumber) {
    if (e.scalar || (v === null && e.nulls)) return GONE;
    if (v === null && (e.children || e.items || e.every)) return GONE;
    return v;
  }
  if (Array.isArray(v)) {
    if (!e.items && !e.every) return v;
    // an array leaves extra only when each element is consumed, by its index entry, by [*], or by both in turn
    const allGone = v.every((el, i) => {
      const item = e.items?.get(i);
      if (!item && !e.every) return false;
      let left: unknown = el;
      if (item) left = refValue(left, item);
      if (left !== GONE && e.every) left = refValue(left, e.every);
      return left === GONE;
    });
    return allGone ? GONE : v;
  }
  if (!e.children) return v;
  const r = refRestOf(v, e.children);
  return r === null ? GONE : r;
}

function refRestOf(value: unknown, node: Map<string, Entry>): Record<string, unknown> | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  let out: Record<string, unknown> | null = null;
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    const entry = node.get(key);
    const kept = entry ? refValue(v, entry) : v;
    if (kept === GONE) continue;
    out ??= {};
    if (key === '__proto__') Object.defineProperty(out, key, { value: kept, enumerable: true, writable: true, configurable: true });
    else out[key] = kept;
  }
  return out;
}

/** Keys in order, own ones only, and the prototype of each object: what `extra` prints and what a reader sees. */
function shape(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || v instanceof LosslessNumber) return v;
  if (Array.isArray(v)) return v.map(shape);
  const proto: unknown = Object.getPrototypeOf(v);
  return {
    proto: proto === Object.prototype ? 'Object' : proto === null ? 'null' : 'other',
    entries: Object.keys(v).map((k) => [k, shape((v as Record<string, unknown>)[k])]),
  };
}

describe('ConsumedTree.rest', () => {
  it(
    'keeps what it kept before, in the same order, for objects of any prototype',
    () => {
      const segment = fc.oneof(fc.constantFrom<PathStep>('a', 'b', '0', '__proto__', 'toString', ALL), fc.nat({ max: 2 }));
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.array(segment, { minLength: 1, maxLength: 3 }), fc.boolean(), fc.boolean()), { maxLength: 4 }),
          fc.array(value, { maxLength: 6 }),
          (marks, values) => {
            const tree = new ConsumedTree();
            for (const [segs, scalar, nullOnly] of marks) tree.mark(segs, scalar, nullOnly ? 'null' : 'value');
            const root = (tree as unknown as { root: Map<string, Entry> }).root;
            const inherited = Object.assign(Object.create({ a: 1, b: { a: 2 } }) as object, { b: 3, c: 4 });
            for (const v of [...values, inherited, { a: { a: 1, b: 2 }, b: null, __proto__: 5 }]) {
              const got = tree.rest(v);
              const want = refRestOf(v, root);
              expect(shape(got)).toEqual(shape(want));
              expect(outcome(() => stableStringify(got))).toEqual(outcome(() => stableStringify(want)));
            }
          },
        ),
        { numRuns: 5_000 },
      );
    },
    SLOW,
  );
});

describe('unix timestamps from decimal text', () => {
  // the exact micros of the text, computed with BigInt: what the scan of decimalToMicros must give
  const oracle = (text: string, digits: 6 | 3): { micros: number } | { fails: 'range' | 'finer' } => {
    const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text)!;
    const frac = m[3] ?? '';
    if (/[1-9]/.test(frac.slice(digits))) return { fails: 'finer' };
    const abs = BigInt(m[2]!) * 10n ** BigInt(digits) + BigInt((frac.slice(0, digits) + '000000').slice(0, digits));
    const micros = m[1] ? -abs : abs;
    if (micros < BigInt(MIN_MICROS) || micros >= BigInt(MAX_MICROS)) return { fails: 'range' };
    return { micros: Number(micros) };
  };
  const digitText = (max: number) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: max }).map((d) => d.join(''));
  const text = fc
    .tuple(fc.boolean(), fc.oneof(digitText(20), fc.integer({ min: 0, max: 4_102_444_799 }).map(String)), fc.option(digitText(9)))
    .map(([neg, whole, frac]) => `${neg ? '-' : ''}${whole}${frac === null ? '' : `.${frac}`}`);

  it('give the exact micros of the digits, whatever their length (the whole part is read as it is scanned)', () => {
    const seconds = compileRule({ path: 'x', convert: 'unix_seconds' }, { ...scope, type: 'timestamp', inJson: false });
    const millis = compileRule({ path: 'x', convert: 'unix_millis' }, { ...scope, type: 'timestamp', inJson: false });
    fc.assert(
      fc.property(text, (t) => {
        for (const [evaluate, digits] of [
          [seconds, 6],
          [millis, 3],
        ] as const) {
          const want = oracle(t, digits);
          for (const v of [t, new LosslessNumber(t)]) {
            const got = outcome(() => evaluate({ x: v }, [], 0, ctx()));
            if ('micros' in want) expect(got).toEqual({ value: want.micros });
            else expect(String((got as { threw?: string }).threw)).toMatch(want.fails === 'range' ? /outside 1970/ : /finer than a microsecond/);
          }
        }
      }),
      { numRuns: 20_000 },
    );
  });
});

describe('nonempty', () => {
  it('holds for the same values as before the for-in count (Object.keys for objects)', () => {
    const before = (v: unknown): boolean => {
      if (v === undefined || v === null || v === '') return false;
      if (Array.isArray(v)) return v.length > 0;
      if (typeof v === 'object' && !(v instanceof LosslessNumber)) return Object.keys(v).length > 0;
      return true;
    };
    for (const want of [true, false]) {
      const test = compileCondition({ path: 'x', nonempty: want }, scope);
      fc.assert(
        fc.property(value, (v) => {
          expect(test({ x: v }, [], ctx())).toBe(before(v) === want);
        }),
        { numRuns: 5_000 },
      );
      const inherited = Object.create({ a: 1 }) as object;
      expect(test({ x: inherited }, [], ctx())).toBe(before(inherited) === want);
      expect(test({ x: Object.create(null) }, [], ctx())).toBe(!want);
    }
  });
});

describe('paths of keys only', () => {
  it('read what getAt reads, own properties only', () => {
    const key = fc.constantFrom('a', 'b', '0', '__proto__', 'toString', 'constructor');
    fc.assert(
      fc.property(fc.array(key, { minLength: 2, maxLength: 3 }), value, (keys, v) => {
        const get = compileGetter(keys);
        for (const root of [v, { a: v, b: { a: v } }, { a: { b: { a: v } } }, JSON.parse('{"__proto__": {"a": 1}}') as unknown]) {
          expect(outcome(() => get(root))).toEqual(outcome(() => getAt(root, keys)));
        }
      }),
      { numRuns: 5_000 },
    );
  });
});
