// The --mask-pii detectors on chosen cases (each kind, and the look-alikes that must stay), and on the corpus of
// bench/pii: recall on planted PII and no masked look-alike, with international phone numbers and with one region.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LosslessNumber } from '../../src/json/lossless-number.js';
import { maskJson, maskText, type MaskSettings } from '../../src/redact/mask-pii.js';
import { ibanChecksumOk, isCardNumber, PII_KINDS } from '../../src/redact/pii-detectors.js';
import { ROOT } from '../helpers/export-helpers.js';

const ALL: MaskSettings = { kinds: new Set(PII_KINDS), phoneRegions: [] };
const withRegion = (r: string): MaskSettings => ({ kinds: new Set(PII_KINDS), phoneRegions: [r as never] });

describe('masking each kind', () => {
  it.each([
    ['write to anna.schmidt@example.com today', 'write to [email] today'],
    ['mail: müller.jörg@beispiel.de.', 'mail: [email].'],
    ['card 4111 1111 1111 1111 exp 12/26', 'card [card] exp 12/26'],
    ['card 4111-1111-1111-1111', 'card [card]'],
    ['amex 378282246310005 ok', 'amex [card] ok'],
    ['paid with 5555555555554444 14:00', 'paid with [card] 14:00'],
    ['IBAN DE89 3704 0044 0532 0130 00 please', 'IBAN [iban] please'],
    ['iban GB82WEST12345698765432', 'iban [iban]'],
    ['from 192.168.10.254, then ::1', 'from [ip], then ::1'],
    ['v6 2001:db8:85a3::8a2e:370:7334 seen', 'v6 [ip] seen'],
    ['call +49 30 901820 or +1 (201) 555-0123', 'call [phone] or [phone]'],
    ['Звоните +7 912 345 67 89 в 09:45', 'Звоните [phone] в 09:45'],
  ])('%s', (text, masked) => {
    expect(maskText(text, ALL)).toBe(masked);
  });

  it.each([
    'order #4411 and order 4155552671',
    'ticket 4111111111111112 (fails Luhn)',
    'ref 9141838550763910 (no card network)',
    'IBAN DE89 3704 0044 0532 0130 01 (checksum fails)',
    'version 1.2.3.4.5 and 10.0.1',
    'on 2024-03-15 at 14:30:45, 15.03.2024, 03/15/2024',
    'price 1.234.567,89 € and USD 12,345.67',
    'tracking 1Z999AA10123456784, invoice RE-2024-00123',
    'times 12:30:45 and dead::beef',
    'user @anna and foo@bar',
  ])('leaves %s', (text) => {
    expect(maskText(text, ALL)).toBe(text);
  });

  it('national phone numbers only with their region, and not bare runs that could be order numbers', () => {
    expect(maskText('call (201) 555-0123', ALL)).toBe('call (201) 555-0123');
    expect(maskText('call (201) 555-0123', withRegion('US'))).toBe('call [phone]');
    expect(maskText('ruf 030 901820 an', withRegion('DE'))).toBe('ruf [phone] an');
    expect(maskText('order 2015550123 shipped 2019-2024', withRegion('US'))).toBe('order 2015550123 shipped 2019-2024');
    expect(maskText('Bestellung RE-2024-65443 vom 28.01.2024', withRegion('DE'))).toBe('Bestellung RE-2024-65443 vom 28.01.2024');
  });

  it('only the kinds asked for', () => {
    const emailOnly: MaskSettings = { kinds: new Set(['email']), phoneRegions: [] };
    expect(maskText('a@b.example.com 4111 1111 1111 1111', emailOnly)).toBe('[email] 4111 1111 1111 1111');
  });

  it('checksums', () => {
    expect(isCardNumber('4111111111111111')).toBe(true);
    expect(isCardNumber('4111111111111112')).toBe(false);
    expect(ibanChecksumOk('DE89370400440532013000')).toBe(true);
    expect(ibanChecksumOk('DE89370400440532013001')).toBe(false);
  });

  it('JSON values: strings, keys and number literals, without touching the input', () => {
    const value = { 'a@b.example.com': { card: new LosslessNumber('4111111111111111'), n: 5, list: ['ok', 'x 192.168.0.1'] }, same: 'kept' };
    const before = JSON.stringify(value);
    expect(JSON.stringify(maskJson(value, ALL))).toBe('{"[email]":{"card":"[card]","n":5,"list":["ok","x [ip]"]},"same":"kept"}');
    expect(JSON.stringify(value)).toBe(before);
    const untouched = { a: ['b', { c: 1 }] };
    expect(maskJson(untouched, ALL)).toBe(untouched);
  });
});

interface CorpusLine {
  text: string;
  planted: { kind: string; value: string }[];
  keep: string[];
}

const corpus: CorpusLine[] = readFileSync(path.join(ROOT, 'bench/pii/corpus.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as CorpusLine);

function score(settings: MaskSettings) {
  const found: Record<string, [number, number]> = {};
  let lost = 0;
  for (const m of corpus) {
    const out = maskText(m.text, settings);
    for (const p of m.planted) {
      const f = (found[p.kind] ??= [0, 0]);
      f[1]++;
      if (!out.includes(p.value) && out.includes(`[${p.kind}]`)) f[0]++;
    }
    for (const k of m.keep) if (!out.includes(k)) lost++;
  }
  return { found, lost };
}

describe('the bench corpus (800 messages, ten languages; bench/pii)', () => {
  it('finds every planted email, card, IBAN, IP and international phone number, and masks no look-alike', () => {
    const { found, lost } = score(ALL);
    for (const kind of ['email', 'card', 'iban', 'ip']) expect(found[kind]![0], kind).toBe(found[kind]![1]);
    const international = corpus.flatMap((m) => m.planted).filter((p) => p.kind === 'phone' && p.value.startsWith('+')).length;
    // the one miss: "+7 912 345 69 24 09:45", a number that runs straight into a time (the parser cannot tell where
    // it ends); docs/privacy.md names it
    expect(found.phone![0]).toBe(international - 1);
    expect(lost).toBe(0);
  });

  it('with --phone-regions US: national US numbers too, and still no look-alike', () => {
    const { found, lost } = score(withRegion('US'));
    expect(found.phone![0]).toBeGreaterThan(score(ALL).found.phone![0]);
    expect(lost).toBe(0);
  });
});
