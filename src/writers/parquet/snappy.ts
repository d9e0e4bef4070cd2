// Snappy block compression (the raw format Parquet's SNAPPY codec means, no framing), ported from the reference
// Go encoder's portable path. Written here rather than taken as a dependency: it is ~150 lines, and the npm
// packages for it are either native builds or unmaintained. Only compression is needed; readers bring their own.

const MAX_BLOCK = 1 << 16;
const MAX_TABLE = 1 << 14;
/** The encoder stops looking for matches this close to a block's end, so 4- and 8-byte loads stay in bounds. */
const INPUT_MARGIN = 16 - 1;
const MIN_NON_LITERAL_BLOCK = 1 + 1 + INPUT_MARGIN;

const table = new Uint16Array(MAX_TABLE);
/** Literals up to this many bytes are copied byte by byte (median literal in Parquet pages: 3 bytes). */
const SHORT_LITERAL = 32;

/** Worst-case compressed size for `n` input bytes (from the format description). */
export function maxCompressedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

function emitLiteral(dst: Uint8Array, d: number, src: Uint8Array, from: number, to: number): number {
  const n = to - from - 1;
  if (n < 60) dst[d++] = n << 2;
  else if (n < 1 << 8) {
    dst[d++] = 60 << 2;
    dst[d++] = n;
  } else if (n < 1 << 16) {
    dst[d++] = 61 << 2;
    dst[d++] = n & 0xff;
    dst[d++] = n >>> 8;
  } else {
    // blocks are at most 64 KiB, so three length bytes always suffice
    dst[d++] = 62 << 2;
    dst[d++] = n & 0xff;
    dst[d++] = (n >>> 8) & 0xff;
    dst[d++] = n >>> 16;
  }
  if (to - from <= SHORT_LITERAL) {
    // most literals are a few bytes between copies: a loop beats creating a subarray view for dst.set
    for (let i = from; i < to; i++) dst[d++] = src[i]!;
    return d;
  }
  dst.set(src.subarray(from, to), d);
  return d + (to - from);
}

function emitCopy(dst: Uint8Array, d: number, offset: number, length: number): number {
  while (length >= 68) {
    dst[d++] = (63 << 2) | 2; // copy, 2-byte offset, length 64
    dst[d++] = offset & 0xff;
    dst[d++] = offset >>> 8;
    length -= 64;
  }
  if (length > 64) {
    dst[d++] = (59 << 2) | 2; // length 60, so that at least 4 remain for the last copy
    dst[d++] = offset & 0xff;
    dst[d++] = offset >>> 8;
    length -= 60;
  }
  if (length >= 12 || offset >= 2048) {
    dst[d++] = ((length - 1) << 2) | 2;
    dst[d++] = offset & 0xff;
    dst[d++] = offset >>> 8;
    return d;
  }
  dst[d++] = ((offset >>> 8) << 5) | ((length - 4) << 2) | 1;
  dst[d++] = offset & 0xff;
  return d;
}

/**
 * End of the match that continues at `s` what starts at `i` (< s): compares four bytes at a time while they fit,
 * the first differing byte found from the lowest set bit of their XOR (loads are little-endian), then byte by byte.
 */
function matchEnd(view: DataView, src: Uint8Array, i: number, s: number, n: number): number {
  while (s + 4 <= n) {
    const diff = view.getUint32(i, true) ^ view.getUint32(s, true);
    if (diff !== 0) return s + ((31 - Math.clz32(diff & -diff)) >>> 3);
    i += 4;
    s += 4;
  }
  for (; s < n && src[i] === src[s]; i++, s++);
  return s;
}

/** Compresses one block of at most 64 KiB starting at `start`; positions in the hash table are block-relative. */
function encodeBlock(dst: Uint8Array, d: number, input: Uint8Array, start: number, end: number): number {
  const src = input.subarray(start, end);
  // 4-byte little-endian loads through a DataView compile to one load each, where assembling them from four
  // byte reads measured ~25% slower for the whole encoder; getUint32 is unsigned, which hashing (Math.imul) and
  // equality tests do not notice
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const n = src.length;
  let shift = 32 - 8;
  let tableSize = 1 << 8;
  while (tableSize < MAX_TABLE && tableSize < n) {
    tableSize *= 2;
    shift--;
  }
  const mask = tableSize - 1;
  table.fill(0, 0, tableSize);
  const sLimit = n - INPUT_MARGIN;
  let nextEmit = 0;
  let s = 1;
  let nextHash = Math.imul(view.getUint32(s, true), 0x1e35a7bd) >>> shift;

  outer: for (;;) {
    let skip = 32;
    let nextS = s;
    let candidate = 0;
    for (;;) {
      s = nextS;
      const step = skip >>> 5;
      nextS = s + step;
      skip += step;
      if (nextS > sLimit) break outer;
      candidate = table[nextHash & mask]!;
      table[nextHash & mask] = s;
      nextHash = Math.imul(view.getUint32(nextS, true), 0x1e35a7bd) >>> shift;
      if (view.getUint32(s, true) === view.getUint32(candidate, true)) break;
    }
    d = emitLiteral(dst, d, src, nextEmit, s);
    for (;;) {
      const base = s;
      s += 4;
      s = matchEnd(view, src, candidate + 4, s, n);
      d = emitCopy(dst, d, base - candidate, s - base);
      nextEmit = s;
      if (s >= sLimit) break outer;
      const prevHash = Math.imul(view.getUint32(s - 1, true), 0x1e35a7bd) >>> shift;
      table[prevHash & mask] = s - 1;
      const cur = view.getUint32(s, true);
      const curHash = Math.imul(cur, 0x1e35a7bd) >>> shift;
      candidate = table[curHash & mask]!;
      table[curHash & mask] = s;
      if (cur !== view.getUint32(candidate, true)) {
        nextHash = Math.imul(view.getUint32(s + 1, true), 0x1e35a7bd) >>> shift;
        s++;
        break;
      }
    }
  }
  if (nextEmit < n) d = emitLiteral(dst, d, src, nextEmit, n);
  return d;
}

/** Compresses `input` into `dst` from offset `d` and returns the end offset; `dst` must have maxCompressedLength room. */
export function snappyCompressInto(input: Uint8Array, dst: Uint8Array, d: number): number {
  // preamble: uncompressed length as a varint
  let len = input.length;
  while (len >= 0x80) {
    dst[d++] = (len & 0x7f) | 0x80;
    len >>>= 7;
  }
  dst[d++] = len;
  for (let p = 0; p < input.length; p += MAX_BLOCK) {
    const end = Math.min(p + MAX_BLOCK, input.length);
    d = end - p < MIN_NON_LITERAL_BLOCK ? emitLiteral(dst, d, input, p, end) : encodeBlock(dst, d, input, p, end);
  }
  return d;
}

export function snappyCompress(input: Uint8Array): Buffer {
  const dst = Buffer.allocUnsafe(maxCompressedLength(input.length));
  return dst.subarray(0, snappyCompressInto(input, dst, 0));
}
