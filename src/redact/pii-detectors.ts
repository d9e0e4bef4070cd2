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

const LOCAL_CHAR = /[\p{L}\p{N}._%+'-]/u;
// a domain of at least two labels whose last is letters only (IDN letters too), right after the @
const DOMAIN = /[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)*\.\p{L}{2,}/uy;

/** Emails: from each @, the local part before it and a domain after it (a pattern tried at every character is slow). */
export function findEmails(text: string, out: PiiSpan[]): void {
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > 0 && LOCAL_CHAR.test(text[start - 1]!)) start--;
    // a local part does not start with a dot ("see:.a@b.com" is the address a@b.com)
    while (start < at && text[start] === '.') start++;
    if (start === at) continue;
    DOMAIN.lastIndex = at + 1;
    const domain = DOMAIN.exec(text);
    if (!domain) continue;
    out.push({ start, end: at + 1 + domain[0].length, kind: 'email' });
  }
}

// a run of digit groups separated by single spaces or dashes (4111 1111 1111 1111, 4111-1111-1111-1111, 4111111111111111)
const DIGIT_RUN = /\d+(?:[ -]\d+)*/g;

/**
 * Card numbers: a whole group of 13 to 19 digits anywhere in a run (4111111111111111 14:00), or groups written the way
 * cards are printed (4-4-4-4, 4-4-4-4-3, 4-6-5, 4-6-4) from the start of a run whose next group does not go on in
 * fours. A run glued to a letter (PL89 4908 2620 ..., part of an IBAN or a code) holds no card.
 */
export function findCards(text: string, out: PiiSpan[]): void {
  for (const m of text.matchAll(DIGIT_RUN)) {
    if (m[0].length < 13) continue;
    const before = text[m.index - 1];
    if (before !== undefined && /[\p{L}\p{N}_]/u.test(before)) continue;
    const after = text[m.index + m[0].length];
    if (after !== undefined && /[\p{L}_]/u.test(after)) continue;
    const groups: { start: number; text: string }[] = [];
    for (const g of m[0].matchAll(/\d+/g)) groups.push({ start: m.index + g.index, text: g[0] });
    const printed = cardGrouping(groups);
    if (printed > 0) {
      const last = groups[printed - 1]!;
      out.push({ start: groups[0]!.start, end: last.start + last.text.length, kind: 'card' });
      continue;
    }
    for (const g of groups) if (g.text.length >= 13 && isCardNumber(g.text)) out.push({ start: g.start, end: g.start + g.text.length, kind: 'card' });
  }
}

const CARD_GROUPINGS = [
  [4, 4, 4, 4, 3],
  [4, 4, 4, 4],
  [4, 6, 5],
  [4, 6, 4],
];

/** How many leading groups of a run spell a card the way cards are printed, or 0. */
function cardGrouping(groups: readonly { text: string }[]): number {
  for (const shape of CARD_GROUPINGS) {
    if (groups.length < shape.length || !shape.every((n, i) => groups[i]!.text.length === n)) continue;
    // a fifth group of four: an account number or an IBAN's body, not a card
    if (groups.length > shape.length && groups[shape.length]!.text.length === 4) continue;
    if (
      isCardNumber(
        groups
          .slice(0, shape.length)
          .map((g) => g.text)
          .join(''),
      )
    )
      return shape.length;
  }
  return 0;
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
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BI: 27,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DJ: 27,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FK: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  LY: 25,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MN: 20,
  MR: 27,
  MT: 31,
  MU: 30,
  NI: 28,
  NL: 18,
  NO: 15,
  OM: 23,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  RU: 33,
  SA: 24,
  SC: 31,
  SD: 18,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  SO: 23,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
  YE: 30,
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

const MAYBE_IPV4 = /\d\.\d{1,3}\.\d{1,3}\.\d/;

export function findIps(text: string, out: PiiSpan[]): void {
  if (MAYBE_IPV4.test(text)) for (const m of text.matchAll(IPV4)) out.push({ start: m.index, end: m.index + m[0].length, kind: 'ip' });
  if (!text.includes(':')) return;
  for (const m of text.matchAll(IPV6_CANDIDATE)) {
    const v = m[0];
    // at least two groups with a digit: "::" and words that happen to be hex (dead::beef) are not addresses
    if ((v.match(/[0-9a-f]*\d[0-9a-f]*/gi) ?? []).length < 2 || !isIPv6(v)) continue;
    out.push({ start: m.index, end: m.index + v.length, kind: 'ip' });
  }
}

// where a phone number may be: digits with separators, at least 7 digits, optionally after + or (
const PHONE_CANDIDATE = /(?:\+|\()?\d(?:[ .()/\u00a0-]{0,3}\d){6,}\)?/g;
/** Characters of context on each side that the finder sees at least (it rejects numbers glued to letters or other digits). */
const PHONE_CONTEXT = 16;
const DATE_LIKE = /^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}|(?:19|20)\d\d ?[-\u2013] ?(?:19|20)\d\d)$/;
/** An amount with thousands separators (406.761 or 1.234.567). */
const THOUSANDS = /^\d{1,3}(?:[.,]\d{3})+$/;
/** The start of an IBAN-shaped run just before: a country code, check digits and groups (NL44 ABNA 9934 ...). */
const IBAN_BEFORE = /[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4})* ?$/;

