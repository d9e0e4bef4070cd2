// The detectors behind --mask-pii: where a text holds an email address, a phone number, a card number, an IBAN or
// an IP address. Each finds candidates with a pattern and keeps only those that pass the check that makes the kind
// what it is, so that order numbers, dates, times and versions are not taken for PII: card numbers need a card
// network's prefix, a card length and the Luhn check; IBANs their country's length and the ISO 7064 mod-97 check;
// phone numbers a real parser (libphonenumber-js with its full metadata: a number valid for its country, in
// international form or, with --phone-regions, national form of one of those regions); IP addresses the address
// grammar (node:net). Why libphonenumber-js, measured: README's dependency table and docs/privacy.md.

import { isIPv6 } from 'node:net';
import { findPhoneNumbersInText, type CountryCode } from 'libphonenumber-js/max';

export const PII_KINDS = ['email', 'phone', 'card', 'iban', 'ip'] as const;
export type PiiKind = (typeof PII_KINDS)[number];

/** A match: [start, end) in UTF-16 units of the text, and its kind. */
export interface PiiSpan {
  readonly start: number;
  readonly end: number;
  readonly kind: PiiKind;
}

// local part, @, a domain of at least two labels whose last is letters only (IDN letters too)
const EMAIL = /[\p{L}\p{N}._%+'-]+@[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)*\.\p{L}{2,}/gu;

export function findEmails(text: string, out: PiiSpan[]): void {
  if (!text.includes('@')) return;
  for (const m of text.matchAll(EMAIL)) {
    let start = m.index;
    let value = m[0];
    // a local part does not start or end with a dot ("see:.a@b.com" is the address a@b.com)
    while (value.startsWith('.')) {
      value = value.slice(1);
      start++;
    }
    if (value.indexOf('@') <= 0) continue;
    out.push({ start, end: m.index + m[0].length, kind: 'email' });
  }
}

// 13 to 19 digits, single spaces or dashes allowed between them (4111 1111 1111 1111, 4111-1111-1111-1111)
const CARD = /(?<![\p{N}\p{L}])\d(?:[ -]?\d){12,18}(?![\p{N}\p{L}])/gu;

export function findCards(text: string, out: PiiSpan[]): void {
  for (const m of text.matchAll(CARD)) {
    const digits = m[0].replace(/[ -]/g, '');
    // a run longer than any card may still end in one: only whole runs count (an order number of 20 digits is not)
    if (isCardNumber(digits)) out.push({ start: m.index, end: m.index + m[0].length, kind: 'card' });
  }
}

/** A card number: a known network's prefix with one of its lengths, and the Luhn check digit. */
export function isCardNumber(digits: string): boolean {
  const n = digits.length;
  if (n < 13 || n > 19 || !luhn(digits)) return false;
  const p2 = Number(digits.slice(0, 2));
  const p3 = Number(digits.slice(0, 3));
  const p4 = Number(digits.slice(0, 4));
  const p6 = Number(digits.slice(0, 6));
  if (digits[0] === '4') return n === 13 || n === 16 || n === 19; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16; // Mastercard
  if (p2 === 34 || p2 === 37) return n === 15; // American Express
  if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925)) return n >= 16; // Discover
  if (p4 >= 3528 && p4 <= 3589) return n >= 16; // JCB
  if (p2 === 36 || p2 === 38 || p2 === 39 || (p3 >= 300 && p3 <= 305) || p4 === 3095) return n >= 14; // Diners Club
  if (p2 === 62 || p2 === 81) return n >= 16; // UnionPay
  if (p2 === 50 || (p2 >= 56 && p2 <= 69) || p4 === 2200 || p4 === 2201 || (p4 >= 2202 && p4 <= 2204)) return n >= 12; // Maestro, Mir
  return false;
}

