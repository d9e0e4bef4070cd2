// What crosses to and from worker threads by structured clone keeps every plain value exactly (-Infinity included)
// but drops classes: a LosslessNumber (an id up to 2^64-1, a timestamp with microseconds) would arrive as a plain
// object and be printed wrong. Before posting, each one is replaced by a Map holding its text; after receiving, the
// Maps become LosslessNumbers again. A Map cannot be mistaken for vendor data: parsed JSON holds only plain objects
// and arrays. Values are copied only where they hold a LosslessNumber (they may share objects with other rows).

import { LosslessNumber } from '../json/lossless-number.js';
import type { Row, TableName } from '../model/canonical-schema.js';

/** `v` itself when it holds no LosslessNumber, otherwise a copy with each one replaced by a Map. */
export function tagLosslessValue(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof LosslessNumber) return new Map([['raw', v.raw]]);
  if (Array.isArray(v)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const t = tagLosslessValue(v[i]);
      if (t !== v[i]) (out ??= v.slice())[i] = t;
    }
    return out ?? v;
  }
  const o = v as Record<string, unknown>;
  let out: Record<string, unknown> | null = null;
  for (const k of Object.keys(o)) {
    const t = tagLosslessValue(o[k]);
    if (t !== o[k]) {
      out ??= { ...o };
      if (k === '__proto__') Object.defineProperty(out, k, { value: t, enumerable: true, writable: true, configurable: true });
      else out[k] = t;
    }
  }
  return out ?? v;
}

/** After structured clone, in place (the clone's objects belong to nobody else). */
export function untagLosslessIn(container: unknown[] | Record<string, unknown>): void {
  const keys: (string | number)[] = Array.isArray(container) ? container.map((_, i) => i) : Object.keys(container);
  const c = container as Record<string | number, unknown>;
  for (const k of keys) {
    const v = c[k];
    if (v === null || typeof v !== 'object') continue;
    if (v instanceof Map) c[k] = new LosslessNumber(v.get('raw') as string);
    else untagLosslessIn(v as unknown[] | Record<string, unknown>);
  }
}

/** Rows of a segment, ready for postMessage: rows holding a LosslessNumber are replaced by tagged copies. */
export function tagRows(rows: Partial<Record<TableName, Row[]>>): void {
  for (const table in rows) {
    const list = rows[table as TableName]!;
    for (let i = 0; i < list.length; i++) list[i] = tagLosslessValue(list[i]) as Row;
  }
}

export function untagRows(rows: Partial<Record<TableName, Row[]>>): void {
  for (const table in rows) for (const row of rows[table as TableName]!) untagLosslessIn(row);
}
