// Redaction follows the data, not the table: when a row source marks one element of a record removed (an Intercom
// part with `redacted: true`), its content must reach no output anywhere, not only not its own row. Copies of it may
// sit in other rows: a conversations column that reads `source.body`, the record's `extra` that a removed `source`
// would otherwise fall into, an enclosing level's rest. So the record itself is cut down before it is mapped again:
// each removed element keeps only what its own row keeps on redaction (the paths read by its source's columns that
// survive redaction, as scalars) and what its removed_when reads; everything else of it is gone from the record that
// every rule, every `extra` and every aggregate then reads. The element's row is still redacted by redact.ts.

import type { RemovedElement } from '../mapping/compile-mapping.js';
import { ALL, type PathStep, type Segment } from '../mapping/paths.js';
import { LosslessNumber } from '../json/lossless-number.js';
import { keptOnRedaction } from './redact.js';

interface Keep {
  leaf: boolean;
  children: Map<string, Keep> | null;
  items: Map<number, Keep> | null;
  every: Keep | null;
}

const newKeep = (): Keep => ({ leaf: false, children: null, items: null, every: null });

/** The record with every removed element reduced to what survives its redaction; the input is not modified. */
export function withoutRemovedContent(record: Record<string, unknown>, removed: readonly RemovedElement[]): Record<string, unknown> {
  let out: Record<string, unknown> = record;
  for (const { location, source } of removed) {
    const keep = newKeep();
    const kept = keptOnRedaction(source.table.def);
    for (const [column, paths] of source.columnPaths) if (kept.has(column)) for (const p of paths) addPath(keep, p);
    for (const p of source.removedWhenPaths) addPath(keep, p);
    out = replaceAt(out, location, 0, (el) => pick(el, keep)) as Record<string, unknown>;
  }
  return out;
}

function addPath(node: Keep, path: readonly PathStep[]): void {
  let n = node;
  for (const s of path) {
    if (s === ALL) n = n.every ??= newKeep();
    else if (typeof s === 'number') {
      n.items ??= new Map();
      let next = n.items.get(s);
      if (!next) n.items.set(s, (next = newKeep()));
      n = next;
    } else {
      n.children ??= new Map();
      let next = n.children.get(s);
      if (!next) n.children.set(s, (next = newKeep()));
      n = next;
    }
  }
  n.leaf = true;
}

const isScalar = (v: unknown) => v === null || typeof v !== 'object' || v instanceof LosslessNumber;

/** What of `v` the keep tree names: scalars at its leaves, containers only as far as they lead to one. */
function pick(v: unknown, keep: Keep): unknown {
  if (keep.leaf && isScalar(v)) return v;
  if (v === null || typeof v !== 'object' || v instanceof LosslessNumber) return undefined;
  if (Array.isArray(v)) {
    if (!keep.items && !keep.every) return undefined;
    return v.map((el, i) => {
      const item = keep.items?.get(i);
      const a = item ? pick(el, item) : undefined;
      const b = keep.every ? pick(el, keep.every) : undefined;
      return mergePicked(a, b) ?? null;
    });
  }
  if (!keep.children) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, sub] of keep.children) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
    const x = pick((v as Record<string, unknown>)[k], sub);
    if (x !== undefined) Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function mergePicked(a: unknown, b: unknown): unknown {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) return { ...a, ...b };
  return a;
}

/** A copy of `host` with the value at `location` replaced, copying only the containers on the way. */
function replaceAt(host: unknown, location: readonly Segment[], at: number, replace: (v: unknown) => unknown): unknown {
  if (at === location.length) return replace(host);
  const step = location[at]!;
  if (typeof step === 'number') {
    if (!Array.isArray(host)) return host;
    const copy = host.slice();
    copy[step] = replaceAt(host[step], location, at + 1, replace);
    return copy;
  }
  if (host === null || typeof host !== 'object' || Array.isArray(host) || !Object.prototype.hasOwnProperty.call(host, step)) return host;
  const copy: Record<string, unknown> = {};
  for (const k of Object.keys(host)) {
    const v = k === step ? replaceAt((host as Record<string, unknown>)[k], location, at + 1, replace) : (host as Record<string, unknown>)[k];
    Object.defineProperty(copy, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}
