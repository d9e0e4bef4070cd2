// Reading Dashly answers: ids beyond 2^53 kept exactly, Retry-After forms, the token masked out of reasons.

import { describe, expect, it } from 'vitest';
import { LosslessNumber } from '../../src/json/lossless-number.js';
import { maskSecret, parseJsonLossless, parseRetryAfter } from '../../src/migrate/dashly-api.js';

describe('parseJsonLossless', () => {
  it('keeps long integer literals exactly and leaves strings alone', () => {
    const v = parseJsonLossless('{"id":18446744073709551615,"n":-12,"f":1.5e3,"s":"x 18446744073709551615 \\" y","a":[9007199254740993]}') as Record<string, unknown>;
    expect(v.id).toEqual(new LosslessNumber('18446744073709551615'));
    // 1.5e3 is kept as its text like every literal JavaScript would not print back identically (json/lossless-number.ts)
    expect([v.n, v.f, v.s]).toEqual([-12, new LosslessNumber('1.5e3'), 'x 18446744073709551615 " y']);
    expect((v.a as unknown[])[0]).toEqual(new LosslessNumber('9007199254740993'));
    expect(parseJsonLossless('<html>')).toBeUndefined();
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3', 0)).toBe(3000);
    expect(parseRetryAfter(null, 0)).toBeNull();
    const now = Date.parse('2024-05-01T12:00:00Z');
    expect(parseRetryAfter('Wed, 01 May 2024 12:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('soon', now)).toBeNull();
  });
});

describe('maskSecret', () => {
  it('replaces every occurrence', () => {
    expect(maskSecret('Token abc and abc', 'abc')).toBe('Token **** and ****');
    expect(maskSecret('x', '')).toBe('x');
  });
});
