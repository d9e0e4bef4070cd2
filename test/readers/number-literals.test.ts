// An id is the literal text of its JSON number, always. A number literal becomes a JS number only when JavaScript
// prints that number back as the very same text (and it has at most 15 significant digits); every other literal
// (1.0, -0, 1E2, 0.10, 1e21, ids past 2^53) is a LosslessNumber holding its text. Checked for the rule itself, for
// the ranges the splitter finds in both of its loops and every chunking, for parseRecord (marked and reviver
// paths), for invalid literals, for the mapping's comparisons and conversions, and end to end through an export.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChatportError } from '../../src/errors.js';
import { LosslessNumber, isUnsafeNumberText } from '../../src/json/lossless-number.js';
import { compileRule } from '../../src/mapping/compile-rule.js';
import { compileCondition } from '../../src/mapping/compile-condition.js';
import { NO_ANCESTORS, type MapContext } from '../../src/mapping/rule-scope.js';
import { loadMapping } from '../../src/mapping/load-mapping.js';
import { TextGuard } from '../../src/http/untrusted-text.js';
import { runExport } from '../../src/pipeline/run-export.js';
import { parseRecord } from '../../src/readers/parse-record.js';
import { RecordSplitter, type RawRecord } from '../../src/readers/record-splitter.js';
import { tempDir } from '../helpers/export-helpers.js';

/** Significant digits of a literal: from the first non-zero digit, exponent excluded. */
function significantDigits(t: string): number {
  const mantissa = t.split(/[eE]/)[0]!.replace(/[-.]/g, '').replace(/^0+/, '');
  return mantissa.length;
}

/** What the rule says, written the slow and obvious way. */
const keptByDefinition = (t: string) => /[eE]/.test(t) || significantDigits(t) > 15 || String(Number(t)) !== t;

/** Valid JSON number literals, biased towards the spellings that matter. */
const literal = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => String(x)),
  fc.integer().map(String),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  fc
    .tuple(
      fc.boolean(),
      fc.oneof(fc.constant('0'), fc.stringMatching(/^[1-9][0-9]{0,20}$/)),
      fc.option(fc.stringMatching(/^[0-9]{1,20}$/), { nil: null }),
      fc.option(fc.stringMatching(/^[eE][+-]?[0-9]{1,3}$/), { nil: null }),
    )
    .map(([neg, int, frac, exp]) => `${neg ? '-' : ''}${int}${frac === null ? '' : '.' + frac}${exp ?? ''}`),
  fc.constantFrom('-0', '0', '-0.0', '1.0', '0.10', '1E2', '1e21', '1e+21', '0.000001', '0.0000001', '1e-7', '100', '9007199254740993', '18446744073709551615'),
);

function split(text: string, chunk: number, lines: boolean): RawRecord[] {
  const buf = Buffer.from(text);
  const s = new RecordSplitter({ file: 'in', envelopeKeys: ['data'], maxRecordBytes: 1 << 20, maxDepth: 64, lines });
  const out: RawRecord[] = [];
  for (let i = 0; i < buf.length; i += chunk) out.push(...s.push(buf.subarray(i, i + chunk)));
  out.push(...s.end());
  return out;
}

/** The texts the splitter marks as kept in a record. */
const markedTexts = (r: RawRecord) => {
  const out: string[] = [];
  for (let k = 0; k < (r.longNumbers?.length ?? 0); k += 2) out.push(r.bytes.toString('latin1', r.longNumbers![k]!, r.longNumbers![k + 1]!));
  return out;
};

/** Every number in a parsed value, as the text it would print: a LosslessNumber's own, a number's String. */
function numberTexts(v: unknown, out: string[] = []): string[] {
  if (v instanceof LosslessNumber) out.push(v.raw);
  else if (typeof v === 'number') out.push(String(v));
  else if (Array.isArray(v)) for (const x of v) numberTexts(x, out);
  else if (v !== null && typeof v === 'object') for (const k in v) numberTexts((v as Record<string, unknown>)[k], out);
  return out;
}

