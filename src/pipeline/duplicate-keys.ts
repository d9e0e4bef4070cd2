// Finds rows whose key (e.g. conversation_id + message_id) was already seen in this run. Keys are kept as
// 64-bit fingerprints in one open-addressing table of 32-bit words: at most about 23 bytes per row (load
// kept between 0.35 and 0.7), with no per-key objects. Two different keys share a fingerprint with probability
// about n^2 / 2^65 (below one in a million at 5 million rows).

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

  append(prints: Uint32Array): void {
    const need = this.length + prints.length;
    if (need > this.words.length) {
      const next = new Uint32Array(Math.max(need, this.words.length * 2));
      next.set(this.words.subarray(0, this.length));
      this.words = next;
    }
    this.words.set(prints, this.length);
    this.length = need;
  }

  /** The words appended, in a fresh array of exactly their length. */
  take(): Uint32Array {
    return this.words.slice(0, this.length);
  }
}

/** A set of 64-bit fingerprints, each given as its two 32-bit words. */
export interface FingerprintSet {
  hasPair(h1: number, h2: number): boolean;
  addPair(h1: number, h2: number): void;
}

export class DuplicateKeys implements FingerprintSet {
  private table = new Uint32Array(1 << 16); // pairs of words; (0,0) means empty
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Remembers a fingerprint made by fingerprintInto (once). */
  addPair(h1: number, h2: number): void {
    if (this.hasPair(h1, h2)) return;
    if ((this.count + 1) * 10 > (this.table.length / 2) * 7) this.grow();
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
