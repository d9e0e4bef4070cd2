// Templates, the split into numbered parts (every character kept, prefix-stable, within the limit) and random_id.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toMigrateMessage } from '../../src/migrate/migrate-message.js';
import { randomIdFor } from '../../src/migrate/message-plan.js';
import { LABEL_RESERVE, MIN_CHUNK, chunkEnds, compileTemplate, partBody, renderTemplate } from '../../src/migrate/reply-text.js';
import { message } from './migrate-fixtures.js';

describe('templates', () => {
  it('fills placeholders and keeps literal braces', () => {
    const m = toMigrateMessage(message('c1', 'm1', 1_714_564_800_123_000, { author_name: null, author_id: 'u9', text: 'hi' }), 0);
    expect(renderTemplate(compileTemplate('{{x}} {author} [{role}] {time} {message_id}@{conversation_id}: {text}', '--template'), m)).toBe(
      '{x} u9 [customer] 2024-05-01T12:00:00.123Z m1@c1: hi',
    );
  });

  it('rejects unknown placeholders, unclosed and lone braces with the option name', () => {
    expect(() => compileTemplate('{nope}', '--template')).toThrow(/--template has unknown placeholder \{nope\}/);
    expect(() => compileTemplate('{text', '--event-template')).toThrow(/--event-template has an unclosed \{/);
    expect(() => compileTemplate('a } b', '--template')).toThrow(/lone \}/);
  });

  it('drops the content of redacted rows at the input edge', () => {
    const m = toMigrateMessage(message('c', 'm', 1, { redacted: true, text: 'secret', author_name: 'Name', attachments: [{ url: 'u' }] }), 0);
    expect([m.text, m.author_name, m.attachments]).toEqual([null, null, []]);
  });

  it('keeps ids as strings and refuses rows without ids or with non-integer times', () => {
    expect(toMigrateMessage(message('c', 'm', 1, { conversation_id: 12 }), 0).conversation_id).toBe('12');
    expect(() => toMigrateMessage(message('c', 'm', 1, { message_id: null }), 3)).toThrow(/row 3 has no message_id/);
    expect(() => toMigrateMessage(message('c', 'm', 1.5), 0)).toThrow(/not integer epoch microseconds/);
  });
});

describe('numbered parts', () => {
  const textArb = fc.stringOf(fc.constantFrom('a', 'b', ' ', '\n', '😀', 'é'), { maxLength: 3000 });

  it('cover the text exactly, fit the limit with their label, and never cut a surrogate pair', () => {
    fc.assert(
      fc.property(textArb, fc.integer({ min: LABEL_RESERVE + MIN_CHUNK, max: 800 }), (text, limit) => {
        const ends = chunkEnds(text, 0, limit);
        let from = 0;
        let joined = '';
        ends.forEach((to, i) => {
          const body = partBody(text, i + 1, ends.length, from, to);
          expect(body.length).toBeLessThanOrEqual(limit);
          const code = text.charCodeAt(to - 1);
          if (to < text.length) expect(code >= 0xd800 && code <= 0xdbff).toBe(false);
          joined += text.slice(from, to);
          from = to;
        });
        expect(joined).toBe(text);
      }),
    );
  });

  it('never cut a surrogate pair where there is no space or newline to cut at', () => {
    fc.assert(
      fc.property(
        fc.stringOf(fc.constantFrom('a', '😀'), { minLength: 200, maxLength: 2000 }),
        fc.integer({ min: LABEL_RESERVE + MIN_CHUNK, max: 300 }),
        (text, limit) => {
          for (const to of chunkEnds(text, 0, limit)) {
            const code = text.charCodeAt(to - 1);
            expect(code >= 0xd800 && code <= 0xdbff).toBe(false);
          }
        },
      ),
    );
  });

  it('are prefix-stable: planning the rest from a part boundary gives the same remaining parts', () => {
    fc.assert(
      fc.property(textArb, fc.integer({ min: LABEL_RESERVE + MIN_CHUNK, max: 500 }), fc.nat(), (text, limit, pick) => {
        const ends = chunkEnds(text, 0, limit);
        if (ends.length < 2) return;
        const k = pick % (ends.length - 1);
        expect(chunkEnds(text, ends[k]!, limit)).toEqual(ends.slice(k + 1));
      }),
    );
  });

  it('prefer a newline, then a space, in the last fifth of a part', () => {
    const limit = LABEL_RESERVE + 104;
    expect(chunkEnds('x'.repeat(90) + '\n' + 'y'.repeat(10) + ' ' + 'z'.repeat(200), 0, limit)[0]).toBe(91); // the newline wins
    expect(chunkEnds('x'.repeat(95) + ' ' + 'z'.repeat(200), 0, limit)[0]).toBe(96); // after the space
    expect(chunkEnds('x'.repeat(50) + ' ' + 'z'.repeat(200), 0, limit)[0]).toBe(104); // too early: a hard cut
  });

  it('a whole message has no label; parts are labelled', () => {
    expect(partBody('abc', 1, 1, 0, 3)).toBe('abc');
    expect(partBody('abcdef', 2, 2, 3, 6)).toBe('[part 2/2]\ndef');
  });
});

describe('random_id', () => {
  const key = (msg: string, conv = 'c', src = 'expertflow') => ({ src, conv, msg });
  it('is a deterministic positive 31-bit integer, distinct per part', () => {
    expect(randomIdFor(key('m1'), 1)).toBe(randomIdFor(key('m1'), 1));
    expect(randomIdFor(key('m1'), 1)).not.toBe(randomIdFor(key('m1'), 2));
    for (const id of ['', 'x', '18446744073709551615']) {
      const r = randomIdFor(key(id), 1);
      expect(Number.isInteger(r) && r > 0 && r < 2 ** 31).toBe(true);
    }
  });

  it('differs for the same message id in another conversation or source (issue 10 item 10)', () => {
    expect(randomIdFor(key('m1', 'a'), 1)).not.toBe(randomIdFor(key('m1', 'b'), 1));
    expect(randomIdFor(key('m1', 'a', 'x'), 1)).not.toBe(randomIdFor(key('m1', 'a', 'y'), 1));
    // no field can bleed into the next: ("a", "b\0c") and ("a\0b", "c") are two keys
    expect(randomIdFor({ src: 'a', conv: 'b', msg: 'c' }, 1)).not.toBe(randomIdFor({ src: 'a', conv: 'bc', msg: '' }, 1));
  });
});
