// Compiles one column rule or condition of a mapping into a plain function, checking its shape on the way
// (a wrong key or value is a CONFIG_MAPPING_INVALID naming the place in the mapping file). Rules also record
// which source paths they place in columns, so the engine can keep everything else in `extra`.

import { ChatportError } from '../errors.js';
import { formatMicros } from '../model/timestamp.js';
import type { ColumnType } from '../model/canonical-schema.js';
import { ConversionError, converterFor, TIMESTAMP_CONVERSIONS, type Converter } from './conversions.js';
import { CONVERSIONS, VALUE_TYPES, type Conversion, type ConditionSpec, type RuleSpec, type ValueType } from './mapping-types.js';
import { compileGetter, parsePath, PathSyntaxError, type ParsedPath } from './paths.js';
import { ConsumedTree } from './consumed-tree.js';
import { LosslessNumber, comparableNumberText, exactDouble } from '../json/lossless-number.js';

/** Per-record state the compiled functions report into. */
export interface MapContext {
  /** The record is GDPR-removed: errors must not quote its values. */
  removed: boolean;
  /**
   * removed_when was evaluated for the record being mapped, so `removed` is exact. Before that (a value that is not
   * a record, an unwrap that fails) nothing is known, and the record's text may belong to a removed part.
   */
  removalKnown: boolean;
  unknownEnum(column: string, raw: string): void;
}

export type Evaluate = (rec: unknown, parent: unknown, index: number, ctx: MapContext) => unknown;
export type Test = (rec: unknown, parent: unknown, ctx: MapContext) => boolean;

/** Where the rule sits, for messages and for tracking what it consumes. */
export interface RuleScope {
  readonly file: string;
  /** Path inside the mapping file, e.g. tables.messages.columns.created_at */
  readonly at: string;
  /** Column name reported for unknown enum values and errors. */
  readonly column: string;
  /** Source paths the rule places in a column are marked here (null: not tracked, e.g. derive rules). */
  readonly consumed: ConsumedTree | null;
  readonly parentConsumed: ConsumedTree | null;
  /** Output type: decides the default conversion and how timestamps are represented. */
  readonly type: ColumnType;
  /** Inside a JSON value (attachments, object): timestamps become ISO strings there. */
  readonly inJson: boolean;
}

const RULE_KEYS = new Set([
  'path',
  'const',
  'first_of',
  'object',
  'each',
  'fields',
  'allow_single',
  'index',
  'when',
  'convert',
  'unit',
  'enum',
  'unknown',
  'null_if',
  'default',
  'required',
]);
const CONDITION_KEYS = new Set(['path', 'equals', 'in', 'exists', 'truthy', 'nonempty', 'is', 'matches', 'all', 'any', 'not']);

