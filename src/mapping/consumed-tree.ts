// Which source paths the mapping placed in columns, as a tree; `rest(record)` is everything else, which goes
// to the `extra` column so that no vendor field is dropped silently. Reading `from.id` consumes only `id`
// inside `from`: the rest of `from` stays in extra. A path read through a scalar conversion (id, text,
// timestamp...) consumes the value only when it is a scalar: if the vendor sent an object there instead,
// the object stays in extra. A null where rules read inside (`from: null` for `from.id`) is consumed too.

import type { Segment } from './paths.js';
import { LosslessNumber } from '../json/lossless-number.js';

interface Entry {
  whole: boolean;
  scalar: boolean;
  children: Map<string, Entry> | null;
}

export class ConsumedTree {
  private readonly root = new Map<string, Entry>();

  mark(segments: readonly Segment[], scalarOnly = false): void {
    let node = this.root;
    for (let i = 0; i < segments.length; i++) {
      const s = segments[i]!;
      if (typeof s === 'number') return; // records are objects; an index at the top consumes nothing
      let entry = node.get(s);
      if (!entry) {
        entry = { whole: false, scalar: false, children: null };
        node.set(s, entry);
      }
      if (entry.whole) return;
      const last = i === segments.length - 1;
      // a path into an array element consumes the whole array: arrays are not split between columns and extra
      if (!last && typeof segments[i + 1] === 'number') {
        entry.whole = true;
        return;
      }
      if (last) {
        if (scalarOnly) entry.scalar = true;
        else entry.whole = true;
        return;
      }
      entry.children ??= new Map();
      node = entry.children;
    }
  }

  /** The value minus consumed paths; null when nothing is left. */
  rest(value: unknown): Record<string, unknown> | null {
    return restOf(value, this.root);
  }

  /** Top-level keys that some rule reads (for validate reports). */
  topKeys(): string[] {
    return [...this.root.keys()];
  }
}

function isScalar(v: unknown): boolean {
  return v === null || typeof v !== 'object' || v instanceof LosslessNumber;
}

function restOf(value: unknown, node: Map<string, Entry>): Record<string, unknown> | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const obj = value as Record<string, unknown>;
  let out: Record<string, unknown> | null = null;
  // for-in reads each value through the object's enum cache (Object.keys plus obj[key] measured slower); it also
  // lists inherited enumerable keys, which only an object with another prototype than Object's can have
  const proto: unknown = Object.getPrototypeOf(obj);
  if (proto === Object.prototype || proto === null) {
    for (const key in obj) out = keep(out, key, obj[key], node);
  } else {
    for (const key of Object.keys(obj)) out = keep(out, key, obj[key], node);
  }
  return out;
}

/** Adds `key` to the rest unless rules consumed it; returns the rest, created on the first key kept. */
function keep(out: Record<string, unknown> | null, key: string, v: unknown, node: Map<string, Entry>): Record<string, unknown> | null {
  const entry = node.get(key);
  let kept: unknown = v;
  if (entry) {
    if (entry.whole) return out;
    if (isScalar(v)) {
      if (entry.scalar) return out;
      // null where rules read fields inside it (`assignee: null` for a rule on assignee.id): there is nothing
      // inside to keep, and the rule already gave null
      if (v === null && entry.children) return out;
    } else if (entry.children && !Array.isArray(v)) {
      kept = restOf(v, entry.children);
      if (kept === null) return out;
    }
  }
  out ??= {};
  if (key === '__proto__') Object.defineProperty(out, key, { value: kept, enumerable: true, writable: true, configurable: true });
  else out[key] = kept;
  return out;
}
