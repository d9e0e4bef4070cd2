// The splitter's fast path (a whole value inside one chunk, long strings skipped with indexOf) must find exactly
// what the byte-by-byte path finds: same record bytes, long-number ranges, positions and line numbers, for
// strings full of quotes, backslashes, newlines, non-ASCII text and long digit runs. Fed whole, records take the
// fast path; fed one byte at a time, they take the general one. parseRecord must then give the same values.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RecordSplitter, type RawRecord } from '../../src/readers/record-splitter.js';
import { parseRecord } from '../../src/readers/parse-record.js';
import { LosslessNumber } from '../../src/json/lossless-number.js';

function split(buf: Buffer, chunkSize: number, lines: boolean): RawRecord[] {
  const s = new RecordSplitter({ file: 'in', envelopeKeys: ['data'], maxRecordBytes: 1 << 20, maxDepth: 64, lines });
  const out: RawRecord[] = [];
  for (let i = 0; i < buf.length; i += chunkSize) out.push(...s.push(buf.subarray(i, i + chunkSize)));
  out.push(...s.end());
  return out;
}

const view = (r: RawRecord) => ({
  bytes: r.bytes.toString('latin1'),
  longNumbers: r.longNumbers,
  recordIndex: r.recordIndex,
  byteOffset: r.byteOffset,
  line: r.line,
  problem: r.problem?.code ?? null,
});

/** Strings biased towards what the fast path treats specially. */
const nasty = fc
  .array(
    fc.oneof(
      fc.constantFrom('"', '\\', '\\\\', '\n', 'ж', '😀', '\u2028', '1234567890123456789', ' ', 'a'),
      fc.string({ maxLength: 40 }),
      fc.fullUnicodeString({ maxLength: 10 }),
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));

const record = fc.record({
  id: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.integer()),
  body: nasty,
  tail: fc.array(nasty, { maxLength: 3 }),
});

function text(r: { id: bigint | number; body: string; tail: string[] }, rawNewline: boolean): string {
  let body = JSON.stringify(r.body);
  // a raw newline inside a string is invalid JSON, but line numbers after it must still be right
  if (rawNewline) body = body.replace('\\n', '\n');
  return `{"id":${r.id},"body":${body},"n":[${r.tail.length},1.25e3,-0.5],"tail":${JSON.stringify(r.tail)}}`;
}

describe('splitter fast path', () => {
  it('finds the same records as the byte-by-byte path (JSON array, one element per line)', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 6 }), fc.boolean(), (recs, rawNewline) => {
        const buf = Buffer.from(`[\n${recs.map((r) => text(r, rawNewline)).join(',\n')}\n]\n`);
        expect(split(buf, buf.length, false).map(view)).toEqual(split(buf, 1, false).map(view));
      }),
      { numRuns: 300 },
    );
  });

  it('finds the same records as the byte-by-byte path (JSONL) and parses them to the same values', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 6 }), (recs) => {
        const buf = Buffer.from(recs.map((r) => text(r, false)).join('\n') + '\n');
        const fast = split(buf, buf.length, true);
        expect(fast.map(view)).toEqual(split(buf, 1, true).map(view));
        for (let i = 0; i < recs.length; i++) {
          const value = parseRecord(fast[i]!, 'in').value as { id: unknown; body: string; tail: string[] };
          const id = recs[i]!.id;
          if (typeof id === 'bigint' && id > BigInt(Number.MAX_SAFE_INTEGER)) {
            // more than 15 significant digits: kept exact
            if (String(id).replace(/^0+/, '').length > 15) expect(value.id).toEqual(new LosslessNumber(String(id)));
          } else expect(String(value.id)).toBe(String(id));
          expect(value.body).toBe(recs[i]!.body);
          expect(value.tail).toEqual(recs[i]!.tail);
        }
      }),
      { numRuns: 300 },
    );
  });
});