export function invalid(scope: Pick<RuleScope, 'file' | 'at'>, message: string): ChatportError {
  return new ChatportError('CONFIG_MAPPING_INVALID', message, 'config', { file: scope.file, path: scope.at });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
/** The same test without narrowing, for values already typed by the spec. */
const isObjectValue = (v: unknown): boolean => isPlainObject(v);

function checkKeys(spec: Record<string, unknown>, allowed: Set<string>, scope: Pick<RuleScope, 'file' | 'at'>, what: string): void {
  for (const k of Object.keys(spec)) {
    if (!allowed.has(k)) throw invalid({ ...scope, at: `${scope.at}.${k}` }, `unknown key "${k}" in a ${what} (allowed: ${[...allowed].join(', ')})`);
  }
}

function parse(text: unknown, scope: Pick<RuleScope, 'file' | 'at'>): ParsedPath {
  if (typeof text !== 'string') throw invalid(scope, `a path must be a string, got ${JSON.stringify(text)}`);
  try {
    return parsePath(text);
  } catch (e) {
    if (e instanceof PathSyntaxError) throw invalid(scope, e.message);
    throw e;
  }
}

/**
 * A getter that reads from the record or, for `^.` paths, from the parent record. A record path is the compiled
 * getter itself (it ignores the parent argument): each wrapper here is one more call per read, for every record.
 */
function sourceGetter(p: ParsedPath): (rec: unknown, parent: unknown) => unknown {
  const get = compileGetter(p.segments);
  if (!p.parent) return get;
  if (p.segments.length === 0) return (_rec, parent) => parent;
  return (_rec, parent) => get(parent);
}

function markConsumed(p: ParsedPath, scope: RuleScope, scalarOnly: boolean): void {
  const tree = p.parent ? scope.parentConsumed : scope.consumed;
  tree?.mark(p.segments, scalarOnly);
}

export function compileRule(raw: RuleSpec | string, scope: RuleScope): Evaluate {
  // shorthand: a bare string is a path
  const spec: RuleSpec = typeof raw === 'string' ? { path: raw } : raw;
  if (!isObjectValue(spec)) throw invalid(scope, `a column rule must be a path string or an object, got ${JSON.stringify(spec)}`);
  checkKeys(spec as Record<string, unknown>, RULE_KEYS, scope, 'column rule');
  const sources = ['path', 'const', 'first_of', 'object', 'each', 'index'].filter((k) => k in spec);
  if (sources.length !== 1) {
    throw invalid(scope, sources.length === 0 ? 'a column rule needs one of path, const, first_of, object, each, index' : `a column rule takes one of ${sources.join(', ')}, not several`);
  }
  if ('fields' in spec && !('each' in spec)) throw invalid(scope, '"fields" goes with "each"');
  if ('allow_single' in spec && !('each' in spec)) throw invalid({ ...scope, at: `${scope.at}.allow_single` }, '"allow_single" goes with "each"');

  // conversion: explicit, or the column type's default
  let conversion: Conversion | undefined = spec.convert;
  if (conversion !== undefined && !CONVERSIONS.includes(conversion)) {
    throw invalid({ ...scope, at: `${scope.at}.convert` }, `unknown conversion "${String(conversion)}" (known: ${CONVERSIONS.join(', ')})`);
  }
  if (spec.unit !== undefined && !['seconds', 'millis', 'auto'].includes(spec.unit)) {
    throw invalid({ ...scope, at: `${scope.at}.unit` }, 'unit is seconds, millis or auto');
  }
  const isAggregateOrShaped = spec.object !== undefined || spec.each !== undefined || spec.first_of !== undefined;
  if (conversion === undefined && spec.enum === undefined && !isAggregateOrShaped && !('const' in spec) && !spec.index) {
    conversion = defaultConversion(scope);
  }
  const scalarOnly = spec.enum !== undefined || (conversion !== undefined && conversion !== 'json');
  let source: Evaluate;
  let producesTimestamp = false;
  if (spec.path !== undefined) {
    const list = Array.isArray(spec.path) ? spec.path : [spec.path];
    if (list.length === 0) throw invalid({ ...scope, at: `${scope.at}.path` }, 'path list is empty');
    const parsed = list.map((p, i) => parse(p, { ...scope, at: Array.isArray(spec.path) ? `${scope.at}.path[${i}]` : `${scope.at}.path` }));
    for (const p of parsed) markConsumed(p, scope, scalarOnly);
    const getters = parsed.map(sourceGetter);
    if (getters.length === 1) {
      source = getters[0]!;
    } else {
      source = (rec, parent) => {
        for (const g of getters) {
          const v = g(rec, parent);
          if (v !== undefined && v !== null) return v;
        }
        return null;
      };
    }
  } else if ('const' in spec) {
    const value = spec.const;
    source = () => value;
  } else if (spec.index !== undefined) {
    if (spec.index !== true) throw invalid({ ...scope, at: `${scope.at}.index` }, 'index must be true');
    source = (_rec, _parent, index) => index;
  } else if (spec.first_of !== undefined) {
    if (!Array.isArray(spec.first_of) || spec.first_of.length === 0) throw invalid({ ...scope, at: `${scope.at}.first_of` }, 'first_of needs a non-empty list of rules');
    const alternatives = spec.first_of.map((r, i) => compileRule(r, { ...scope, at: `${scope.at}.first_of[${i}]` }));
    source = (rec, parent, index, ctx) => {
      for (const alt of alternatives) {
        const v = alt(rec, parent, index, ctx);
        if (v !== undefined && v !== null) return v;
      }
      return null;
    };
  } else if (spec.object !== undefined) {
    if (!isPlainObject(spec.object)) throw invalid({ ...scope, at: `${scope.at}.object` }, 'object needs a map of key: rule');
    const entries = Object.entries(spec.object).map(
      ([k, r]) => [k, compileRule(r as RuleSpec, { ...scope, at: `${scope.at}.object.${k}`, type: 'json', inJson: true })] as const,
    );
    source = (rec, parent, index, ctx) => {
      let out: Record<string, unknown> | null = null;
      for (const [k, ev] of entries) {
        const v = ev(rec, parent, index, ctx);
        if (v === undefined || v === null) continue;
        out ??= {};
        setOwn(out, k, v);
      }
      return out;
    };
  } else {
    source = compileEach(spec, scope);
  }

  let value = source;
  // when: the rule applies only if the condition holds
  if (spec.when !== undefined) {
    const test = compileCondition(spec.when, { file: scope.file, at: `${scope.at}.when` });
    const inner = value;
    value = (rec, parent, index, ctx) => (test(rec, parent, ctx) ? inner(rec, parent, index, ctx) : null);
  }
  if (spec.null_if !== undefined) {
    if (!Array.isArray(spec.null_if)) throw invalid({ ...scope, at: `${scope.at}.null_if` }, 'null_if needs a list of values');
    const keys = spec.null_if.map((v) => JSON.stringify(v));
    const matches = nullIfMatcher(spec.null_if);
    const inner = value;
    value = (rec, parent, index, ctx) => {
      const v = inner(rec, parent, index, ctx);
      if (v === null || v === undefined) return null;
      return matches(v, keys) ? null : v;
    };
  }

  if (conversion !== undefined) {
    producesTimestamp = TIMESTAMP_CONVERSIONS.has(conversion);
    if (scope.type === 'timestamp' && !producesTimestamp) {
      throw invalid({ ...scope, at: `${scope.at}.convert` }, `column ${scope.column} is a timestamp: use unix_seconds, unix_millis, iso8601 or timestamp`);
    }
    const convert = converterFor(conversion, spec.unit ?? 'seconds');
    const toOutput: Converter = producesTimestamp && scope.inJson ? (v) => formatMicros(convert(v) as number) : convert;
    const inner = value;
    const sourceText = spec.path !== undefined ? (Array.isArray(spec.path) ? spec.path.join(' | ') : spec.path) : scope.column;
    value = (rec, parent, index, ctx) => {
      const v = inner(rec, parent, index, ctx);
      if (v === null || v === undefined) return null;
      try {
        return toOutput(v);
      } catch (e) {
        if (e instanceof ConversionError) {
          throw new ChatportError(e.code, `${scope.column}: ${ctx.removed ? e.message.replace(/"[^"]*"/g, '(value withheld: removed record)') : e.message}`, 'map', { path: sourceText });
        }
        throw e;
      }
    };
  } else if (scope.type === 'timestamp' && !('const' in spec) && spec.first_of === undefined) {
    throw invalid(scope, `column ${scope.column} is a timestamp: give convert (unix_seconds, unix_millis, iso8601 or timestamp)`);
  }

  if (spec.enum !== undefined) {
    if (!isPlainObject(spec.enum)) throw invalid({ ...scope, at: `${scope.at}.enum` }, 'enum needs a map of vendor value: canonical value');
    const table = new Map(Object.entries(spec.enum));
    const fallback = 'unknown' in spec ? spec.unknown : null;
    const column = scope.column;
    const inner = value;
    value = (rec, parent, index, ctx) => {
      const v = inner(rec, parent, index, ctx);
      if (v === null || v === undefined) return null;
      const key = typeof v === 'string' ? v : v instanceof LosslessNumber ? comparableNumberText(v) : typeof v === 'object' ? JSON.stringify(v) : String(v);
      const mapped = table.get(key);
      if (mapped !== undefined) return mapped;
      ctx.unknownEnum(column, key);
      return fallback;
    };
  } else if ('unknown' in spec) {
    throw invalid({ ...scope, at: `${scope.at}.unknown` }, '"unknown" goes with "enum"');
  }

  if ('default' in spec) {
    const fallback = spec.default;
    const inner = value;
    value = (rec, parent, index, ctx) => {
      const v = inner(rec, parent, index, ctx);
      return v === null || v === undefined ? fallback : v;
    };
  }
  if (spec.required) {
    const inner = value;
    const what = spec.path !== undefined ? (Array.isArray(spec.path) ? spec.path.join(' | ') : spec.path) : scope.column;
    value = (rec, parent, index, ctx) => {
      const v = inner(rec, parent, index, ctx);
      if (v === null || v === undefined) throw new ChatportError('MAP_MISSING_FIELD', `${scope.column} is required but the record has no value`, 'map', { path: what });
      return v;
    };
  }
  return value;
}

/**
 * Whether a value equals one of a null_if list, as JSON text (the rule's meaning), without serialising every
 * value: strings, numbers and booleans are compared directly, and an object or array only when some listed
 * value has as many keys or elements (null_if: [{}] used to stringify every non-empty body_json).
 */
function nullIfMatcher(list: readonly unknown[]): (v: unknown, keys: readonly string[]) => boolean {
  const strings = new Set(list.filter((x) => typeof x === 'string'));
  // numbers and booleans: JSON text equals String() for the finite numbers JSON.parse gives
  const others = new Set(list.filter((x) => typeof x === 'number' || typeof x === 'boolean').map((x) => JSON.stringify(x)));
  const arrayLengths = new Set(list.filter(Array.isArray).map((x) => x.length));
  const objectSizes = new Set(list.filter(isPlainObject).map((x) => Object.keys(x).length));
  const hasStringKey = list.some((x) => typeof x === 'string');
  const maxObjectSize = Math.max(-1, ...objectSizes);
  // JSON text of [] and of an Object-prototype object without keys, whatever the values were
  const texts = list.map((x) => JSON.stringify(x));
  const emptyArray = texts.includes('[]');
  const emptyObject = texts.includes('{}');
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
          // a literal kept for its spelling (0.0, -0) is the number it spells; a long id's JSON is a string
          const d = exactDouble(v);
          return d !== null ? others.has(JSON.stringify(d)) : hasStringKey && keys.includes(JSON.stringify(v));
        }
        if (Array.isArray(v)) {
          if (!arrayLengths.has(v.length)) return false;
          return v.length === 0 ? emptyArray : keys.includes(JSON.stringify(v));
        }
        if (v !== null && Object.getPrototypeOf(v) === Object.prototype) {
          // own keys counted by for-in (an Object-prototype object inherits none), up to one past the largest
          // listed size: no Object.keys array for every body_json, and `{}` (the usual value) is never printed
          let size = 0;
          for (const _ in v) if (++size > maxObjectSize) return false;
          if (!objectSizes.has(size)) return false;
          if (size === 0) return emptyObject;
        }
        return keys.includes(JSON.stringify(v));
      }
      default:
        return keys.includes(JSON.stringify(v));
    }
  };
}

