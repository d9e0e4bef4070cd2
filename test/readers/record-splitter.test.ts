// The splitter finds the same records in every container shape and at every chunk size, and fails with a
// coded error on malformed containers.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RecordSplitter, type RawRecord } from '../../src/readers/record-splitter.js';
import { ChatportError } from '../../src/errors.js';

function split(input: string | Buffer, chunkSize: number, envelopeKeys = ['data']): RawRecord[] {
  const buf = typeof input === 'string' ? Buffer.from(input) : input;
  const s = new RecordSplitter({ file: 'in.json', envelopeKeys, maxRecordBytes: 1 << 20, maxDepth: 64 });
  const out: RawRecord[] = [];
  for (let i = 0; i < buf.length; i += chunkSize) out.push(...s.push(buf.subarray(i, i + chunkSize)));
  out.push(...s.end());
  return out;
}
const texts = (rs: RawRecord[]) => rs.map((r) => r.bytes.toString());
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ChatportError) return e.code;
    throw e;
  }
  return 'none';
}

const records = ['{"id":1,"t":"a, ]}\\"x"}', '{"id":2,"n":[1,{"x":[]}]}', '{"id":3,"s":"{\\\\"}'];
const shapes: Record<string, string> = {
  array: `[\n ${records.join(',\n ')}\n]\n`,
  envelope: `{"meta":{"status":200,"data":[9]},"data":[${records.join(',')}],"more":{"a":[1]}}`,
  envelopeMetaLast: `{"data":[${records.join(',')}],"meta":{"next":null}}`,
  jsonl: records.join('\n') + '\n',
  jsonlCrlfNoFinalNewline: records.join('\r\n'),
  concatenatedPages: `{"data":[${records[0]}]}\n{"data":[${records[1]},${records[2]}]}`,
  bom: '\uFEFF' + `[${records.join(',')}]`,
};

describe('record splitter', () => {
  for (const [name, input] of Object.entries(shapes)) {
    it(`${name}: same records at 1, 7 and 65536 byte chunks`, () => {
      for (const size of [1, 7, 65536]) expect(texts(split(input, size))).toEqual(records);
    });
  }

  it('reports line numbers for JSONL and byte offsets everywhere', () => {
    const rs = split(shapes.jsonl!, 3);
    expect(rs.map((r) => r.line)).toEqual([1, 2, 3]);
    expect(rs.map((r) => r.byteOffset)).toEqual([0, records[0]!.length + 1, records[0]!.length + records[1]!.length + 2]);
    expect(rs.map((r) => r.recordIndex)).toEqual([0, 1, 2]);
  });

  it('flags number literals longer than a double holds, not digits inside strings', () => {
    const rs = split('[{"id":1453279698921457472},{"t":1684923942.123456},{"s":"12345678901234567890"},{"n":123456789012345}]', 5);
    expect(rs.map((r) => r.longNumbers !== null)).toEqual([true, true, false, false]);
  });

  it('yields scalars inside arrays as records so the parser can reject them', () => {
    expect(texts(split('[null, 5, "x", true]', 2))).toEqual(['null', '5', '"x"', 'true']);
  });

  it('a lone object is one record', () => {
    expect(texts(split('{"object":"event","data":{"id":"CVR-1"}}', 4))).toEqual(['{"object":"event","data":{"id":"CVR-1"}}']);
  });

  it('coded errors for broken containers', () => {
    expect(codeOf(() => split('', 4))).toBe('READ_EMPTY');
    expect(codeOf(() => split('  \n ', 4))).toBe('READ_EMPTY');
    expect(codeOf(() => split('[{"id":1},{"id":2', 4))).toBe('READ_TRUNCATED');
    expect(codeOf(() => split('[{"id":1},{"t":"abc', 4))).toBe('READ_TRUNCATED');
    expect(codeOf(() => split('{"data":[{"id":1}', 4))).toBe('READ_TRUNCATED');
    expect(codeOf(() => split('[{"id":1}] garbage', 4))).toBe('READ_TRAILING_DATA');
    expect(codeOf(() => split('[{"id":1}]]', 4))).toBe('READ_TRAILING_DATA');
    expect(codeOf(() => split('hello', 4))).toBe('READ_UNKNOWN_CONTAINER');
    expect(codeOf(() => split('42', 4))).toBe('READ_UNKNOWN_CONTAINER');
  });

  it('marks too deep and too large records without stopping the stream', () => {
    const deep = '['.repeat(100) + ']'.repeat(100);
    const rs = split(`[{"a":${deep}},{"id":2}]`, 7);
    expect(rs[0]!.problem?.code).toBe('READ_TOO_DEEP');
    expect(texts(rs.slice(1))).toEqual(['{"id":2}']);
    const s = new RecordSplitter({ file: 'x', envelopeKeys: [], maxRecordBytes: 10, maxDepth: 64 });
    const big = [...s.push(Buffer.from('[{"t":"0123456789abc"},{"id":2}]')), ...s.end()];
    expect(big[0]!.problem?.code).toBe('READ_TOO_LARGE'.replace('TOO', 'RECORD_TOO'));
    expect(big[1]!.bytes.toString()).toBe('{"id":2}');
  });

  it('property: any chunking of an array of random JSON objects gives the same records', () => {
    fc.assert(
      fc.property(fc.array(fc.dictionary(fc.string(), fc.jsonValue()), { maxLength: 8 }), fc.integer({ min: 1, max: 50 }), (objs, size) => {
        const parts = objs.map((o) => JSON.stringify(o));
        for (const shape of [`[${parts.join(',')}]`, `{"data":[${parts.join(' , ')}]}`]) {
          const got = texts(split(shape, size)).map((t) => JSON.parse(t));
          expect(got).toEqual(objs.map((o) => JSON.parse(JSON.stringify(o))));
        }
        if (parts.length) expect(texts(split(parts.join('\n'), size)).map((t) => JSON.parse(t))).toEqual(objs.map((o) => JSON.parse(JSON.stringify(o))));
      }),
      { numRuns: 300 },
    );
  });
});

