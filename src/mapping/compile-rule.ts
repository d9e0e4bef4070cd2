// Compiles one column rule of a mapping into a plain function (conditions: compile-condition.ts; the scope and errors
// rules share: rule-scope.ts). The rule's shape was checked when the
// file was loaded (mapping-spec.ts); what is checked here needs more than the shape (a path's syntax and how far its
// ^ may climb, a timestamp column's conversion, a regular expression), a CONFIG_MAPPING_INVALID naming the place in
// the file. Rules also record which source paths they place in columns, so the engine can keep everything else in
// `extra`.

import { ChatportError, type ErrorCode } from '../errors.js';
import { formatMicros } from '../model/timestamp.js';
import { ConversionError, converterFor, describeType, TIMESTAMP_CONVERSIONS, type Converter } from './conversions.js';
import type { Conversion, RuleSpec } from './mapping-types.js';
import { ALL, compileGetter, internalized, type ParsedPath, type PathStep } from './paths.js';
import { ConsumptionScope, type BranchMark } from './consumed-tree.js';
import { compileCondition, scalarKey } from './compile-condition.js';
import { conditionKey, sharedTest } from './once-per-element.js';
import {
  elementError,
  invalid,
  isPlainObject,
  markConsumed,
  parseRulePath,
  placeError,
  sourceGetter,
  trackedGetter,
  type Ancestors,
  type Evaluate,
  type RuleScope,
} from './rule-scope.js';
import { LosslessNumber, comparableNumberText, exactDouble } from '../json/lossless-number.js';

