// Reading Dashly answers: ids beyond 2^53 kept exactly, strings boxed, Retry-After forms (huge ones included).

import { describe, expect, it } from 'vitest';
import { TextGuard, Untrusted } from '../../src/http/untrusted-text.js';
import { LosslessNumber } from '../../src/json/lossless-number.js';
import { parseRetryAfter } from '../../src/migrate/dashly-api.js';

const guard = new TextGuard(['tok-SECRET-9f8e7d6c5b4a']);

describe('Untrusted.json', () => {
  it('keeps long integer literals exactly and boxes every string', () => {
    const v = guard.wrap('{"id":18446744073709551615,"n":-12,"f":1.5e3,"s":"x 18446744073709551615 \\" y","a":[9007199254740993]}').json() as Record<
      string,
      unknown
    >;
    expect(v.id).toEqual(new LosslessNumber('18446744073709551615'));
    expect([v.n, v.f]).toEqual([-12, new LosslessNumber('1.5e3')]); // an exponent is kept as written (the shared number rule)
    expect(v.s).toBeInstanceOf(Untrusted);
    expect((v.s as Untrusted).is((raw) => raw === 'x 18446744073709551615 " y')).toBe(true);
    expect((v.a as unknown[])[0]).toEqual(new LosslessNumber('9007199254740993'));
    expect(guard.wrap('<html>').json()).toBeUndefined();
  });

  it('a server string cannot pose as a long number', () => {
    const v = guard.wrap('{"id":"\\u0000n12345678901234567890"}').json() as Record<string, unknown>;
    expect(v.id).toBeInstanceOf(Untrusted);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, and keeps huge values huge (the caller decides what is too long)', () => {
    expect(parseRetryAfter('3', 0)).toBe(3000);
    expect(parseRetryAfter(null, 0)).toBeNull();
    const now = Date.parse('2024-05-01T12:00:00Z');
    expect(parseRetryAfter('Wed, 01 May 2024 12:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter('3000000', 0)).toBe(3_000_000_000);
    expect(parseRetryAfter('9'.repeat(400), 0)).toBe(Infinity);
    expect(parseRetryAfter(guard.wrap(' 7 '), 0)).toBe(7000);
    expect(parseRetryAfter(guard.wrap('7\r\nX-Evil: 1'), 0)).toBeNull();
  });
});
