// Dictionary encoding of a column chunk (RLE_DICTIONARY, as DuckDB, Arrow and Spark write low-cardinality
// columns): the chunk's distinct values once in a dictionary page, then each row's index into it, in the RLE /
// bit-packed hybrid. Every physical type but BOOLEAN may take one: BYTE_ARRAY (text and JSON) and INT64 (counts,
// timestamps), under the same rule; only how a PLAIN value is delimited differs (see plainValues). Fragments are encoded apart (on worker threads), each with its own small dictionary; the writer
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

/**
 * `values[0..n)` in the RLE / bit-packed hybrid of width `bitWidth` (no length prefix): runs of 8 or more equal
 * values as RLE runs, the rest bit-packed in groups of 8 (the last group padded; the page says how many values).
 * Written straight into one typed array (it runs on the main thread for every dictionary-encoded fragment).
 */
export function encodeHybrid(values: ArrayLike<number>, n: number, bitWidth: number): Uint8Array {
  const valueBytes = Math.ceil(bitWidth / 8);
  // bit-packed runs are whole groups of 8 but the last: at most n/8 + 1 groups in all, and a header per run
  const out = new Uint8Array(Math.ceil(n / 8 + 1) * (bitWidth + valueBytes + 10) + 16);
  let p = 0;
  const varint = (x: number): void => {
    while (x >= 0x80) {
      out[p++] = (x % 0x80) | 0x80;
      x = Math.floor(x / 0x80);
    }
    out[p++] = x;
  };
  /** values[from..to) as one bit-packed run, least significant bit first. */
  const packed = (from: number, to: number): void => {
    if (to === from) return;
    const groups = Math.ceil((to - from) / 8);
    varint(groups * 2 + 1);
    const end = p + groups * bitWidth;
    let acc = 0; // below 2^40: exact as a double
    let bits = 0;
    for (let k = from; k < to; k++) {
      acc += values[k]! * 2 ** bits;
      bits += bitWidth;
      while (bits >= 8) {
        out[p++] = acc % 256;
        acc = Math.floor(acc / 256);
        bits -= 8;
      }
    }
    if (bits > 0) out[p++] = acc;
    while (p < end) out[p++] = 0;
  };
  let from = 0; // values[from..i) wait for a bit-packed run
  let i = 0;
  while (i < n) {
    let j = i + 1;
    while (j < n && values[j] === values[i]) j++;
    // a bit-packed run must hold whole groups of 8 before an RLE run may follow it
    while ((i - from) % 8 !== 0 && i < j) i++;
    if (j - i >= 8) {
      packed(from, i);
      varint((j - i) * 2);
      const v = values[i]!;
      for (let b = 0; b < valueBytes; b++) out[p++] = (v >>> (8 * b)) & 0xff;
      i = j;
      from = j;
    } else {
      i = j;
    }
  }
  packed(from, n);
  return out.subarray(0, p);
}

/**
 * The `entries` values of a PLAIN run, each as its whole PLAIN bytes: BYTE_ARRAY values with their 4-byte length
 * (`fixedWidth` undefined), fixed-width ones (INT64: 8 bytes) as they are.
 */
export function plainValues(plain: Uint8Array, entries: number, fixedWidth: number | undefined): Uint8Array[] {
  const out = new Array<Uint8Array>(entries);
  const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
  let at = 0;
  for (let e = 0; e < entries; e++) {
    const end = fixedWidth === undefined ? at + 4 + view.getUint32(at, true) : at + fixedWidth;
    out[e] = plain.subarray(at, end);
    at = end;
  }
  return out;
}

/**
 * A row group's merged dictionary: the distinct values of its fragments' dictionaries (PLAIN), in first-seen order,
 * and for each fragment the map from its indices to the merged ones.
 */
export class MergedDictionary {
  private readonly index = new Map<string, number>();
  private readonly parts: Uint8Array[] = [];
  bytes = 0;

  get entries(): number {
    return this.index.size;
  }

  /** The values' PLAIN width: 8 for INT64, undefined for length-prefixed BYTE_ARRAY values. */
  constructor(private readonly fixedWidth: number | undefined) {}

  /** Adds one fragment's PLAIN dictionary of `entries` values; returns its index map, or null past the size limit. */
  add(plain: Uint8Array, entries: number): Uint32Array | null {
    const map = new Uint32Array(entries);
    const values = plainValues(plain, entries, this.fixedWidth);
    for (let e = 0; e < entries; e++) {
      const value = values[e]!;
      const key = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1');
      let k = this.index.get(key);
      if (k === undefined) {
        k = this.index.size;
        this.index.set(key, k);
        this.parts.push(value);
        this.bytes += value.length;
        if (this.bytes > MAX_DICTIONARY_BYTES) return null;
      }
      map[e] = k;
    }
    return map;
  }

  /** The dictionary page's body (PLAIN values). */
  plain(): Uint8Array {
    return Buffer.concat(this.parts, this.bytes);
  }
}
