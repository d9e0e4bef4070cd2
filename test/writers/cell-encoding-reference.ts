// The encoders as they were before the per-cell speed-ups (commit fb31972), copied verbatim as references:
// cell-encoding.test.ts checks that the current src/ versions print the same bytes and throw the same errors.
// Not used by src/; do not "fix" these, they are the definition of the expected output.

import { LosslessNumber } from '../../src/json/lossless-number.js';

// ---- src/json/stable-json.ts ----

export function refStableStringify(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (value instanceof LosslessNumber) return value.raw;
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i) out += ',';
      out += refStableStringify(value[i]);
    }
    return out + ']';
  }
  let out = '{';
  let first = true;
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += JSON.stringify(key) + ':' + refStableStringify(v);
  }
  return out + '}';
}

// ---- src/writers/column-values.ts ----

/** Whether JSON.stringify prints `v` exactly as stableStringify would: only plain objects, arrays and primitives. */
function isPlainJson(v: unknown): boolean {
  if (v === null) return true;
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
      return true;
    case 'object':
      break;
    default:
      return false; // undefined, bigint, function, symbol: left to stableStringify's rules
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!isPlainJson(v[i])) return false;
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false; // LosslessNumber, Date, Map, ...: the slow path decides
  for (const k of Object.keys(v)) if (!isPlainJson((v as Record<string, unknown>)[k])) return false;
  return true;
}

/**
 * JSON text of a json-typed cell, byte-identical to stableStringify. Trees without LosslessNumbers (most rows)
 * take JSON.stringify's native path, which measured ~40% cheaper; anything else goes through stableStringify.
 */
export function refJsonText(v: unknown): string {
  return isPlainJson(v) ? JSON.stringify(v) : refStableStringify(v);
}

// ---- src/model/timestamp.ts ----

const MICROS_PER_MS = 1000;

export function refFormatMicros(micros: number): string {
  const ms = Math.floor(micros / MICROS_PER_MS);
  const subMs = micros - ms * MICROS_PER_MS;
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  if (subMs !== 0) return `${iso.slice(0, 23)}${String(subMs).padStart(3, '0')}Z`;
  if (iso.slice(20, 23) === '000') return `${iso.slice(0, 19)}Z`;
  return iso;
}

// ---- src/writers/snappy.ts ----

const MAX_BLOCK = 1 << 16;
const MAX_TABLE = 1 << 14;
/** The encoder stops looking for matches this close to a block's end, so 4- and 8-byte loads stay in bounds. */
const INPUT_MARGIN = 16 - 1;
const MIN_NON_LITERAL_BLOCK = 1 + 1 + INPUT_MARGIN;

const table = new Uint16Array(MAX_TABLE);

function load32(s: Uint8Array, i: number): number {
  return s[i]! | (s[i + 1]! << 8) | (s[i + 2]! << 16) | (s[i + 3]! << 24);
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

/** Compresses one block of at most 64 KiB starting at `start`; positions in the hash table are block-relative. */
function encodeBlock(dst: Uint8Array, d: number, input: Uint8Array, start: number, end: number): number {
  const src = input.subarray(start, end);
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
  let nextHash = Math.imul(load32(src, s), 0x1e35a7bd) >>> shift;

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
      nextHash = Math.imul(load32(src, nextS), 0x1e35a7bd) >>> shift;
      if (load32(src, s) === load32(src, candidate)) break;
    }
    d = emitLiteral(dst, d, src, nextEmit, s);
    for (;;) {
      const base = s;
      s += 4;
      for (let i = candidate + 4; s < n && src[i] === src[s]; i++, s++);
      d = emitCopy(dst, d, base - candidate, s - base);
      nextEmit = s;
      if (s >= sLimit) break outer;
      const prevHash = Math.imul(load32(src, s - 1), 0x1e35a7bd) >>> shift;
      table[prevHash & mask] = s - 1;
      const cur = load32(src, s);
      const curHash = Math.imul(cur, 0x1e35a7bd) >>> shift;
      candidate = table[curHash & mask]!;
      table[curHash & mask] = s;
      if (cur !== load32(src, candidate)) {
        nextHash = Math.imul(load32(src, s + 1), 0x1e35a7bd) >>> shift;
        s++;
        break;
      }
    }
  }
  if (nextEmit < n) d = emitLiteral(dst, d, src, nextEmit, n);
  return d;
}

/** Compresses `input` into `dst` from offset `d` and returns the end offset; `dst` must have maxCompressedLength room. */
function refSnappyCompressInto(input: Uint8Array, dst: Uint8Array, d: number): number {
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

export function refSnappyCompress(input: Uint8Array): Buffer {
  const dst = Buffer.allocUnsafe(32 + input.length + Math.floor(input.length / 6));
  return dst.subarray(0, refSnappyCompressInto(input, dst, 0));
}