function defaultConversion(scope: RuleScope): Conversion | undefined {
  switch (scope.type) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'integer':
      return 'integer';
    case 'json':
      return scope.inJson ? undefined : 'json';
    case 'timestamp':
      return undefined;
  }
}

/** `each: path` with `fields`: an array of sub-records (attachments); each keeps its unmapped rest in `extra`. */
function compileEach(spec: RuleSpec, scope: RuleScope): Evaluate {
  const arrayPath = parse(spec.each, { ...scope, at: `${scope.at}.each` });
  markConsumed(arrayPath, scope, false);
  const get = sourceGetter(arrayPath);
  if (!isPlainObject(spec.fields)) throw invalid({ ...scope, at: `${scope.at}.fields` }, 'each needs fields: a map of key: rule');
  const elementConsumed = new ConsumedTree();
  const fields = Object.entries(spec.fields).map(([k, r]) => {
    if (k === 'extra') throw invalid({ ...scope, at: `${scope.at}.fields.extra` }, '"extra" is filled by chatport with the unmapped rest');
    return [
      k,
      compileRule(r as RuleSpec, {
        ...scope,
        at: `${scope.at}.fields.${k}`,
        column: `${scope.column}.${k}`,
        consumed: elementConsumed,
        parentConsumed: scope.consumed,
        type: 'json',
        inJson: true,
      }),
    ] as const;
  });
  if (spec.allow_single !== undefined && typeof spec.allow_single !== 'boolean') {
    throw invalid({ ...scope, at: `${scope.at}.allow_single` }, 'allow_single must be true or false');
  }
  // Some vendors send one sub-record as a bare object where others send a list (Expertflow CX's body.attachment):
  // with allow_single, such an object is read as a list of one. Without it, an object there is an error.
  const allowSingle = spec.allow_single === true;
  const where = arrayPath.text;
  return (rec, parent, _index, ctx) => {
    let arr = get(rec, parent);
    if (arr === null || arr === undefined) return null;
    if (allowSingle && isPlainObject(arr)) arr = [arr];
    if (!Array.isArray(arr)) {
      throw new ChatportError('MAP_INVALID_VALUE', `${scope.column}: expected an array, got ${typeof arr === 'object' ? 'an object' : `a ${typeof arr}`}`, 'map', { path: where });
    }
    const out: Record<string, unknown>[] = [];
    for (let i = 0; i < arr.length; i++) {
      const el = arr[i];
      const item: Record<string, unknown> = {};
      for (const [k, ev] of fields) {
        const v = ev(el, rec, i, ctx);
        item[k] = v === undefined ? null : v;
      }
      const rest = elementConsumed.rest(el);
      item.extra = rest;
      out.push(item);
    }
    return out;
  };
}

