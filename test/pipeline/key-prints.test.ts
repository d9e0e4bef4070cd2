// Workers fingerprint each keyed row from the parts of its key text, without building the text; datasets, the
// remembered keys of a forget list and the apply stage fingerprint the joined text (record-errors.ts rowKeyText).
// Both must give the same words for every key, or a merge would take an old row for a new one.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DuplicateKeys, PrintList, fingerprintInto, fingerprintPartsInto } from '../../src/pipeline/duplicate-keys.js';
import { rowKeyText } from '../../src/pipeline/record-errors.js';

const part = fc.oneof(fc.string(), fc.fullUnicodeString(), fc.string16bits(), fc.constantFrom('', '\u0000', 'messages', '9007199254740993'));

function joined(parts: readonly string[]): Uint32Array {
  const out = new Uint32Array(2);
  fingerprintInto(parts.map((p) => p + '\u0000').join(''), out, 0);
  return out;
}

describe('fingerprintPartsInto', () => {
  it("gives the joined key text's fingerprint for any parts", () => {
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), (parts) => {
        const out = new Uint32Array(4);
        fingerprintPartsInto([...parts, 'not read'], parts.length, out, 2);
        expect([...out.subarray(2)]).toEqual([...joined(parts)]);
      }),
      { numRuns: 2000 },
    );
  });

  it("matches rowKeyText's text for a row's key", () => {
    const row = { conversation_id: '361138671', message_id: 12, other: 'x' };
    const out = new Uint32Array(2);
    fingerprintPartsInto(['messages', '361138671', '12'], 3, out, 0);
    const expected = new Uint32Array(2);
    fingerprintInto(rowKeyText('messages', row as never, ['conversation_id', 'message_id']), expected, 0);
    expect([...out]).toEqual([...expected]);
  });
});

describe('PrintList', () => {
  it('appends, cuts back and answers membership like an array of pairs', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ add: fc.array(part, { minLength: 1, maxLength: 3 }) }), fc.record({ cutBack: fc.nat({ max: 6 }) })), { maxLength: 700 }),
        (ops) => {
          const list = new PrintList();
          const model: number[] = [];
          const seen = new DuplicateKeys();
          for (const op of ops) {
            if ('add' in op) {
              list.appendParts(op.add, op.add.length);
              const words = joined(op.add);
              model.push(words[0]!, words[1]!);
              if (model.length % 4 === 0) seen.addPair(words[0]!, words[1]!);
            } else {
              const from = Math.max(0, model.length - op.cutBack * 2);
              let inModel = false;
              for (let k = from; k < model.length; k += 2) inModel ||= seen.hasPair(model[k]!, model[k + 1]!);
              expect(list.anyIn(seen, from)).toBe(inModel);
              expect([...list.cut(from)]).toEqual(model.splice(from));
            }
            expect(list.size).toBe(model.length);
          }
          expect([...list.take()]).toEqual(model);
        },
      ),
      { numRuns: 300 },
    );
  });
});
