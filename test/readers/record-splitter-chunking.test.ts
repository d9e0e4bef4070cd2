// The same bytes give the same records whatever the chunking, for any input, broken ones included: record bytes,
// positions, shapes, boundaries, number ranges and problems, or the same error. The lexer keeps its state across
// chunk boundaries, and which path reads a value never depends on where a chunk ends (the old splitter kept a CR
// of a CRLF split across chunks, and cut a JSONL array element at its newline only when the chunk ended first).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChatportError } from '../../src/errors.js';
import { RecordSplitter } from '../../src/readers/record-splitter.js';

function split(buf: Buffer, chunk: number, lines: boolean): unknown {
  const s = new RecordSplitter({ file: 'in', envelopeKeys: ['data'], maxRecordBytes: 120, maxDepth: 6, lines });
  const out: unknown[] = [];
  try {
    for (let i = 0; i < buf.length; i += chunk) {
      for (const r of s.push(buf.subarray(i, i + chunk))) {
        out.push({ ...r, bytes: r.bytes.toString('latin1'), problem: r.problem ? [r.problem.code, r.problem.message, r.problem.position] : null });
      }
    }
    for (const r of s.end())
      out.push({ ...r, bytes: r.bytes.toString('latin1'), problem: r.problem ? [r.problem.code, r.problem.message, r.problem.position] : null });
  } catch (e) {
    if (!(e instanceof ChatportError)) throw e;
    // records handed out before a run-level error depend on the chunking; the error does not
    return { error: [e.code, e.message, e.position] };
  }
  return out;
}

/** Pieces of JSON, whole and broken, that the splitter treats specially. */
const piece = fc.constantFrom(
  '{',
  '}',
  '[',
  ']',
  '"',
  ',',
  ':',
  '\\',
  '\n',
  '\r\n',
  '\r',
  ' ',
  'a',
  '1',
  '-',
  '.',
  'e',
  '12345678901234567890',
  '1.0',
  '-0',
  '"data"',
  '"data":[',
  '"items":[1]',
  'null',
  '{"id":1}',
  '{"id":"x\\"y"}',
  '{"data":[{"id":2}]}',
  '[[[[[[[',
  ']]]]]]]',
  '\uFEFF',
  '"\\u0000"',
  '"a long string of text, longer than the lexer skips byte by byte"',
);
const input = fc.oneof(
  fc.array(piece, { maxLength: 60 }).map((p) => p.join('')),
  fc
    .array(fc.dictionary(fc.constantFrom('id', 'data', 'x'), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }), { maxLength: 4 })
    .map((rs) => rs.map((r) => JSON.stringify(r)).join('\n')),
);

describe('record splitter, any chunking', () => {
  it('property: 1, 3 and 7 byte chunks give what the whole input gives, in JSON files and in JSONL', () => {
    fc.assert(
      fc.property(input, fc.boolean(), (text, lines) => {
        const buf = Buffer.from(text);
        const whole = split(buf, Math.max(1, buf.length), lines);
        for (const chunk of [1, 3, 7]) expect(split(buf, chunk, lines)).toEqual(whole);
      }),
      { numRuns: 3000 },
    );
  });

  it('a CRLF split across chunks is not part of a cut JSONL line', () => {
    const text = Buffer.from('{"id":1,"t":"cut\r\n{"id":2}\r\n');
    for (const chunk of [1, 2, 17, 18, 100]) {
      const rs = split(text, chunk, true) as { bytes: string }[];
      expect(rs.map((r) => r.bytes)).toEqual(['{"id":1,"t":"cut', '{"id":2}']);
    }
  });
});
