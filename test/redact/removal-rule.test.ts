// The one removal decision (src/redact/removal-rule.ts), the same on every path: a record that parses, a record whose
// text holds the removal field twice (JSON.parse keeps only the last), and a record whose text does not parse. Unit
// cases for the lenient reader it uses, then the decision through a whole export.

import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePartialJson } from '../../src/json/partial-json.js';
import { LosslessNumber } from '../../src/json/lossless-number.js';
import { loadMapping } from '../../src/mapping/load-mapping.js';
import { runExport } from '../../src/pipeline/run-export.js';
import { RemovalRule } from '../../src/redact/removal-rule.js';
import { tempDir } from '../helpers/export-helpers.js';

const dashly = await loadMapping('dashly');
const rule = new RemovalRule(dashly);
const bytes = (s: string) => Buffer.from(s);

describe('parsePartialJson', () => {
  it('reads a whole value like JSON.parse, long numbers exact', () => {
    const p = parsePartialJson('{"a":[1,2,{"b":null}],"c":"x\\u0041","d":12345678901234567890,"e":true}');
    expect(p.complete).toBe(true);
    expect(p.value).toEqual({ a: [1, 2, { b: null }], c: 'xA', d: new LosslessNumber('12345678901234567890'), e: true });
    expect(p.repeatedKeys.size).toBe(0);
  });

  it('stops at the first problem and keeps what came before; closed containers are known', () => {
    const p = parsePartialJson('{"id":1,"removed":null,"nested":{"x":1},"body":"bad \\x escape","later":2}');
    expect(p.complete).toBe(false);
    const v = p.value as Record<string, unknown>;
    expect(v).toEqual({ id: 1, removed: null, nested: { x: 1 } });
    expect(p.isClosed(v)).toBe(false);
    expect(p.isClosed(v.nested as object)).toBe(true);
    expect(p.stoppedAt).toBe('{"id":1,"removed":null,"nested":{"x":1},"body":"bad '.length);
  });

  it('never reads a number cut by the end of the text', () => {
    const p = parsePartialJson('{"id":1,"removed":169');
    expect(p.value).toEqual({ id: 1 });
  });

  it('reports keys written twice in one object, at any depth, however they are spelled', () => {
    expect([...parsePartialJson('{"removed":1,"x":{"a":1,"a":2},"removed":null}').repeatedKeys].sort()).toEqual(['a', 'removed']);
    expect([...parsePartialJson('{"removed":1,"remov\\u0065d":null}').repeatedKeys]).toEqual(['removed']);
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        parsePartialJson(s);
      }),
      { numRuns: 500 },
    );
  });
});

