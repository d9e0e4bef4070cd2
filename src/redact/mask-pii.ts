// Masking PII in a value: every match of a masked kind (pii-detectors.ts) in a text becomes its typed placeholder
// ([email], [phone], [card], [iban], [ip]); a JSON value is masked in every string, every object key and every
// number literal it holds (a card number sent as a JSON number is still a card number). New containers are built
// where something changed, so a value other code holds a reference to is never modified.

import type { CountryCode } from 'libphonenumber-js/max';
import { LosslessNumber } from '../json/lossless-number.js';
import { findCards, findEmails, findIbans, findIps, findPhones, isCardNumber, type PiiKind, type PiiSpan } from './pii-detectors.js';

export interface MaskSettings {
  readonly kinds: ReadonlySet<PiiKind>;
  /** Regions whose national phone numbers are recognised besides international ones (ISO 3166 alpha-2). */
  readonly phoneRegions: readonly CountryCode[];
}

/** When two matches overlap the stronger evidence wins: an email's @, then the checksums, then the parsers. */
const PRECEDENCE: Record<PiiKind, number> = { email: 0, iban: 1, card: 2, ip: 3, phone: 4 };

/** The text with every match of a masked kind replaced by its placeholder; the same string when none matched. */
export function maskText(text: string, s: MaskSettings): string {
  // every kind but email needs a digit: most texts have neither, and cost one scan
  const hasAt = text.includes('@');
  if (!hasAt && !/\d/.test(text)) return text;
  const spans: PiiSpan[] = [];
  if (s.kinds.has('email') && hasAt) findEmails(text, spans);
  if (s.kinds.has('iban')) findIbans(text, spans);
  if (s.kinds.has('card')) findCards(text, spans);
  if (s.kinds.has('ip')) findIps(text, spans);
  if (s.kinds.has('phone')) findPhones(text, s.phoneRegions, spans);
  if (spans.length === 0) return text;
  spans.sort((a, b) => PRECEDENCE[a.kind] - PRECEDENCE[b.kind] || a.start - b.start || b.end - a.end);
  const chosen: PiiSpan[] = [];
  for (const span of spans) if (!chosen.some((c) => span.start < c.end && c.start < span.end)) chosen.push(span);
  chosen.sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const c of chosen) {
    out += text.slice(at, c.start) + `[${c.kind}]`;
    at = c.end;
  }
  return out + text.slice(at);
}

/** A JSON value (as rows hold it) with every string, key and number literal masked; the same value when none matched. */
export function maskJson(value: unknown, s: MaskSettings): unknown {
  if (typeof value === 'string') return maskText(value, s);
  // a number literal can only be a card number: no @, no +, no letters, and no leading 0 for a national phone number
  if (value instanceof LosslessNumber) return s.kinds.has('card') && isCardNumber(value.raw) ? '[card]' : value;
  if (typeof value === 'number') return s.kinds.has('card') && Number.isSafeInteger(value) && isCardNumber(String(value)) ? '[card]' : value;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v = maskJson(value[i], s);
      if (v !== value[i]) (copy ??= value.slice())[i] = v;
    }
    return copy ?? value;
  }
  let changed = false;
  const entries: [string, unknown][] = [];
  for (const k of Object.keys(value)) {
    const v0 = (value as Record<string, unknown>)[k];
    const key = maskText(k, s);
    const v = maskJson(v0, s);
    if (key !== k || v !== v0) changed = true;
    entries.push([key, v]);
  }
  if (!changed) return value;
  const out: Record<string, unknown> = {};
  // defineProperty: a key "__proto__" stays a plain key; two keys masked alike keep the later value
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}
