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

export class DuplicateKeys {
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
