// Dictionary encoding of a column chunk (RLE_DICTIONARY, as DuckDB, Arrow and Spark write low-cardinality
// columns): the chunk's distinct values once in a dictionary page, then each row's index into it, in the RLE /
// bit-packed hybrid. Fragments are encoded apart (on worker threads), each with its own small dictionary; the writer
// merges a row group's dictionaries into one, as Parquet allows a single dictionary page per column chunk, and
// falls back to PLAIN pages when the merged dictionary grows too large to pay.

/** A merged dictionary larger than this (PLAIN bytes) is not worth it: the chunk falls back to PLAIN pages. */
export const MAX_DICTIONARY_BYTES = 1 << 20;
/** A fragment stops collecting its dictionary past this many distinct values. */
export const MAX_FRAGMENT_ENTRIES = 1 << 14;

/** Bits needed for indices below `entries` (at least 1). */
export function bitWidthFor(entries: number): number {
  let w = 1;
  while (entries - 1 >= 2 ** w) w++;
  return w;
}

function varint(out: number[], n: number): void {
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

/**
 * `values[0..n)` in the RLE / bit-packed hybrid of width `bitWidth` (no length prefix): runs of 8 or more equal
 * values as RLE runs, the rest bit-packed in groups of 8 (the last group padded; the page says how many values).
 */
export function encodeHybrid(values: ArrayLike<number>, n: number, bitWidth: number): Uint8Array {
  const out: number[] = [];
  const valueBytes = Math.ceil(bitWidth / 8);
  let pending: number[] = [];
  const flushPacked = (): void => {
    if (pending.length === 0) return;
    const groups = Math.ceil(pending.length / 8);
    varint(out, groups * 2 + 1);
    const bytes = new Uint8Array(groups * bitWidth);
    let bit = 0;
    for (const v of pending) {
      for (let b = 0; b < bitWidth; b++, bit++) if ((v >>> b) & 1) bytes[bit >>> 3]! |= 1 << (bit & 7);
    }
    for (const b of bytes) out.push(b);
    pending = [];
  };
  let i = 0;
  while (i < n) {
    let j = i + 1;
    while (j < n && values[j] === values[i]) j++;
    // a bit-packed run must hold whole groups of 8 before an RLE run may follow it
    while (pending.length % 8 !== 0 && i < j) pending.push(values[i++]!);
    if (j - i >= 8) {
      flushPacked();
      varint(out, (j - i) * 2);
      const v = values[i]!;
      for (let b = 0; b < valueBytes; b++) out.push((v >>> (8 * b)) & 0xff);
      i = j;
    } else {
      while (i < j) pending.push(values[i++]!);
    }
  }
  flushPacked();
  return Uint8Array.from(out);
}

/**
 * A row group's merged dictionary: the distinct values of its fragments' dictionaries (PLAIN: 4-byte length and
 * bytes each), in first-seen order, and for each fragment the map from its indices to the merged ones.
 */
export class MergedDictionary {
  private readonly index = new Map<string, number>();
  private readonly parts: Uint8Array[] = [];
  bytes = 0;

  get entries(): number {
    return this.index.size;
  }

  /** Adds one fragment's PLAIN dictionary of `entries` values; returns its index map, or null past the size limit. */
  add(plain: Uint8Array, entries: number): Uint32Array | null {
    const map = new Uint32Array(entries);
    const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
    let at = 0;
    for (let e = 0; e < entries; e++) {
      const len = view.getUint32(at, true);
      const value = plain.subarray(at, at + 4 + len);
      const key = Buffer.from(value.buffer, value.byteOffset + 4, len).toString('latin1');
      let k = this.index.get(key);
      if (k === undefined) {
        k = this.index.size;
        this.index.set(key, k);
        this.parts.push(value);
        this.bytes += value.length;
        if (this.bytes > MAX_DICTIONARY_BYTES) return null;
      }
      map[e] = k;
      at += 4 + len;
    }
    return map;
  }

  /** The dictionary page's body (PLAIN values). */
  plain(): Uint8Array {
    return Buffer.concat(this.parts, this.bytes);
  }
}
