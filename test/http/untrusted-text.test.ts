// The boundary for server text: the token masked in every form a server could echo it (raw, case-changed,
// URL-encoded, JSON-escaped, HTML references, base64 at each alignment, hex, cut at either end), credential-like
// values masked, control characters escaped, masking before clipping, ids only when they are ids.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TextGuard, escapeControls, secretShapeProblem } from '../../src/http/untrusted-text.js';

const TOKEN = 'app.4242.Zx9-qW_e/r+T=yU8';
const guard = new TextGuard([TOKEN]);

function b64core(secret: string, align: number, url = false): string {
  const bytes = Buffer.concat([Buffer.alloc(align), Buffer.from(secret)]);
  const s = bytes.toString(url ? 'base64url' : 'base64');
  return s.slice(Math.ceil((8 * align) / 6), Math.floor((8 * (align + secret.length)) / 6));
}

/** Every form of the token a server could send back, inside some text. */
function echoes(t: string): string[] {
  const json = JSON.stringify(t).slice(1, -1);
  const allEscaped = [...t].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
  return [
    `Token ${t} is invalid`,
    `bad token ${t.toUpperCase()}`,
    `bad token ${t.toLowerCase()}`,
    `url: /x?auth_token=${encodeURIComponent(t)}&a=1`,
    `form: ${new URLSearchParams({ auth_token: t })}`,
    `lower hex percent: ${encodeURIComponent(t).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())}`,
    `double: ${encodeURIComponent(encodeURIComponent(t))}`,
    `{"header":"Token ${json.replace(/\//g, '\\/')}"}`,
    `escaped: ${allEscaped}`,
    `html: ${[...t].map((c) => `&#${c.charCodeAt(0)};`).join('')}`,
    `basic ${Buffer.from(`user:${t}`).toString('base64')}`,
    `b64 ${Buffer.from(t).toString('base64')} b64url ${Buffer.from(`xy${t}`).toString('base64url')}`,
    `hex ${Buffer.from(t).toString('hex')}`,
    `cut at the end: ${t.slice(0, -1)}`,
    `${t.slice(1)} cut at the start`,
    `${'x'.repeat(290)} ${t} (spans the clip)`,
  ];
}

describe('TextGuard.text', () => {
  it('masks the token in every form, and keeps the words around it', () => {
    for (const text of echoes(TOKEN)) {
      const shown = guard.text(text);
      expect(shown, text).toContain('****');
      expect(shown.toLowerCase()).not.toContain(TOKEN.toLowerCase().slice(0, 8));
      expect(shown.toLowerCase()).not.toContain(TOKEN.toLowerCase().slice(-8));
      expect(shown).not.toContain(b64core(TOKEN, 0).slice(0, 12));
      expect(shown).not.toContain(Buffer.from(TOKEN).toString('hex').slice(0, 16));
    }
    expect(guard.text(`Token ${TOKEN} is invalid`)).toBe('Token **** is invalid');
  });

  it('masks before clipping: a token across the clip shows none of its characters', () => {
    const text = `${'x'.repeat(298)}${TOKEN}`;
    const shown = guard.text(text);
    expect(shown).toBe(`${'x'.repeat(298)}**...`);
    expect(guard.text(`${'x'.repeat(295)}${TOKEN}`)).toBe(`${'x'.repeat(295)}****`);
  });

  it('masks values that look like credentials, keeps ids and words', () => {
    expect(guard.text('key sk_live_4eC39HqLyjWDarjtT1zdp7dc expired')).toBe('key **** expired');
    expect(guard.text('sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08')).toBe('sha ****');
    expect(guard.text('password=hunter22 and Bearer abcdefgh12')).toBe('password=**** and Bearer ****');
    expect(guard.text('Conversation 18446744073709551615 not found')).toBe('Conversation 18446744073709551615 not found');
    expect(guard.text('ValidationError: conversation_part_id is required')).toBe('ValidationError: conversation_part_id is required');
    expect(guard.text('Token expired')).toBe('Token expired');
    expect(guard.text('Authorization: Bearer abcdef123 was sent')).toBe('Authorization: Bearer **** was sent');
    expect(guard.text('{"access_token":"abc123xyz","ok":1}')).toBe('{"access_token":"****","ok":1}');
  });

  it('escapes control characters: no raw CR, LF, ESC or bidi override', () => {
    const shown = guard.text('line1\r\nchatport: forged\u001b[2J\u202e\u0085end\ud800');
    expect(shown).toBe('line1\\r\\nchatport: forged\\u001b[2J\\u202e\\u0085end\\ud800');
    expect(escapeControls('plain ünïcödé 😀')).toBe('plain ünïcödé 😀');
  });

  it('never clips inside an escape or a surrogate pair', () => {
    expect(guard.text('a'.repeat(8) + '\u001b', 10)).toBe('aaaaaaaa...');
    expect(guard.text('a'.repeat(9) + '😀', 10)).toBe('aaaaaaaaa...');
  });

  it('boxes raw strings: ids only when they match, never when they hold the token', () => {
    expect(guard.wrap('18446744073709551615').matching(/\d{1,20}/)).toBe('18446744073709551615');
    expect(guard.wrap('123 ').matching(/\d{1,20}/)).toBeNull();
    expect(guard.wrap(`x${TOKEN}`).matching(/.*/)).toBeNull();
    const box = guard.wrap(`secret ${TOKEN}`);
    expect(String(box)).toBe('secret ****');
    expect(JSON.stringify({ box })).toBe('{"box":"secret ****"}');
    expect(`${box}`).not.toContain(TOKEN);
  });

  it('property: a random token planted in a random text in a random form never shows K of its characters', () => {
    const tokenChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+='.split(''));
    const token = fc
      .array(tokenChar, { minLength: 12, maxLength: 64 })
      .map((a) => a.join(''))
      .filter((t) => new Set(t).size >= 4);
    fc.assert(
      fc.property(
        token,
        fc.string({ maxLength: 400 }),
        fc.string({ maxLength: 400 }),
        fc.nat(),
        fc.integer({ min: 20, max: 400 }),
        (t, before, after, which, max) => {
          const g = new TextGuard([t]);
          const forms = echoes(t);
          const text = `${before}${forms[which % forms.length]}${after}`;
          const shown = g.text(text, max).toLowerCase();
          const k = Math.min(8, Math.ceil(t.length / 2));
          for (let i = 0; i + k <= t.length; i++) expect(shown).not.toContain(t.slice(i, i + k).toLowerCase());
          expect(shown).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('secretShapeProblem', () => {
  it('accepts visible ASCII only', () => {
    expect(secretShapeProblem(TOKEN)).toBeNull();
    expect(secretShapeProblem('abc\n')).toMatch(/whitespace/);
    expect(secretShapeProblem('ab c')).toMatch(/whitespace/);
    expect(secretShapeProblem('abc\u0000')).toMatch(/control/);
    expect(secretShapeProblem('abcé')).toMatch(/ASCII/);
    expect(secretShapeProblem('')).toMatch(/empty/);
  });
});
