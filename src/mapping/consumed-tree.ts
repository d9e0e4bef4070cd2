// What a record's rules used, as a tree of source paths; `rest(value)` is everything else, which goes to the `extra`
// column so that no vendor field is dropped silently. Reading `from.id` consumes only `id` inside `from`: the rest of
// `from` stays in extra. A path read through a scalar conversion (id, text, timestamp...) consumes the value only
// when it is a scalar: if the vendor sent an object there instead, the object stays in extra. A null where rules read
// inside (`from: null` for `from.id`) is consumed too. Arrays are never split between columns and extra: an array
// leaves extra only when every one of its elements is consumed (`a[0]` and `a[1]` of a two-element array, `a[*].b`
// of elements that hold only `b`); otherwise it stays in extra whole, as the vendor sent it.
//
// What counts as consumed is decided per record (ConsumptionScope): a path read under a rule's `when`, or in a
// first_of branch after the first, is consumed only on the records where that branch was evaluated.

import { ALL, type PathStep } from './paths.js';
import { LosslessNumber } from '../json/lossless-number.js';

interface Entry {
  whole: boolean;
  scalar: boolean;
  /** Only a null here is consumed (a path some branch reads, on an element where that branch did not run). */
  nulls: boolean;
  children: Map<string, Entry> | null;
  items: Map<number, Entry> | null;
  every: Entry | null;
}

const newEntry = (): Entry => ({ whole: false, scalar: false, nulls: false, children: null, items: null, every: null });
const NOTHING: unique symbol = Symbol('nothing left');

export class ConsumedTree {
  private readonly root = new Map<string, Entry>();

