// Compiles a mapping's conditions (`when`, a table's `when`, `removed_when`, derive filters) into tests: equals, in,
// exists, truthy, is (a value type), matches, and all / any / not over them. Numbers compare by their exact text
// (an id beyond 2^53 equals only itself), strings by their characters.

import { LosslessNumber, comparableNumberText, exactDouble } from '../json/lossless-number.js';
import type { ConditionSpec, ValueType } from './mapping-types.js';
import { internalized } from './paths.js';
import { invalid, parseRulePath, sourceGetter, type ConditionScope, type Test } from './rule-scope.js';

export function compileCondition(raw: ConditionSpec, scope: ConditionScope): Test {
  const spec = raw;
  if (spec.all !== undefined || spec.any !== undefined) {
    const list = (spec.all ?? spec.any)!;
    const key = spec.all !== undefined ? 'all' : 'any';
    const tests = list.map((c, i) => compileCondition(c, { ...scope, at: `${scope.at}.${key}[${i}]` }));
    // plain loops: every() and some() would allocate a callback on each evaluation
    if (key === 'all')
      return (r, p, c) => {
        for (let i = 0; i < tests.length; i++) if (!tests[i]!(r, p, c)) return false;
        return true;
      };
    return (r, p, c) => {
      for (let i = 0; i < tests.length; i++) if (tests[i]!(r, p, c)) return true;
      return false;
    };
  }
  if (spec.not !== undefined) {
    const t = compileCondition(spec.not, { ...scope, at: `${scope.at}.not` });
    return (r, p, c) => !t(r, p, c);
  }
  const get = sourceGetter(parseRulePath(spec.path!, { ...scope, at: `${scope.at}.path` }), scope);
  const op = ['equals', 'in', 'exists', 'truthy', 'nonempty', 'is', 'matches'].find((k) => k in spec)!;
  switch (op) {
    case 'equals': {
      // a string value is compared as it is: scalarKey would only build "s:" + value to compare the same way
      const want = typeof spec.equals === 'string' ? internalized(spec.equals) : spec.equals;
      const wantKey = scalarKey(want);
      return (r, p) => {
        const v = get(r, p);
        return typeof v === 'string' ? typeof want === 'string' && v === want : scalarKey(v) === wantKey;
      };
    }
    case 'in': {
      const set = new Set(spec.in!.map(scalarKey));
      const strings = new Set(spec.in!.filter((x): x is string => typeof x === 'string').map(internalized));
      return (r, p) => {
        const v = get(r, p);
        return typeof v === 'string' ? strings.has(v) : set.has(scalarKey(v));
      };
    }
    case 'exists': {
      const want = spec.exists === true;
      return (r, p) => {
        const v = get(r, p);
        return (v !== undefined && v !== null) === want;
      };
    }
    case 'truthy': {
      const want = spec.truthy === true;
      return (r, p) => isTruthy(get(r, p)) === want;
    }
    case 'nonempty': {
      const want = spec.nonempty === true;
      return (r, p) => isNonEmpty(get(r, p)) === want;
    }
    case 'is': {
      const types: readonly ValueType[] = Array.isArray(spec.is) ? spec.is : [spec.is!];
      // valueType(v) in the list, without building the type's name for every record
      const has = (t: ValueType) => types.includes(t);
      const [str, num, bool, obj, arr, nul] = [has('string'), has('number'), has('boolean'), has('object'), has('array'), has('null')];
      // if-chains, not switch (typeof v): a typeof whose result is switched on is a call to a builtin
      return (r, p) => {
        const v = get(r, p);
        if (typeof v === 'string') return str;
        if (typeof v === 'number') return num;
        if (typeof v === 'boolean') return bool;
        if (typeof v === 'object') {
          if (v === null) return nul;
          if (Array.isArray(v)) return arr;
          return v instanceof LosslessNumber ? num : obj;
        }
        return false; // undefined (missing), bigint, function, symbol: no type a mapping can name
      };
    }
    default: {
      let re: RegExp;
      try {
        re = new RegExp(String(spec.matches));
      } catch (e) {
        throw invalid({ ...scope, at: `${scope.at}.matches` }, `bad regular expression: ${(e as Error).message}`);
      }
      return (r, p) => {
        const v = get(r, p);
        return typeof v === 'string' && re.test(v);
      };
    }
  }
}

/** Comparable key for equals / in: numbers and id strings compare by their text. */
export function scalarKey(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (v instanceof LosslessNumber) return `n:${comparableNumberText(v)}`;
  switch (typeof v) {
    case 'string':
      return `s:${v}`;
    case 'number':
      return `n:${v}`;
    case 'boolean':
      return `b:${v}`;
    default:
      return `j:${JSON.stringify(v)}`;
  }
}

export function valueType(v: unknown): ValueType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (v instanceof LosslessNumber) return 'number';
  const t = typeof v;
  return t === 'object' ? 'object' : (t as ValueType);
}

/** Vendors' loose falsy values: null, false, 0 (also spelled 0.0 or -0), "", "0" (Dashly sends booleans as 0 or ""). */
export function isTruthy(v: unknown): boolean {
  if (v instanceof LosslessNumber) return exactDouble(v) !== 0;
  return !(v === undefined || v === null || v === false || v === 0 || v === '' || v === '0');
}

function isNonEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object' && !(v instanceof LosslessNumber)) {
    // an own enumerable key is enough: no Object.keys array for every `{}` a vendor sends
    if (Object.getPrototypeOf(v) === Object.prototype) {
      for (const _ in v) return true;
      return false;
    }
    return Object.keys(v).length > 0;
  }
  return true;
}
