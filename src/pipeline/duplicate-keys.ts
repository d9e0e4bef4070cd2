// Finds rows whose key (e.g. conversation_id + message_id) was already seen in this run. Keys are kept as
// 64-bit fingerprints in one open-addressing table of 32-bit words: at most about 23 bytes per row (load
// kept between 0.35 and 0.7), with no per-key objects. Two different keys share a fingerprint with probability
// about n^2 / 2^65 (below one in a million at 5 million rows).

import { endianness } from 'node:os';

/** Writes key's 64-bit fingerprint as two words at out[at], out[at + 1] (worker threads send fingerprints, not keys). */
export function fingerprintInto(key: string, out: Uint32Array, at: number): void {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ key.length;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  writePrint(h1, h2, out, at);
}

/**
 * The fingerprint of `parts[0] + '\u0000' + ... + parts[count - 1] + '\u0000'` (the shape of a row's key text,
 * record-errors.ts `rowKeyText`), the same words fingerprintInto gives for that text, without building it: the hot
 * path takes one per keyed row, and the joined text was a new string to allocate and flatten for each.
 */
export function fingerprintPartsInto(parts: readonly string[], count: number, out: Uint32Array, at: number): void {
  let length = count;
  for (let p = 0; p < count; p++) length += parts[p]!.length;
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ length;
  for (let p = 0; p < count; p++) {
    const part = parts[p]!;
    for (let i = 0; i < part.length; i++) {
      const c = part.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    // the separator, a 0 character
    h1 = Math.imul(h1, 0x01000193);
    h2 = Math.imul(h2, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  writePrint(h1, h2, out, at);
}

function writePrint(h1: number, h2: number, out: Uint32Array, at: number): void {
  h1 >>>= 0;
  h2 >>>= 0;
  if (h1 === 0 && h2 === 0) h2 = 1; // (0, 0) marks an empty slot
  out[at] = h1;
  out[at + 1] = h2;
}

/** Fingerprints appended in turn (a segment's keys), in one growing array of words. */
export class PrintList {
  private words = new Uint32Array(1024);
  private length = 0;

  /** Words appended so far (two a fingerprint). */
  get size(): number {
    return this.length;
  }

  /** Appends the fingerprint of a key given as its parts (fingerprintPartsInto). */
  appendParts(parts: readonly string[], count: number): void {
    this.ensure(2);
    fingerprintPartsInto(parts, count, this.words, this.length);
    this.length += 2;
  }

  /** Whether `set` holds any fingerprint appended since word `from`. */
  anyIn(set: FingerprintSet, from: number): boolean {
    for (let k = from; k < this.length; k += 2) if (set.hasPair(this.words[k]!, this.words[k + 1]!)) return true;
    return false;
  }

  /** The words appended since word `from`, copied out, and the list cut back to `from`. */
  cut(from: number): Uint32Array {
    const out = this.words.slice(from, this.length);
    this.length = from;
    return out;
  }

  /** The words appended, in a fresh array of exactly their length. */
  take(): Uint32Array {
    return this.words.slice(0, this.length);
  }

  private ensure(more: number): void {
    const need = this.length + more;
    if (need <= this.words.length) return;
    const next = new Uint32Array(Math.max(need, this.words.length * 2));
    next.set(this.words.subarray(0, this.length));
    this.words = next;
  }
}

/** A set of 64-bit fingerprints, each given as its two 32-bit words. */
export interface FingerprintSet {
  hasPair(h1: number, h2: number): boolean;
  addPair(h1: number, h2: number): void;
}

export class DuplicateKeys implements FingerprintSet {
  private table: Uint32Array; // pairs of words; (0,0) means empty
  private count = 0;

  /**
   * `capacity`: fingerprints the table holds before it first grows (at most 7 in 10 slots used). A set that will
   * hold many from the start (the run's written keys) takes its whole table at once: growing by doubling frees
   * blocks of 0.5 to 8 MB on the way, and glibc raises its mmap and trim thresholds after each such free, which left
   * the heap holding freed memory that grew with the length of a run (docs/performance.md, round 7).
   */
  constructor(capacity = 0) {
    let slots = 1 << 15;
    while (overLoaded(capacity, slots)) slots *= 2;
    this.table = new Uint32Array(slots * 2);
  }

  get size(): number {
    return this.count;
  }

  /** Slots of the table (two words each), for tests. */
  get slots(): number {
    return this.table.length / 2;
  }

  /** Remembers a fingerprint made by fingerprintInto (once). */
  addPair(h1: number, h2: number): void {
    if (this.hasPair(h1, h2)) return;
    if (overLoaded(this.count + 1, this.table.length / 2)) this.grow();
    this.insert(h1, h2);
    this.count++;
  }

  /** Whether a fingerprint made by fingerprintInto was seen. */
  hasPair(h1: number, h2: number): boolean {
    const t = this.table;
    const mask = t.length / 2 - 1;
    for (let slot = (h1 ^ Math.imul(h2, 31)) & mask; ; slot = (slot + 1) & mask) {
      const a = t[slot * 2]!;
      const b = t[slot * 2 + 1]!;
      if (a === 0 && b === 0) return false;
      if (a === h1 && b === h2) return true;
    }
  }

  /** Calls `fn` with each fingerprint held, in no particular order. */
  forEachPair(fn: (h1: number, h2: number) => void): void {
    const t = this.table;
    for (let i = 0; i < t.length; i += 2) if (t[i] !== 0 || t[i + 1] !== 0) fn(t[i]!, t[i + 1]!);
  }

  /** The fingerprints as flat word pairs (to send to worker threads). */
  toPairs(): Uint32Array {
    const out = new Uint32Array(this.count * 2);
    let at = 0;
    this.forEachPair((h1, h2) => {
      out[at++] = h1;
      out[at++] = h2;
    });
    return out;
  }

  /**
   * Empties the set through `write`, which gets what it held as sorted 64-bit keys (h1 << 32 | h2) in the table's own
   * memory: the written keys spill a full table (16 MB) without a second copy of its keys beside it. The set then
   * goes on, empty, in the same memory (cleared), so a spilling run keeps one table for its whole length. On a
   * big-endian machine (where the words would pair the other way round) the keys are copied.
   */
  spillSorted(write: (keys: BigUint64Array) => void): void {
    const t = this.table;
    this.count = 0;
    try {
      write(sortedKeysIn(t));
    } finally {
      t.fill(0);
    }
  }

  static fromPairs(pairs: Uint32Array): DuplicateKeys {
    const set = new DuplicateKeys();
    for (let k = 0; k < pairs.length; k += 2) set.addPair(pairs[k]!, pairs[k + 1]!);
    return set;
  }

  private insert(h1: number, h2: number): void {
    const t = this.table;
    const mask = t.length / 2 - 1;
    let slot = (h1 ^ Math.imul(h2, 31)) & mask;
    while (t[slot * 2] !== 0 || t[slot * 2 + 1] !== 0) slot = (slot + 1) & mask;
    t[slot * 2] = h1;
    t[slot * 2 + 1] = h2;
  }

  private grow(): void {
    const old = this.table;
    this.table = new Uint32Array(old.length * 2);
    for (let i = 0; i < old.length; i += 2) if (old[i] !== 0 || old[i + 1] !== 0) this.insert(old[i]!, old[i + 1]!);
  }
}

/** Whether `keys` fingerprints would fill more than 7 in 10 of `slots` slots (the table then grows). */
function overLoaded(keys: number, slots: number): boolean {
  return keys * 10 > slots * 7;
}

/** The keys held in table `t` as sorted 64-bit keys, in t's own memory on a little-endian machine (t is then spent). */
function sortedKeysIn(t: Uint32Array): BigUint64Array {
  if (endianness() !== 'LE') {
    const keys: bigint[] = [];
    for (let i = 0; i < t.length; i += 2) if (t[i] !== 0 || t[i + 1] !== 0) keys.push((BigInt(t[i]!) << 32n) | BigInt(t[i + 1]!));
    return BigUint64Array.from(keys).sort();
  }
  // compact the held pairs to the front, high word second: a little-endian 64-bit view then reads h1 << 32 | h2.
  // The write position never passes the read position, so each pair is read before it could be overwritten.
  let at = 0;
  for (let i = 0; i < t.length; i += 2) {
    const h1 = t[i]!;
    const h2 = t[i + 1]!;
    if (h1 === 0 && h2 === 0) continue;
    t[at++] = h2;
    t[at++] = h1;
  }
  // a typed array without a comparator is sorted in place (V8 copies only a shared buffer); the length is the pairs
  // moved, not the count, so that nothing but held keys is ever read
  return new BigUint64Array(t.buffer, t.byteOffset, at >>> 1).sort();
}