  /** `mode`: the whole value is consumed, only a scalar there, or only a null there. */
  mark(segments: readonly PathStep[], scalarOnly = false, mode: 'value' | 'null' = 'value'): void {
    const first = segments[0];
    if (typeof first !== 'string') return; // records are objects: an index at the top consumes nothing
    let entry = this.root.get(first);
    if (!entry) this.root.set(first, (entry = newEntry()));
    for (let i = 1; i <= segments.length; i++) {
      if (entry.whole) return;
      if (i === segments.length) {
        if (mode === 'null') entry.nulls = true;
        else if (scalarOnly) entry.scalar = true;
        else entry.whole = true;
        return;
      }
      const s = segments[i]!;
      let next: Entry | undefined;
      if (s === ALL) next = entry.every ??= newEntry();
      else if (typeof s === 'number') {
        entry.items ??= new Map();
        next = entry.items.get(s);
        if (!next) entry.items.set(s, (next = newEntry()));
      } else {
        entry.children ??= new Map();
        next = entry.children.get(s);
        if (!next) entry.children.set(s, (next = newEntry()));
      }
      entry = next;
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

/** One mark of a scope: a path, whether only a scalar there is consumed, and the bit of its branch (0: always). */
interface Mark {
  readonly segments: readonly PathStep[];
  readonly scalarOnly: boolean;
  readonly bit: number;
}

/** Conditional marks beyond this many are not cached by mask: the tree is built for each element that needs it. */
const MASK_BITS = 30;

/**
 * Says that one guarded branch was evaluated on the current element of its scope: sets the branch's bit in the
 * scope's mask (or lists it, past MASK_BITS). Getters read `scope` and `bit` to set the bit inline, without a call.
 */
export class BranchMark {
  /** The branch's bit in `scope.mask`; 0 when the branch is numbered past MASK_BITS. */
  readonly bit: number;
  constructor(
    readonly scope: ConsumptionScope,
    private readonly n: number,
  ) {
    this.bit = n <= MASK_BITS ? 1 << (n - 1) : 0;
  }

  set(): void {
    if (this.bit !== 0) this.scope.mask |= this.bit;
    else this.scope.addOverflow(this.n);
  }
}

/**
 * The consumption of one level of a record (the record itself, a for_each element, an `each` element): marks that
 * always apply, and marks of branches that apply only when evaluated. The mapper sets `mask` to 0 before the level's
 * rules run on an element, the rules set the bits of the branches they evaluate, and `rest` then subtracts exactly
 * what this element's rules read. Trees are cached by mask, so a record pays one lookup, not a tree.
 */
export class ConsumptionScope {
  private readonly marks: Mark[] = [];
  private conditionals = 0;
  private readonly trees = new Map<number, ConsumedTree>();
  /** Bits of the branches evaluated on the current element; beyond MASK_BITS, the list in `overflow`. */
  mask = 0;
  /**
   * Counts the elements the level's rules have started on (each reset): what a rule computed for one element is
   * known to belong to it (once-per-element.ts) while this number is unchanged.
   */
  element = 0;
  private overflow: number[] = [];
  private lastMask = 0;
  private lastTree: ConsumedTree | null = null;

  /** Registers a path the scope's rules read; returns the mark that says "this branch was evaluated", or null. */
  track(segments: readonly PathStep[], scalarOnly: boolean, conditional: boolean): BranchMark | null {
    if (!conditional) {
      this.marks.push({ segments, scalarOnly, bit: 0 });
      this.trees.clear();
      this.lastTree = null;
      return null;
    }
    const n = ++this.conditionals;
    this.marks.push({ segments, scalarOnly, bit: n });
    this.trees.clear();
    this.lastTree = null;
    return new BranchMark(this, n);
  }

  /** Lists a branch evaluated on the current element whose number is past MASK_BITS. */
  addOverflow(n: number): void {
    this.overflow.push(n);
  }

  /** Starts a new element: no branch evaluated yet. */
  reset(): void {
    this.mask = 0;
    // kept a small integer (V8 stores it unboxed); a wrapped count is harmless, once-per-element.ts also compares
    // the element itself
    this.element = (this.element + 1) & 0x3fffffff;
    if (this.overflow.length) this.overflow = [];
  }

  rest(value: unknown): Record<string, unknown> | null {
    return this.tree().rest(value);
  }

  /** The tree of the current element's mask. */
  tree(): ConsumedTree {
    if (this.overflow.length) return this.build((bit) => (bit <= MASK_BITS ? (this.mask & (1 << (bit - 1))) !== 0 : this.overflow.includes(bit)));
    // most elements have the mask of the one before: that tree is at hand without a lookup
    if (this.mask === this.lastMask && this.lastTree !== null) return this.lastTree;
    let t = this.trees.get(this.mask);
    if (!t) {
      const mask = this.mask;
      t = this.build((bit) => bit <= MASK_BITS && (mask & (1 << (bit - 1))) !== 0);
      this.trees.set(mask, t);
    }
    this.lastMask = this.mask;
    this.lastTree = t;
    return t;
  }

  private build(applies: (bit: number) => boolean): ConsumedTree {
    const t = new ConsumedTree();
    // a branch that did not run still consumes a null at its path: a null carries nothing to lose, and a path that
    // some branch reads is known to the mapping (`audience: null` when the rules read audience or audience.id)
    for (const m of this.marks) t.mark(m.segments, m.scalarOnly, m.bit === 0 || applies(m.bit) ? 'value' : 'null');
    return t;
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
  const kept = entry ? restValue(v, entry) : v;
  if (kept === NOTHING) return out;
  out ??= {};
  if (key === '__proto__') Object.defineProperty(out, key, { value: kept, enumerable: true, writable: true, configurable: true });
  else out[key] = kept;
  return out;
}

function restValue(v: unknown, entry: Entry): unknown {
  if (entry.whole) return NOTHING;
  if (isScalar(v)) {
    if (entry.scalar || (v === null && entry.nulls)) return NOTHING;
    // null where rules read inside it (`assignee: null` for a rule on assignee.id): there is nothing inside to keep,
    // and the rule already gave null
    if (v === null && (entry.children || entry.items || entry.every)) return NOTHING;
    return v;
  }
  if (Array.isArray(v)) {
    if (!entry.items && !entry.every) return v;
    for (let i = 0; i < v.length; i++) {
      const item = entry.items?.get(i);
      let left: unknown = v[i];
      if (item) left = restValue(left, item);
      if (left !== NOTHING && entry.every) left = restValue(left, entry.every);
      if (left !== NOTHING && (item || entry.every)) return v;
      if (!item && !entry.every) return v;
    }
    return NOTHING;
  }
  if (entry.children) {
    const r = restOf(v, entry.children);
    return r === null ? NOTHING : r;
  }
  return v;
}