/** Per-record state the compiled functions report into. */
export function compileRule(raw: RuleSpec | string, scope: RuleScope): Evaluate {
  // shorthand: a bare string is a path
  const spec: RuleSpec = typeof raw === 'string' ? { path: raw } : raw;
  // conversion: explicit, or the column type's default
  let conversion: Conversion | undefined = spec.convert;
  const isAggregateOrShaped =
    spec.object !== undefined || spec.each !== undefined || spec.first_of !== undefined || spec.min !== undefined || spec.max !== undefined;
  if (conversion === undefined && spec.enum === undefined && !isAggregateOrShaped && !('const' in spec) && !spec.index) {
    conversion = defaultConversion(scope);
  }
  const scalarOnly = spec.enum !== undefined || (conversion !== undefined && conversion !== 'json') || spec.extract !== undefined;
  // A rule under a `when` reads its paths only on the elements where the condition holds: what it consumes is decided
  // per element, and so is what a first_of branch after the first, or a path of a list after the first, consumes.
  const guarded = scope.guarded === true || spec.when !== undefined;
  // extract may find nothing in a value: the value is then consumed only where it matched (marked after the match)
  const deferred: BranchMark[] | null = spec.extract !== undefined ? [] : null;
  const inner: RuleScope = { ...scope, guarded: guarded || deferred !== null };
  // the source paths of the rule, for errors that name where the failing value was (placed by the mapper)
  let rulePaths: readonly ParsedPath[] | null = null;
  const failure = (code: ErrorCode, message: string): ChatportError =>
    rulePaths ? elementError(code, message, rulePaths) : new ChatportError(code, message, 'map', { path: scope.column });
  let source: Evaluate;
  let producesTimestamp = false;
  if (spec.path !== undefined) {
    const list = Array.isArray(spec.path) ? spec.path : [spec.path];
    if (list.length === 0) throw invalid({ ...scope, at: `${scope.at}.path` }, 'path list is empty');
    const parsed = list.map((p, i) =>
      parseRulePath(p, { ...scope, levels: scope.upConsumed.length, at: Array.isArray(spec.path) ? `${scope.at}.path[${i}]` : `${scope.at}.path` }),
    );
    rulePaths = parsed;
    // pluck reads one field of each element and `pick: first` the first element: only that much is consumed
    const suffix: PathStep[] | null =
      spec.pluck !== undefined && typeof spec.pluck === 'string'
        ? [ALL, ...parseRulePath(spec.pluck, { ...scope, levels: 0, at: `${scope.at}.pluck`, onPath: undefined }).segments]
        : spec.pick === 'first'
          ? [0]
          : null;
    const consumes = spec.pick !== 'last' && spec.pick !== 'length';
    const getters = parsed.map((p, i) => {
      const mark = consumes
        ? markConsumed(
            suffix ? { ...p, segments: [...p.segments, ...suffix] } : p,
            { ...inner, guarded: inner.guarded || i > 0 },
            scalarOnly || suffix !== null,
          )
        : null;
      if (deferred && mark) {
        deferred.push(mark);
        return sourceGetter(p, inner);
      }
      return trackedGetter(p, mark, inner);
    });
    if (getters.length === 1) {
      source = getters[0]!;
    } else {
      source = (rec, up) => {
        for (const g of getters) {
          const v = g(rec, up);
          if (v !== undefined && v !== null) return v;
        }
        return null;
      };
    }
  } else if ('const' in spec) {
    const value = spec.const;
    source = () => value;
  } else if (spec.index !== undefined) {
    source = (_rec, _up, index) => index;
  } else if (spec.template !== undefined) {
    source = compileTemplate(spec.template, inner);
  } else if (spec.min !== undefined || spec.max !== undefined) {
    const key = spec.min !== undefined ? 'min' : 'max';
    const list = spec[key]!;
    const rules = list.map((r, i) => compileRule(r, { ...inner, at: `${scope.at}.${key}[${i}]` }));
    const better = key === 'min' ? (a: number, b: number) => b < a : (a: number, b: number) => b > a;
    const column = scope.column;
    source = (rec, up, index, ctx) => {
      let best: number | null = null;
      for (const r of rules) {
        const v = r(rec, up, index, ctx);
        if (v === null || v === undefined) continue;
        if (typeof v !== 'number')
          throw new ChatportError(
            'MAP_INVALID_VALUE',
            `${column}: ${key} compares numbers and timestamps, got ${describeType(v)} (give each entry a convert)`,
            'map',
            { path: scope.at },
          );
        if (best === null || better(best, v)) best = v;
      }
      return best;
    };
  } else if (spec.first_of !== undefined) {
    const alternatives = spec.first_of.map((r, i) => compileRule(r, { ...inner, guarded: inner.guarded || i > 0, at: `${scope.at}.first_of[${i}]` }));
    source = (rec, up, index, ctx) => {
      for (const alt of alternatives) {
        const v = alt(rec, up, index, ctx);
        if (v !== undefined && v !== null) return v;
      }
      return null;
    };
  } else if (spec.object !== undefined) {
    const entries = Object.entries(spec.object).map(
      ([k, r]) => [k, compileRule(r as RuleSpec, { ...inner, at: `${scope.at}.object.${k}`, type: 'json', inJson: true })] as const,
    );
    source = (rec, up, index, ctx) => {
      let out: Record<string, unknown> | null = null;
      for (const [k, ev] of entries) {
        const v = ev(rec, up, index, ctx);
        if (v === undefined || v === null) continue;
        out ??= {};
        setOwn(out, k, v);
      }
      return out;
    };
  } else {
    source = compileEach(spec, inner);
  }

  source = compileTransforms(spec, scope, source, deferred, failure);
  let value = source;
  // when: the rule applies only if the condition holds
  if (spec.when !== undefined) {
    let test = compileCondition(spec.when, { ...scope, levels: scope.upConsumed.length, at: `${scope.at}.when` });
    const key = scope.consumed && scope.repeated ? conditionKey(spec.when) : null;
    if (key !== null && scope.repeated!.conditions.has(key)) test = sharedTest(scope.consumed!, key, test);
    const inner = value;
    value = (rec, up, index, ctx) => (test(rec, up, ctx) ? inner(rec, up, index, ctx) : null);
  }
  if (spec.null_if !== undefined) {
    const keys = spec.null_if.map((v) => JSON.stringify(v));
    const matches = nullIfMatcher(spec.null_if);
    const inner = value;
    value = (rec, up, index, ctx) => {
      const v = inner(rec, up, index, ctx);
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
    value = (rec, up, index, ctx) => {
      const v = inner(rec, up, index, ctx);
      if (v === null || v === undefined) return null;
      try {
        return toOutput(v);
      } catch (e) {
        if (e instanceof ConversionError) throw failure(e.code, `${scope.column}: ${e.message}`);
        throw e;
      }
    };
  } else if (scope.type === 'timestamp' && !('const' in spec) && spec.first_of === undefined && spec.min === undefined && spec.max === undefined) {
    throw invalid(scope, `column ${scope.column} is a timestamp: give convert (unix_seconds, unix_millis, iso8601 or timestamp)`);
  }

  if (spec.enum !== undefined) {
    const table = new Map(Object.entries(spec.enum));
    const fallback = 'unknown' in spec ? spec.unknown : null;
    const column = scope.column;
    const inner = value;
    value = (rec, up, index, ctx) => {
      const v = inner(rec, up, index, ctx);
      if (v === null || v === undefined) return null;
      const key = typeof v === 'string' ? v : v instanceof LosslessNumber ? comparableNumberText(v) : typeof v === 'object' ? JSON.stringify(v) : String(v);
      const mapped = table.get(key);
      if (mapped !== undefined) return mapped;
      ctx.unknownEnum(column, key);
      return fallback;
    };
  }

  if ('default' in spec) {
    const fallback = spec.default;
    const inner = value;
    value = (rec, up, index, ctx) => {
      const v = inner(rec, up, index, ctx);
      return v === null || v === undefined ? fallback : v;
    };
  }
  if (spec.required) {
    const inner = value;
    value = (rec, up, index, ctx) => {
      const v = inner(rec, up, index, ctx);
      if (v === null || v === undefined) throw failure('MAP_MISSING_FIELD', `${scope.column} is required but the record has no value`);
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
  const strings = new Set(list.filter((x) => typeof x === 'string').map(internalized));
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
  const arrayPath = parseRulePath(spec.each, { ...scope, levels: scope.upConsumed.length, at: `${scope.at}.each` });
  const get = trackedGetter(arrayPath, markConsumed(arrayPath, scope, false), scope);
  const elementConsumed = new ConsumptionScope();
  const fields = Object.entries(spec.fields!).map(([k, r]) => {
    return [
      k,
      compileRule(r as RuleSpec, {
        ...scope,
        at: `${scope.at}.fields.${k}`,
        column: `${scope.column}.${k}`,
        consumed: elementConsumed,
        upConsumed: [...scope.upConsumed, scope.consumed],
        guarded: false,
        // a field's path is read inside each element: told as a path of the rule's element (files[*].name)
        onPath: scope.onPath
          ? (p) => scope.onPath!(p.up > 0 ? { ...p, up: p.up - 1 } : { up: arrayPath.up, segments: [...arrayPath.segments, ALL, ...p.segments], text: p.text })
          : undefined,
        type: 'json',
        inJson: true,
      }),
    ] as const;
  });
  // Some vendors send one sub-record as a bare object where others send a list (Expertflow CX's body.attachment):
  // with allow_single, such an object is read as a list of one. Without it, an object there is an error.
  const allowSingle = spec.allow_single === true;
  return (rec, up, _index, ctx) => {
    let arr = get(rec, up);
    if (arr === null || arr === undefined) return null;
    const single = allowSingle && isPlainObject(arr);
    if (single) arr = [arr];
    if (!Array.isArray(arr)) {
      throw elementError(
        'MAP_INVALID_VALUE',
        `${scope.column}: expected an array, got ${typeof arr === 'object' ? 'an object' : `a ${typeof arr}`}${isPlainObject(arr) ? ' (allow_single: true reads an object as a list of one)' : ''}`,
        [arrayPath],
      );
    }
    const around = [...up, rec];
    const out: Record<string, unknown>[] = [];
    for (let i = 0; i < arr.length; i++) {
      const el = arr[i];
      const item: Record<string, unknown> = {};
      elementConsumed.reset();
      try {
        for (const [k, ev] of fields) {
          const v = ev(el, around, i, ctx);
          item[k] = v === undefined ? null : v;
        }
      } catch (e) {
        // a field's path is read inside element i: in front of it goes the array's path and i (^ is the rule's element)
        throw placeError(
          e,
          () => null,
          (p) =>
            p.up > 0
              ? { ...p, up: p.up - 1 }
              : { up: arrayPath.up, segments: single ? [...arrayPath.segments, ...p.segments] : [...arrayPath.segments, i, ...p.segments], text: p.text },
        );
      }
      item.extra = elementConsumed.rest(el);
      if (ctx.kept && item.extra)
        ctx.kept(item.extra as Record<string, unknown>, [...ctx.locationUp!(arrayPath.up), ...arrayPath.segments, ...(single ? [] : [i])]);
      out.push(item);
    }
    return out;
  };
}

/**
 * `template: "chat-{^.id}-{index}"`: text with `{path}` placeholders (and `{index}`, the element's position). Each
 * placeholder must give a string or a number; a missing one makes the whole value null, so that no half-built id
 * is ever written. `{{` and `}}` stand for literal braces.
 */
function compileTemplate(text: string, scope: RuleScope): Evaluate {
  const parts: (string | ((rec: unknown, up: Ancestors, index: number) => unknown))[] = [];
  const placeholders = new Map<unknown, ParsedPath>();
  let literal = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if ((c === '{' || c === '}') && text[i + 1] === c) {
      literal += c;
      i++;
    } else if (c === '{') {
      const close = text.indexOf('}', i);
      if (close < 0) throw invalid({ ...scope, at: `${scope.at}.template` }, 'template has a { without its }');
      const inner = text.slice(i + 1, close).trim();
      if (literal) parts.push(literal);
      literal = '';
      if (inner === 'index') parts.push((_r, _u, index) => index);
      else {
        const p = parseRulePath(inner, { ...scope, levels: scope.upConsumed.length, at: `${scope.at}.template` });
        const get = trackedGetter(p, markConsumed(p, scope, true), scope);
        const read = (rec: unknown, up: Ancestors) => get(rec, up);
        placeholders.set(read, p);
        parts.push(read);
      }
      i = close;
    } else if (c === '}') {
      throw invalid({ ...scope, at: `${scope.at}.template` }, 'template has a } without its { (write }} for a brace)');
    } else literal += c;
  }
  if (literal) parts.push(literal);
  const column = scope.column;
  return (rec, up, index) => {
    let out = '';
    for (const part of parts) {
      if (typeof part === 'string') {
        out += part;
        continue;
      }
      const v = part(rec, up, index);
      if (v === null || v === undefined) return null;
      if (typeof v === 'string') out += v;
      else if (typeof v === 'number' && Number.isFinite(v)) out += String(v);
      else if (v instanceof LosslessNumber) out += v.raw;
      else
        throw elementError(
          'MAP_INVALID_VALUE',
          `${column}: a template placeholder gives ${describeType(v)}, expected a string or a number (point it at a field inside)`,
          [placeholders.get(part)!],
        );
    }
    return out;
  };
}

/**
 * The value transforms, applied in this order to what the rule's source gave: lookup (the object of another array
 * whose key equals the value, or one of its fields), pluck (a field of every object of an array), pick (first,
 * last or length of an array), extract (a regular expression's first group). Each is bounded by its input's size
 * and none runs code: the whole language stays a set of fixed operations.
 */
function compileTransforms(
  spec: RuleSpec,
  scope: RuleScope,
  source: Evaluate,
  deferred: BranchMark[] | null,
  failure: (code: ErrorCode, message: string) => ChatportError,
): Evaluate {
  let value = source;
  const column = scope.column;
  const at = (k: string) => ({ ...scope, at: `${scope.at}.${k}` });
  if (spec.lookup !== undefined) {
    const l = spec.lookup;
    // the array looked in is a table of the record: a lookup reads one entry, so the array stays in extra
    const list = sourceGetter(parseRulePath(l.in, { ...at('lookup.in'), levels: scope.upConsumed.length }));
    const key = compileGetter(parseRulePath(l.key, { ...at('lookup.key'), levels: 0, onPath: undefined }).segments);
    const field = l.get === undefined ? null : compileGetter(parseRulePath(l.get, { ...at('lookup.get'), levels: 0, onPath: undefined }).segments);
    const inner = value;
    value = (rec, up, index, ctx) => {
      const v = inner(rec, up, index, ctx);
      if (v === null || v === undefined) return null;
      const arr = list(rec, up);
      if (!Array.isArray(arr)) return null;
      const want = scalarKey(v);
      for (const el of arr) {
        if (scalarKey(key(el)) !== want) continue;
        const found = field ? field(el) : el;
        return found === undefined ? null : found;
      }
      return null;
    };
  }
  if (spec.pluck !== undefined) {
    const get = compileGetter(parseRulePath(spec.pluck, { ...at('pluck'), levels: 0, onPath: undefined }).segments);
    const inner = value;
    value = (rec, up, index, ctx) => {
      const v = inner(rec, up, index, ctx);
      if (v === null || v === undefined) return null;
      if (!Array.isArray(v)) throw failure('MAP_INVALID_VALUE', `${column}: pluck expected an array, got ${describeType(v)}`);
      const out: unknown[] = [];
      for (const el of v) {
        const x = get(el);
        if (x !== undefined && x !== null) out.push(x);
      }
      return out;
    };
  }
  if (spec.pick !== undefined) {
    const pick = spec.pick;
    const inner = value;
    value = (rec, up, index, ctx) => {
      const v = inner(rec, up, index, ctx);
      if (v === null || v === undefined) return null;
      if (!Array.isArray(v)) throw failure('MAP_INVALID_VALUE', `${column}: pick ${pick} expected an array, got ${describeType(v)}`);
      if (pick === 'length') return v.length;
      const x = pick === 'first' ? v[0] : v[v.length - 1];
      return x === undefined ? null : x;
    };
  }
  if (spec.extract !== undefined) {
    let re: RegExp;
    try {
      re = new RegExp(String(spec.extract));
    } catch (e) {
      throw invalid(at('extract'), `bad regular expression: ${(e as Error).message}`);
    }
    if (new RegExp(`${re.source}|`).exec('')!.length < 2) throw invalid(at('extract'), 'extract needs a regular expression with a capture group: (...)');
    const marks = deferred ?? [];
    const inner = value;
    value = (rec, up, index, ctx) => {
      const v = inner(rec, up, index, ctx);
      if (typeof v !== 'string') return v === null || v === undefined ? null : v;
      const m = re.exec(v);
      if (!m || m[1] === undefined) return null; // the value stays in extra: nothing of it reached the column
      for (const mark of marks) mark.set();
      return m[1];
    };
  }
  return value;
}

/** Assigns an own property, even for keys like `__proto__`, without touching any prototype. */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}