describe('which number literals are kept as text', () => {
  it('the rule: kept exactly when JavaScript would not print the literal back (or it has an exponent or over 15 digits)', () => {
    fc.assert(
      fc.property(literal, (t) => {
        expect(isUnsafeNumberText(t)).toBe(keptByDefinition(t));
      }),
      { numRuns: 5000 },
    );
    for (const t of ['-0', '-0.0', '1.0', '0.10', '1E2', '1e21', '0.0000001', '9007199254740993']) expect(isUnsafeNumberText(t), t).toBe(true);
    for (const t of ['0', '-5', '1', '0.1', '0.000001', '123456789012345', '-0.5']) expect(isUnsafeNumberText(t), t).toBe(false);
    for (const t of ['1.', '01', '--1', '1e', '.5', '+1', '1.0.0', '-', '１']) expect(isUnsafeNumberText(t), t).toBe(false); // not JSON numbers
  });

  it('the splitter notes every literal the rule keeps, in both loops and at every chunk size, and none inside strings', () => {
    // it notes candidates (a fraction, an exponent, a minus, or over 15 characters); the rule picks from them
    const isCandidate = (t: string) => /[-.eE]/.test(t) || t.length > 15;
    fc.assert(
      fc.property(fc.array(literal, { minLength: 1, maxLength: 6 }), (lits) => {
        const rec = `{"a":${lits[0]},"b":[${lits.slice(1).join(',')}],"s":"${lits.join(' ')}","o":{"x":${lits[0]}}}`;
        const inOrder = [lits[0]!, ...lits.slice(1), lits[0]!];
        for (const t of inOrder.filter(keptByDefinition)) expect(isCandidate(t)).toBe(true);
        for (const [text, lines] of [
          [`[${rec},\n${rec}]`, false],
          [`{"data":[${rec}]}`, false],
          [`${rec}\n${rec}\n`, true],
          [`${rec}\n${rec}`, false], // JSONL found from the first line
          [`{"id":${lits[0]},"data":[${rec}]}`, false], // a top-level object read member by member, then an envelope
        ] as const) {
          for (const chunk of [1, 5, 1 << 16]) {
            const records = split(text, chunk, lines);
            expect(records.length).toBeGreaterThan(0);
            for (const r of records) expect(markedTexts(r)).toEqual(inOrder.filter(isCandidate));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('parseRecord gives every literal back as its own text, through the marks and through the reviver', () => {
    // strings that begin with a control character, as a marked literal does (only the escape spells one): the
    // splitter notes a string that opens with a backslash, and parseRecord then picks a marker the record lacks
    const strings = ['x', 'x\\u0000', '\\u0000', '\\u0001', '\\n'];
    fc.assert(
      fc.property(
        fc.array(literal, { minLength: 1, maxLength: 8 }),
        fc.constantFrom(...strings),
        fc.boolean(),
        fc.constantFrom(1, 7, 1 << 16),
        (lits, prefix, asKey, chunk) => {
          // a string like a marked literal: the marker's escape, then the literal's digits
          const s = `${prefix}${lits[0]!.replace('-', '')}`;
          // the string first: unmark stops once it has found as many marked strings as there are literals
          const text = asKey ? `[{"${s}":"${s}","n":[${lits.join(',')}]}]` : `[{"s":"${s}","n":[${lits.join(',')}]}]`;
          const [raw] = split(text, chunk, false);
          const value = parseRecord(raw!, 'in').value as Record<string, unknown> & { n: unknown[] };
          expect(numberTexts(value.n)).toEqual(lits);
          for (let i = 0; i < lits.length; i++) expect(value.n[i] instanceof LosslessNumber).toBe(keptByDefinition(lits[i]!));
          expect(value[asKey ? JSON.parse(`"${s}"`) : 's']).toBe(JSON.parse(`"${s}"`));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a record whose strings open with no escape is marked without a search; one whose string does is searched', () => {
    const [plain] = split('[{"id":12345678901234567890,"s":"a\\u0000b"}]', 1 << 16, false);
    const [escaped] = split('[{"id":12345678901234567890,"s":"\\u0000"}]', 1 << 16, false);
    expect(plain!.escapeOpensString).toBe(false);
    expect(escaped!.escapeOpensString).toBe(true);
    expect(parseRecord(escaped!, 'in').value).toEqual({ id: new LosslessNumber('12345678901234567890'), s: '\u0000' });
  });

  it('the migration parses Dashly answers by the same rule', () => {
    const guard = new TextGuard(['a-secret-token-123']);
    const v = guard.wrap('{"data":{"id":1.0,"n":-0,"e":1E2,"big":18446744073709551615,"ok":5}}').json() as { data: Record<string, unknown> };
    expect(numberTexts(v.data)).toEqual(['1.0', '-0', '1E2', '18446744073709551615', '5']);
    expect(guard.wrap('{"id":1234567890123456789.}').json()).toBeUndefined();
  });

  it('an invalid literal is refused, not taken as a quoted id (1234567890123456789. used to parse)', () => {
    for (const bad of ['1234567890123456789.', '12345678901234567890e', '1.0.0', '-0-', '--1', '1e5.0']) {
      const [raw] = split(`[{"id":${bad}}]`, 1 << 16, false);
      let code = 'none';
      try {
        parseRecord(raw!, 'in');
      } catch (e) {
        code = e instanceof ChatportError ? e.code : String(e);
      }
      expect(code, bad).toBe('READ_INVALID_JSON');
    }
  });
});

describe('kept literals in mapping rules', () => {
  const ctx = (): MapContext => ({ unknownEnum: () => {} });
  const scope = { file: 'test.yaml', at: 'tables.messages.columns.x', column: 'x', consumed: null, upConsumed: [], inJson: false } as const;
  const parsed = (n: string) => (parseRecord(split(`[{"x":${n}}]`, 64, false)[0]!, 'in').value as { x: unknown }).x;
  const test = (cond: unknown, n: string) => compileCondition(cond as never, scope)(parsed(n) === undefined ? {} : { x: parsed(n) }, NO_ANCESTORS, ctx());
  const rule = (spec: unknown, type: string, n: string) =>
    compileRule(spec as never, { ...scope, type: type as never })({ x: parsed(n) }, NO_ANCESTORS, 0, ctx());

  it('numbers compare by value when a double holds them exactly: 1.0 equals 1, -0 equals 0; long ids by their digits', () => {
    expect(test({ path: 'x', equals: 1 }, '1.0')).toBe(true);
    expect(test({ path: 'x', equals: 100 }, '1E2')).toBe(true);
    expect(test({ path: 'x', in: [0, 5] }, '-0')).toBe(true);
    expect(test({ path: 'x', in: [0.1] }, '0.10')).toBe(true);
    expect(test({ path: 'x', equals: 1 }, '1.5')).toBe(false);
    expect(test({ path: 'x', equals: '1.0' }, '1.0')).toBe(false); // a number never equals a string
    expect(test({ path: 'x', truthy: true }, '0.0')).toBe(false);
    expect(test({ path: 'x', truthy: true }, '-0')).toBe(false);
    expect(test({ path: 'x', truthy: true }, '1.0')).toBe(true);
    expect(test({ path: 'x', is: 'number' }, '1E2')).toBe(true);
    // a YAML mapping's big literal, as JavaScript holds it (2^64): it must not equal a different id's text
    // eslint-disable-next-line no-loss-of-precision
    expect(test({ path: 'x', in: [18446744073709551615] }, '18446744073709551614')).toBe(false);
  });

  it('null_if, enum and the conversions read a kept literal as the number it spells; id and string keep its text', () => {
    expect(rule({ path: 'x', null_if: [0] }, 'json', '0.0')).toBeNull();
    expect(rule({ path: 'x', enum: { 1: 'message' }, unknown: 'event' }, 'string', '1.0')).toBe('message');
    expect(rule({ path: 'x', convert: 'integer' }, 'integer', '1.0')).toBe(1);
    expect(rule({ path: 'x', convert: 'boolean' }, 'boolean', '0.0')).toBe(false);
    expect(rule({ path: 'x', convert: 'boolean' }, 'boolean', '1.0')).toBe(true);
    expect(rule({ path: 'x', convert: 'unix_seconds' }, 'timestamp', '1684923942.10')).toBe(1684923942100000);
    expect(rule({ path: 'x', convert: 'unix_seconds' }, 'timestamp', '-0')).toBe(0);
    expect(Object.is(rule({ path: 'x', convert: 'unix_seconds' }, 'timestamp', '-0'), 0)).toBe(true);
    for (const n of ['-0', '1.0', '1E2', '0.10', '1e21']) expect(rule({ path: 'x', convert: 'id' }, 'string', n)).toBe(n);
    expect(() => rule({ path: 'x', convert: 'number' }, 'json', '1e400')).toThrow(/expected a number/);
  });
});

describe('end to end', () => {
  it('ids that JavaScript would print alike stay apart, and json columns print every literal as it came', async () => {
    const mapping = await loadMapping('dashly');
    // each pair is one id spelled two ways (as JSON.parse would print it, and as the vendor sent it)
    const ids = ['0', '-0', '1', '1.0', '100', '1E2', '0.1', '0.10', '1e+21', '1e21'];
    const part = (id: string, i: number) =>
      `{"id":${id},"created":1684923942.${i}0,"conversation":7,"type":"reply_user","body":"b","from":5,"removed":${i % 2 ? '0.0' : '-0'},"score":1.50,"ratio":${id}}`;
    const input = Buffer.from(ids.map(part).join('\n') + '\n');
    const outDir = await tempDir();
    try {
      const stats = await runExport({
        mapping,
        sources: [{ name: 'parts.jsonl', path: '/nonexistent' }],
        format: 'jsonl',
        outDir,
        onError: 'fail',
        csvRaw: false,
        open: () => Readable.from([input]),
      });
      expect(stats.recordsRejected).toBe(0);
      expect(stats.recordsRedacted).toBe(0); // removed: 0.0 and -0 are "not removed", as 0 is
      const rows = (await readFile(path.join(outDir, 'messages.jsonl'), 'utf8')).trim().split('\n');
      expect(rows.map((l) => JSON.parse(l).message_id)).toEqual(ids);
      // the rest of each record, in extra, as the vendor wrote it
      for (let i = 0; i < ids.length; i++) expect(rows[i]).toContain(`"score":1.50,"ratio":${ids[i]}`);
      // JSONL timestamps always carry six fraction digits (docs/formats.md)
      expect(rows.map((l) => JSON.parse(l).created_at)).toEqual(ids.map((_, i) => `2023-05-24T10:25:42.${i}00000Z`));
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  });
});
