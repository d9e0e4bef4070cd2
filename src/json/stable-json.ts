// JSON text for nested values in outputs: keys in the order the vendor sent them, LosslessNumbers as their
// exact source digits, no whitespace. Same value, same bytes.

import { LosslessNumber } from './lossless-number.js';

export function stableStringify(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (value instanceof LosslessNumber) return value.raw;
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i) out += ',';
      out += stableStringify(value[i]);
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
    out += JSON.stringify(key) + ':' + stableStringify(v);
  }
  return out + '}';
}
