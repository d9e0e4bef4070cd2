// Dotted paths into a parsed API answer (`meta.next_before_position`, `metaData.totalMessages`): the api section
// names places in an answer by such paths; the record mapping's richer path language is not needed here.
import { LosslessNumber } from '../../json/lossless-number.js';

export function valueAt(value: unknown, path: string): unknown {
  let cur: unknown = value;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || cur instanceof LosslessNumber) return undefined;
    if (!Object.prototype.hasOwnProperty.call(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** A scalar as the text it was written with (ids and positions go back to the API exactly); null for anything else. */
export function scalarText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v instanceof LosslessNumber) return v.raw;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

/** A JSON value written back with number literals exactly as read (a Dashly position: `[1684739969.358085, 1160406004324630614]`). */
export function exactJson(v: unknown): string {
  if (v instanceof LosslessNumber) return v.raw;
  if (Array.isArray(v)) return `[${v.map(exactJson).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${exactJson(x)}`)
      .join(',')}}`;
  return JSON.stringify(v);
}