describe('JSONL line mode', () => {
  const lines = (input: string, chunk = 3, opts: { lines?: boolean } = {}) => {
    const s = new RecordSplitter({ file: 'in.jsonl', envelopeKeys: ['data'], maxRecordBytes: 1 << 20, maxDepth: 64, ...opts });
    const buf = Buffer.from(input);
    const out: RawRecord[] = [];
    for (let i = 0; i < buf.length; i += chunk) out.push(...s.push(buf.subarray(i, i + chunk)));
    out.push(...s.end());
    return out;
  };

  it('a broken line is one bad record and never swallows the next lines', () => {
    for (const size of [1, 3, 1000]) {
      const rs = lines('{"id":1}\n{"id":2,"t":"unterminated\n{"id":3}\nnull\n42\n{"id":4} junk\n{"id":5}\n', size);
      expect(rs.map((r) => [r.line, r.bytes.toString(), r.problem?.code ?? null])).toEqual([
        [1, '{"id":1}', null],
        [2, '{"id":2,"t":"unterminated', null],
        [3, '{"id":3}', null],
        [4, 'null', null],
        [5, '42', null],
        [6, '{"id":4}', null],
        [6, 'junk', null],
        [7, '{"id":5}', null],
      ]);
    }
  });

  it('a last line cut short is a READ_TRUNCATED record, not a fatal error', () => {
    const rs = lines('{"id":1}\n{"id":2,"t":"abc');
    expect(rs.map((r) => r.problem?.code ?? null)).toEqual([null, 'READ_TRUNCATED']);
  });

  it('CRLF line ends and blank lines are fine', () => {
    expect(texts(lines('{"id":1}\r\n\r\n{"id":2}\r\n'))).toEqual(['{"id":1}', '{"id":2}']);
  });

  it('a .jsonl file is read by lines from its first line', () => {
    const rs = lines('{"id":1,"t":"cut\n{"id":2}\n', 2, { lines: true });
    expect(texts(rs)).toEqual(['{"id":1,"t":"cut', '{"id":2}']);
  });

  it('pretty-printed concatenated objects are still read structurally', () => {
    expect(texts(lines('{\n "id": 1\n}\n{\n "id": 2\n}\n')).map((t) => JSON.parse(t).id)).toEqual([1, 2]);
  });
});
