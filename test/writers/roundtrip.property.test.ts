// Property tests: any Unicode text written by any writer reads back exactly (JSONL and CSV by their standards'
// rules, Parquet and CSV also through DuckDB on smaller samples), and our JSON fast path never differs from
// stableStringify.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LosslessNumber } from '../../src/json/lossless-number.js';
import { stableStringify } from '../../src/json/stable-json.js';
import { TABLES, type Row } from '../../src/model/canonical-schema.js';
import { jsonText } from '../../src/writers/column-values.js';
import { isFormulaLike } from '../../src/writers/csv-writer.js';
import { WRITERS } from '../../src/writers/registry.js';
import type { FormatName } from '../../src/writers/writer.js';
import { parseCsv, query, readCsvSql, sqlString, tempDir } from './helpers.js';

/** Property runs write and read many files; give them room beyond vitest's default 5 s. */
const SLOW = 60_000;
const table = TABLES.answers;
const COLUMNS = table.columns.map((c) => c.name);
const VALUE_AT = COLUMNS.indexOf('value');
const QUESTION_AT = COLUMNS.indexOf('question');

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

let fileNo = 0;
/** Writes one answers row per string (value = s, question = s reversed by code point) and returns the path. */
async function writeStrings(format: FormatName, strings: string[], csvRaw = false): Promise<string> {
  const path = join(tmp.dir, `p${fileNo++}.${format}`);
  const w = await WRITERS[format].open({ table, path, csvRaw });
  const rows: Row[] = strings.map((s, i) => ({
    source: 'prop',
    conversation_id: 'c',
    position: i,
    value: s,
    question: [...s].reverse().join(''),
  }));
  await w.write(rows);
  await w.close();
  return path;
}

const reversed = (s: string): string => [...s].reverse().join('');
const text = fc.fullUnicodeString({ maxLength: 60 });
// Characters that stress each format: separators, quotes, line breaks, formula starts, NUL, astral emoji.
const hostile = fc
  .array(fc.constantFrom(',', '"', '\r', '\n', '\r\n', '=', '+', '-', '@', '\t', "'", '\u0000', '😀', 'é', ' ', 'x', '\\', '\u2028'), { maxLength: 12 })
  .map((parts) => parts.join(''));
const anyText = fc.oneof(text, hostile);

describe('JSONL', () => {
  it('round-trips arbitrary Unicode text exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyText, { minLength: 1, maxLength: 30 }), async (strings) => {
        const path = await writeStrings('jsonl', strings);
        const back = readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(back.map((r) => r.value)).toEqual(strings);
        expect(back.map((r) => r.question)).toEqual(strings.map(reversed));
      }),
      { numRuns: 150 },
    );
  }, SLOW);

  it('keeps even unpaired surrogates, as JSON escapes', async () => {
    const strings = ['\ud800', 'a\udfffb', '\udc00\ud800'];
    const path = await writeStrings('jsonl', strings);
    expect(readFileSync(path, 'utf8')).toContain('"value":"\\ud800"');
    const back = readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(back.map((r) => r.value)).toEqual(strings);
  });
});

describe('CSV', () => {
  it('round-trips arbitrary Unicode text exactly with csvRaw (strict RFC 4180 reader)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyText, { minLength: 1, maxLength: 30 }), async (strings) => {
        const path = await writeStrings('csv', strings, true);
        const records = parseCsv(readFileSync(path, 'utf8'));
        expect(records[0]).toEqual(COLUMNS);
        expect(records.slice(1).map((r) => r[VALUE_AT])).toEqual(strings);
        expect(records.slice(1).map((r) => r[QUESTION_AT])).toEqual(strings.map(reversed));
      }),
      { numRuns: 150 },
    );
  }, SLOW);

  it("by default changes exactly the formula-like cells, by one leading '", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyText, { minLength: 1, maxLength: 30 }), async (strings) => {
        const path = await writeStrings('csv', strings);
        const values = parseCsv(readFileSync(path, 'utf8')).slice(1).map((r) => r[VALUE_AT]);
        expect(values).toEqual(strings.map((s) => (isFormulaLike(s) ? "'" + s : s)));
      }),
      { numRuns: 100 },
    );
  }, SLOW);

  it('reads back exactly through DuckDB (sample)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyText, { minLength: 1, maxLength: 40 }), async (strings) => {
        const path = await writeStrings('csv', strings, true);
        const back = await query(`SELECT value, question FROM ${readCsvSql(path, COLUMNS)}`);
        expect(back.map((r) => r.value)).toEqual(strings);
        expect(back.map((r) => r.question)).toEqual(strings.map(reversed));
      }),
      { numRuns: 25 },
    );
  }, SLOW);
});

describe('Parquet', () => {
  it('reads back exactly through DuckDB (sample)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyText, { minLength: 1, maxLength: 40 }), async (strings) => {
        const path = await writeStrings('parquet', strings);
        const back = await query(`SELECT value, question FROM read_parquet(${sqlString(path)})`);
        expect(back.map((r) => r.value)).toEqual(strings);
        expect(back.map((r) => r.question)).toEqual(strings.map(reversed));
      }),
      { numRuns: 25 },
    );
  }, SLOW);

  it('writes unpaired surrogates, which UTF-8 cannot hold, as U+FFFD', async () => {
    const path = await writeStrings('parquet', ['a\ud800b']);
    const back = await query(`SELECT value FROM read_parquet(${sqlString(path)})`);
    expect(back[0]!.value).toBe('a\ufffdb');
  });
});

describe('jsonText', () => {
  const lossless = fc.oneof(fc.bigInt(), fc.double({ noNaN: true, noDefaultInfinity: true })).map((n) => new LosslessNumber(String(n)));
  const tree = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.constant(null),
      fc.boolean(),
      fc.double(),
      fc.fullUnicodeString({ maxLength: 10 }),
      lossless,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(fc.fullUnicodeString({ maxLength: 6 }), tie('value'), { maxKeys: 4 }),
      fc.constant(undefined),
    ),
  }));

  it('prints exactly what stableStringify prints', () => {
    fc.assert(
      fc.property(tree.value, (v) => {
        fc.pre(v !== undefined);
        expect(jsonText(v)).toBe(stableStringify(v));
      }),
      { numRuns: 2_000 },
    );
  }, SLOW);
});