export function compileCondition(raw: ConditionSpec, scope: Pick<RuleScope, 'file' | 'at'>): Test {
  if (!isObjectValue(raw)) throw invalid(scope, `a condition must be an object, got ${JSON.stringify(raw)}`);
  const spec = raw as ConditionSpec;
  checkKeys(spec as Record<string, unknown>, CONDITION_KEYS, scope, 'condition');
  if (spec.all !== undefined || spec.any !== undefined) {
    const list = spec.all ?? spec.any;
    const key = spec.all !== undefined ? 'all' : 'any';
    if (!Array.isArray(list) || list.length === 0) throw invalid({ ...scope, at: `${scope.at}.${key}` }, `${key} needs a non-empty list of conditions`);
    const tests = list.map((c, i) => compileCondition(c, { ...scope, at: `${scope.at}.${key}[${i}]` }));
    return key === 'all' ? (r, p, c) => tests.every((t) => t(r, p, c)) : (r, p, c) => tests.some((t) => t(r, p, c));
  }
  if (spec.not !== undefined) {
    const t = compileCondition(spec.not, { ...scope, at: `${scope.at}.not` });
    return (r, p, c) => !t(r, p, c);
  }
  if (spec.path === undefined) throw invalid(scope, 'a condition needs path (with equals, in, exists, truthy, nonempty, is or matches), or all / any / not');
  const get = sourceGetter(parse(spec.path, { ...scope, at: `${scope.at}.path` }));
  const ops = ['equals', 'in', 'exists', 'truthy', 'nonempty', 'is', 'matches'].filter((k) => k in spec);
  if (ops.length !== 1) throw invalid(scope, `a condition on a path takes exactly one of equals, in, exists, truthy, nonempty, is, matches`);
  const op = ops[0]!;
  switch (op) {
    case 'equals': {
      // a string value is compared as it is: scalarKey would only build "s:" + value to compare the same way
      const want = spec.equals;
      const wantKey = scalarKey(want);
      return (r, p) => {
        const v = get(r, p);
        return typeof v === 'string' ? typeof want === 'string' && v === want : scalarKey(v) === wantKey;
      };
    }
    case 'in': {
      if (!Array.isArray(spec.in)) throw invalid({ ...scope, at: `${scope.at}.in` }, 'in needs a list of values');
      const set = new Set(spec.in.map(scalarKey));
      const strings = new Set(spec.in.filter((x): x is string => typeof x === 'string'));
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
      const types = Array.isArray(spec.is) ? spec.is : [spec.is];
      for (const t of types) if (!VALUE_TYPES.includes(t as ValueType)) throw invalid({ ...scope, at: `${scope.at}.is` }, `unknown type "${String(t)}" (known: ${VALUE_TYPES.join(', ')})`);
      // valueType(v) in the list, without building the type's name for every record
      const has = (t: ValueType) => types.includes(t);
      const [str, num, bool, obj, arr, nul] = [has('string'), has('number'), has('boolean'), has('object'), has('array'), has('null')];
      return (r, p) => {
        const v = get(r, p);
        switch (typeof v) {
          case 'string':
            return str;
          case 'number':
            return num;
          case 'boolean':
            return bool;
          case 'object':
            if (v === null) return nul;
            if (Array.isArray(v)) return arr;
            return v instanceof LosslessNumber ? num : obj;
          default:
            return false; // undefined (missing), bigint, function, symbol: no type a mapping can name
        }
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
function scalarKey(v: unknown): string {
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
  if (typeof v === 'object' && !(v instanceof LosslessNumber)) return Object.keys(v).length > 0;
  return true;
}

/** Assigns an own property, even for keys like `__proto__`, without touching any prototype. */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}
