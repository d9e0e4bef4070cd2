// What several rules of one level compute alike for an element is computed once for it: a condition the rules repeat
// (Dashly's rules test a part's type against the same list twice and `from is object` three times) and a path several
// rules read (Dashly's read `type` eight times a part). The rules get one shared test or getter, which keeps its last
// result for the element it was computed on. That result is reused only while the level is still on that element (its
// ConsumptionScope has not been reset since) and for the very same element and ancestors, so it never outlives the
// element, whichever caller evaluates (mapRows resets the scope per element; keysOf and the removal rule do not, and
// get a fresh evaluation for each other element). Neither has side effects: a shared getter is the plain read (each
// rule still marks what it consumes itself), a condition marks and reports nothing; so one evaluation or eight give the
// same. A read through [*] builds a new array each time and is not shared, so no two columns ever hold one array.

import type { ConsumptionScope } from './consumed-tree.js';
import type { ConditionSpec } from './mapping-types.js';
import { ALL, type ParsedPath } from './paths.js';
import type { Ancestors, MapContext, Test } from './rule-scope.js';

/** What a mapping's rules repeat, counted over the whole file: conditions (as canonical text) and path texts. */
export interface RepeatedReads {
  readonly conditions: ReadonlySet<string>;
  readonly paths: ReadonlySet<string>;
}

export function repeatedReads(spec: unknown): RepeatedReads {
  const seen = { conditions: new Set<string>(), paths: new Set<string>() };
  const repeated = { conditions: new Set<string>(), paths: new Set<string>() };
  const count = (kind: 'conditions' | 'paths', key: string) => {
    if (seen[kind].has(key)) repeated[kind].add(key);
    else seen[kind].add(key);
  };
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x);
      return;
    }
    if (v === null || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if (k === 'when' && x !== null && typeof x === 'object') count('conditions', conditionKey(x as ConditionSpec));
      if ((k === 'path' || k === 'each') && typeof x === 'string') count('paths', x);
      if (k === 'path' && Array.isArray(x)) for (const p of x) if (typeof p === 'string') count('paths', p);
      walk(x);
    }
  };
  walk(spec);
  return repeated;
}

/** A condition as text that two conditions share exactly when they are the same condition (object keys sorted). */
export function conditionKey(spec: ConditionSpec): string {
  return JSON.stringify(spec, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** Shared tests and getters by what they compute, one registry per level (the scope whose elements the rules read). */
const registries = new WeakMap<ConsumptionScope, Map<string, Test | Getter>>();

function registry(level: ConsumptionScope): Map<string, Test | Getter> {
  let r = registries.get(level);
  if (!r) registries.set(level, (r = new Map()));
  return r;
}

/**
 * The test the rules of `level` use for the condition `key`: the first one compiled for it, evaluated at most once per
 * element. `test` is the rule's own compiled test (each rule still compiles its condition, so its paths are told and
 * its errors raised at its own place in the file).
 */
export function sharedTest(level: ConsumptionScope, key: string, test: Test): Test {
  const r = registry(level);
  let shared = r.get(`when ${key}`) as Test | undefined;
  if (!shared) r.set(`when ${key}`, (shared = oncePerElement(level, test)));
  return shared;
}

export type Getter = (rec: unknown, up: Ancestors) => unknown;

/** Whether a path's read can be shared: a path of the repeated ones that does not go through [*]. */
export function shareableRead(p: ParsedPath, repeated: RepeatedReads | undefined): boolean {
  return repeated !== undefined && repeated.paths.has(p.text) && !p.segments.includes(ALL);
}

/** The getter the rules of `level` use for the path `p`, read at most once per element; `get` is its plain getter. */
export function sharedGetter(level: ConsumptionScope, p: ParsedPath, get: Getter): Getter {
  const r = registry(level);
  let shared = r.get(`path ${p.text}`) as Getter | undefined;
  if (!shared) r.set(`path ${p.text}`, (shared = oncePerElement(level, get) as Getter));
  return shared;
}

type Compute<T> = (rec: unknown, up: Ancestors, ctx: MapContext) => T;

function oncePerElement<T>(level: ConsumptionScope, compute: Compute<T>): Compute<T> {
  let element = -1;
  let lastRec: unknown = undefined;
  let lastUp: Ancestors | null = null;
  let last: T | undefined = undefined;
  return (rec, up, ctx) => {
    if (element === level.element && rec === lastRec && up === lastUp) return last as T;
    last = compute(rec, up, ctx);
    element = level.element;
    lastRec = rec;
    lastUp = up;
    return last;
  };
}
