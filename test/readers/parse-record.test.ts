// parseRecord keeps long number literals exact on both of its paths: the fast one (literals marked before the native
// JSON.parse) and the one for records holding an escaped NUL (checked by JSON.parse, read by the exact JS reader),
// without any V8 flag set at import.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LosslessNumber } from '../../src/json/lossless-number.js';
import { parseRecord } from '../../src/readers/parse-record.js';
import { RecordSplitter } from '../../src/readers/record-splitter.js';

function parseOne(text: string): unknown {
  const splitter = new RecordSplitter({ file: 't.jsonl', envelopeKeys: [], maxRecordBytes: 1 << 20, maxDepth: 64, lines: true });
  const [raw] = splitter.push(Buffer.from(text + '\n')).concat(splitter.end());
  return parseRecord(raw!, 't.jsonl').value;
}

describe('parseRecord', () => {
  it('keeps long literals exact with and without an escaped NUL in the record', () => {
    const expected = { id: new LosslessNumber('18446744073709551615'), at: new LosslessNumber('1684923942.123456'), n: 5 };
    expect(parseOne('{"id":18446744073709551615,"at":1684923942.123456,"n":5,"body":"plain"}')).toEqual({ ...expected, body: 'plain' });
    expect(parseOne('{"id":18446744073709551615,"at":1684923942.123456,"n":5,"body":"a\\u0000b"}')).toEqual({ ...expected, body: 'a\u0000b' });
  });

  it('a record holding every marker escape takes the exact reader, and gives the same', () => {
    const all = Array.from({ length: 32 }, (_, c) => `\\u00${c.toString(16).padStart(2, '0')}`).join('');
    const v = parseOne(`{"id":18446744073709551615,"body":"${all}"}`) as Record<string, unknown>;
    expect(v.id).toEqual(new LosslessNumber('18446744073709551615'));
    expect(v.body).toBe(Array.from({ length: 32 }, (_, c) => String.fromCharCode(c)).join(''));
  });

  it('the NUL path gives what the fast path gives, for any record', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.bigInt({ min: 10n ** 17n, max: 2n ** 64n }), (value, big) => {
        const body = JSON.stringify({ v: value, big: 0 }).replace('"big":0', `"big":${big}`);
        const withNul = body.slice(0, -1) + ',"nul":"\\u0000"}';
        const fast = parseOne(body) as Record<string, unknown>;
        const slow = parseOne(withNul) as Record<string, unknown>;
        expect(slow.nul).toBe('\u0000');
        delete slow.nul;
        expect(slow).toEqual(fast);
        expect(fast.big).toEqual(new LosslessNumber(String(big)));
      }),
      { numRuns: 300 },
    );
  });
});