/**
 * Phone numbers valid for their country: in international form (+49 30 901820), and in the national form of each of
 * `regions`. libphonenumber-js's finder rejects digits that run on into letters or other numbers, and its validity
 * check uses each country's number plan. It is slow on long texts, so it reads only the places where a number can
 * be (7 or more digits) with their surrounding words. Number plans with numbers of many lengths (Germany's) accept
 * most digit runs, so a national number must also look like one written by a person (plausibleNational).
 */
export function findPhones(text: string, regions: readonly CountryCode[], out: PiiSpan[]): void {
  if (regions.length === 0 && !text.includes('+')) return;
  for (const m of text.matchAll(PHONE_CANDIDATE)) {
    const international = m[0].startsWith('+');
    if (!international && regions.length === 0) continue;
    const from = wordStart(text, Math.max(0, m.index - PHONE_CONTEXT));
    const window = text.slice(from, wordEnd(text, m.index + m[0].length + PHONE_CONTEXT));
    const found = international ? findPhoneNumbersInText(window) : [];
    for (const region of regions) if (found.length === 0) found.push(...findPhoneNumbersInText(window, { defaultCountry: region }));
    for (const f of found) {
      const start = from + f.startsAt;
      const end = from + f.endsAt;
      if (decimalFollows(text, end)) continue;
      if (text[start] !== '+' && !plausibleNational(text, start, end)) continue;
      out.push({ start, end, kind: 'phone' });
    }
  }
}

/**
 * A national number as people write one: grouped (030 1234567, (415) 555-2671, 06 12 34 56 78) or one run that
 * starts with the trunk prefix 0; not a date or a span of years, not an amount, not the tail of a code (RE-2024-65443,
 * A/123456) or of an IBAN-shaped run (one that fails its checksum is no IBAN either). A bare run such as
 * 4155552671 is as likely an order number and is left.
 */
function plausibleNational(text: string, start: number, end: number): boolean {
  const v = text.slice(start, end);
  if (DATE_LIKE.test(v) || THOUSANDS.test(v) || v.includes(',')) return false;
  if (IBAN_BEFORE.test(text.slice(Math.max(0, start - 40), start))) return false;
  const before = text[start - 1];
  if ((before === '-' || before === '/' || before === '.' || before === '#') && /[\p{L}\p{N}]/u.test(text[start - 2] ?? '')) return false;
  if (before === '#') return false;
  return /[ ()./\u00a0-]/.test(v) || v.startsWith('0');
}

/** A decimal part follows (406.761,48 €): an amount, not a number to call. */
function decimalFollows(text: string, end: number): boolean {
  return (text[end] === ',' || text[end] === '.') && /\d/.test(text[end + 1] ?? '');
}

function wordStart(text: string, at: number): number {
  while (at > 0 && !/\s/.test(text[at - 1]!)) at--;
  return at;
}

function wordEnd(text: string, at: number): number {
  while (at < text.length && !/\s/.test(text[at]!)) at++;
  return at;
}