export function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = digits.length - 1, double = false; i >= 0; i--, double = !double) {
    let d = digits.charCodeAt(i) - 48;
    if (double && (d *= 2) > 9) d -= 9;
    sum += d;
  }
  return sum % 10 === 0;
}

/** IBAN length per country (the SWIFT IBAN registry). */
const IBAN_LENGTH: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28, CH: 21, CR: 22,
  CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FK: 18, FO: 18, FR: 27, GB: 22,
  GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30,
  KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27,
  MT: 31, MU: 30, NI: 28, NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33,
  SA: 24, SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29,
  VA: 22, VG: 24, XK: 20, YE: 30,
};

// country code, check digits, then letters and digits, in groups of four separated by single spaces or not at all
const IBAN = /(?<![\p{L}\p{N}])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){10,30}/gu;

export function findIbans(text: string, out: PiiSpan[]): void {
  for (const m of text.matchAll(IBAN)) {
    const country = m[0].slice(0, 2).toUpperCase();
    const length = IBAN_LENGTH[country];
    if (length === undefined) continue;
    // the pattern may run on into the next word: take exactly the country's length of characters
    let taken = 0;
    let end = 0;
    let compact = '';
    for (; end < m[0].length && taken < length; end++) {
      const c = m[0][end]!;
      if (c === ' ') continue;
      compact += c.toUpperCase();
      taken++;
    }
    if (taken !== length) continue;
    const after = text[m.index + end];
    if (after !== undefined && /[\p{L}\p{N}]/u.test(after)) continue;
    if (ibanChecksumOk(compact)) out.push({ start: m.index, end: m.index + end, kind: 'iban' });
  }
}

/** ISO 13616 / ISO 7064 mod 97-10: the country and check digits moved to the end, letters as 10..35, mod 97 is 1. */
export function ibanChecksumOk(iban: string): boolean {
  const moved = iban.slice(4) + iban.slice(0, 4);
  let rest = 0;
  for (const c of moved) {
    const code = c.charCodeAt(0);
    const v = code >= 65 ? code - 55 : code - 48;
    if (v < 0 || v > 35) return false;
    rest = v >= 10 ? (rest * 100 + v) % 97 : (rest * 10 + v) % 97;
  }
  return rest === 1;
}

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
// four octets, not inside a longer dotted run of numbers (1.2.3.4.5 is a version, not an address)
const IPV4 = new RegExp(`(?<![\\d.]|\\d\\.)${OCTET}(?:\\.${OCTET}){3}(?!\\d|\\.\\d)`, 'g');
const IPV6_CANDIDATE = /(?<![\p{L}\p{N}:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\p{L}\p{N}:])/gu;

export function findIps(text: string, out: PiiSpan[]): void {
  for (const m of text.matchAll(IPV4)) out.push({ start: m.index, end: m.index + m[0].length, kind: 'ip' });
  if (!text.includes(':')) return;
  for (const m of text.matchAll(IPV6_CANDIDATE)) {
    const v = m[0];
    // at least two groups with a digit: "::" and words that happen to be hex (dead::beef) are not addresses
    if ((v.match(/[0-9a-f]*\d[0-9a-f]*/gi) ?? []).length < 2 || !isIPv6(v)) continue;
    out.push({ start: m.index, end: m.index + v.length, kind: 'ip' });
  }
}

/**
 * Phone numbers valid for their country: in international form (+49 30 901820), and in the national form
 * of each of `regions`. libphonenumber-js's finder skips digits that are part of a longer run or a date-like
 * pattern, and its validity check uses each country's number plan.
 */
export function findPhones(text: string, regions: readonly CountryCode[], out: PiiSpan[]): void {
  for (const found of findPhoneNumbersInText(text)) out.push({ start: found.startsAt, end: found.endsAt, kind: 'phone' });
  for (const region of regions) {
    for (const found of findPhoneNumbersInText(text, { defaultCountry: region })) out.push({ start: found.startsAt, end: found.endsAt, kind: 'phone' });
  }
}