describe('RemovalRule', () => {
  it('a record that parsed: removed_when, and a removal field written twice counts as removed', () => {
    expect(rule.ofRecord({ removed: null }, bytes('{"id":1,"removed":null}'))).toBe(false);
    expect(rule.ofRecord({ removed: 1690000000 }, bytes('{"id":1,"removed":1690000000}'))).toBe(true);
    // JSON.parse kept the last value (null); the text also says removed
    expect(rule.ofRecord({ removed: null }, bytes('{"removed":1700000000,"id":1,"removed":null}'))).toBe(true);
    expect(rule.ofRecord({ removed: null }, bytes('{"remov\\u0065d":1700000000,"id":1,"removed":null}'))).toBe(true);
    // the word inside a text value is not a key
    expect(rule.ofRecord({ removed: null }, bytes('{"id":1,"body":"\\"removed\\" twice: \\"removed\\"","removed":null}'))).toBe(false);
  });

  it('"0" is not removed, on every path (the loose false Dashly sends), and a timestamp string is', () => {
    expect(rule.ofRecord({ removed: '0' }, bytes('{"removed":"0"}'))).toBe(false);
    expect(rule.ofText(bytes('{"id":1,"removed":"0","body":"broken \\x"}'))).toBe('kept');
    expect(rule.ofRecord({ removed: '1690000000' }, bytes('{"removed":"1690000000"}'))).toBe(true);
    expect(rule.ofText(bytes('{"id":1,"removed":"1690000000","body":"broken \\x"}'))).toBe('removed');
  });

  it('a text that does not parse: kept only when it shows for certain that the record is not removed', () => {
    expect(rule.ofText(bytes('{"id":1,"removed":null,"body":"a raw \u0001 control char is read through","x":}'))).toBe('kept');
    expect(rule.ofText(bytes('{"id":1,"removed":1690000000,"body":"x",}'))).toBe('removed');
    // cut before the removal field: it may have followed
    expect(rule.ofText(bytes('{"id":1,"body":"cut sh'))).toBe('unknown');
    // a removal field after the place where reading stopped may be the one JSON.parse would keep
    expect(rule.ofText(bytes('{"id":1,"removed":null,"body":"bad \\x","removed":1690000000}'))).toBe('unknown');
    expect(rule.ofText(bytes('{"id":1,"removed":null,"body":"bad \\x","remov\\u0065d":1}'))).toBe('unknown');
    // the whole object closed without the field: it is really absent
    expect(rule.ofText(bytes('{"id":1,"body":"x"} trailing'))).toBe('kept');
    // not a record
    expect(rule.ofText(bytes('[{"id":1,"removed":1690000000}]'))).toBe('removed');
    expect(rule.ofText(bytes('[{"id":1,"removed":null},{"id":2}]'))).toBe('kept');
    expect(rule.ofText(bytes('[{"id":1,"removed":null},3]'))).toBe('unknown');
    expect(rule.ofValue(42, bytes('42'))).toBe('kept');
    expect(rule.ofValue('text', bytes('"text"'))).toBe('unknown');
  });
});

describe('the decision through an export', () => {
  async function exportLines(lines: string[]): Promise<{ messages: string; rejects: string }> {
    const outDir = await tempDir();
    try {
      await runExport({
        mapping: dashly,
        sources: [{ name: 'in.jsonl', path: '/unused' }],
        format: 'jsonl',
        outDir,
        onError: 'skip',
        csvRaw: false,
        open: () => Readable.from([Buffer.from(lines.join('\n') + '\n')]),
      });
      const read = (name: string) => readFile(path.join(outDir, name), 'utf8').catch(() => '');
      return { messages: await read('messages.jsonl'), rejects: await read('rejects.jsonl') };
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  }

  it('a removal field written twice (any order, any spelling) is redacted, never exported with its text', async () => {
    const spellings = ['"removed"', '"remov\\u0065d"', '"\\u0072emoved"'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...spellings), fc.constantFrom(...spellings), fc.boolean(), async (a, b, removedFirst) => {
        const values = removedFirst ? ['1700000000', 'null'] : ['null', '1700000000'];
        const line = `{${a}:${values[0]},"id":5,"conversation":7,"created":1684923942,"type":"reply_user","body":"LEAK-BODY","from":3,${b}:${values[1]}}`;
        const { messages, rejects } = await exportLines([line]);
        expect(messages + rejects).not.toContain('LEAK-BODY');
        expect(messages).toContain('"redacted":true');
      }),
      { numRuns: 18 },
    );
  });

  it('"removed":"0" is exported with its text whether the line parses or not; a broken line with a removal time is withheld', async () => {
    const good = '{"id":1,"conversation":7,"created":1684923942,"type":"reply_user","body":"KEEP-ME","from":3,"removed":"0"}';
    const broken = '{"id":2,"conversation":7,"created":1684923942,"type":"reply_user","removed":"0","body":"KEEP-RAW \\x"}';
    const brokenRemoved = '{"id":3,"conversation":7,"created":1684923942,"type":"reply_user","removed":"1690000000","body":"HIDE-RAW \\x"}';
    const { messages, rejects } = await exportLines([good, broken, brokenRemoved]);
    expect(messages).toContain('KEEP-ME');
    expect(messages).toContain('"redacted":false');
    expect(rejects).toContain('KEEP-RAW');
    expect(rejects).not.toContain('HIDE-RAW');
  });
});
