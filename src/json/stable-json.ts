// JSON text for nested values in outputs: keys in the order the vendor sent them, LosslessNumbers as their
// exact source digits, no whitespace. Same value, same bytes.
//
// Written as one walk that prints everything itself, JSON.stringify only for what needs escaping: this measured
// ~40% cheaper than recursing through JSON.stringify for every key and leaf, and cheaper than JSON.stringify's
// own native walk on trees without LosslessNumbers. Output is byte-identical to `JSON.stringify`'s per leaf.

import { LosslessNumber } from './lossless-number.js';

/**
 * Length of the longest prefix of s[from..] that JSON.stringify copies as it is: no quote, backslash, control
 * character or lone surrogate (paired surrogates and other non-ASCII characters are printed as they are).
 */
export function plainUntil(s: string, from: number): number {
  const n = s.length;
  for (let i = from; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c) return i;
    if (c >= 0xd800 && c <= 0xdfff) {
      if (c >= 0xdc00) return i; // a low surrogate without a high one before it
      const next = s.charCodeAt(i + 1); // NaN past the end
      if (!(next >= 0xdc00 && next <= 0xdfff)) return i;
      i++;
    }
  }
  return n;
}

/**
 * JSON.stringify(s), byte for byte. Most strings need no escape, and quoting them here measured cheaper than the
 * JSON.stringify call; otherwise JSON.stringify prints the rest from the first escape on (the prefix never ends
 * inside a surrogate pair, so the split does not change how anything is escaped).
 */
function quote(s: string): string {
  const plain = plainUntil(s, 0);
  if (plain === s.length) return '"' + s + '"';
  if (plain === 0) return JSON.stringify(s);
  return '"' + s.slice(0, plain) + JSON.stringify(s.slice(plain)).slice(1);
}

/** Quoted keys: a few dozen key names make up nearly every object a vendor sends. Bounded, short keys only. */
const quotedKeys = new Map<string, string>();
const MAX_CACHED_KEYS = 4096;
const MAX_CACHED_KEY_LENGTH = 64;

function quoteKey(key: string): string {
  let q = quotedKeys.get(key);
  if (q === undefined) {
    q = quote(key);
    if (quotedKeys.size < MAX_CACHED_KEYS && key.length <= MAX_CACHED_KEY_LENGTH) quotedKeys.set(key, q);
  }
  return q;
}

export function stableStringify(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
      return Number.isFinite(value) ? '' + value : 'null'; // as JSON.stringify prints numbers (-0 as 0)
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return 'null';
    case 'object':
      break;
    default:
      return JSON.stringify(value) ?? 'null'; // function, symbol: null; bigint: JSON.stringify's TypeError
  }
  if (value === null) return 'null';
  if (value instanceof LosslessNumber) return value.raw;
  if (Array.isArray(value)) {
    const n = value.length;
    if (n === 0) return '[]';
    let out = '[' + stableStringify(value[0]);
    for (let i = 1; i < n; i++) out += ',' + stableStringify(value[i]);
    return out + ']';
  }
  const keys = Object.keys(value);
  let out = '';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    out += (out === '' ? '{' : ',') + quoteKey(key) + ':' + stableStringify(v);
  }
  return out === '' ? '{}' : out + '}';
}
