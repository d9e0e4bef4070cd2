// An envelope has one record array. Any other member holding an array with elements, before or after it, under
// an envelope key or not, would be records nobody reads: READ_ENVELOPE_EXTRA_ARRAY with its key and byte offset,
// at every chunk size and in JSON files and JSONL lines alike. Empty arrays and arrays nested in other members
// (meta objects) are allowed. The export fails instead of saying "all records accounted for".
import { readdir, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ChatportError } from '../../src/errors.js';
import { loadMapping } from '../../src/mapping/load-mapping.js';
import { runExport } from '../../src/pipeline/run-export.js';
import { RecordSplitter, type RawRecord } from '../../src/readers/record-splitter.js';
import { tempDir } from '../helpers/export-helpers.js';

const CHUNKS = [1, 7, 65536];

function split(input: string, chunk: number, envelopeKeys = ['data'], lines = false): RawRecord[] {
  const buf = Buffer.from(input);
  const s = new RecordSplitter({ file: lines ? 'in.jsonl' : 'in.json', envelopeKeys, maxRecordBytes: 1 << 20, maxDepth: 64, lines });
  const out: RawRecord[] = [];
  for (let i = 0; i < buf.length; i += chunk) out.push(...s.push(buf.subarray(i, i + chunk)));
  out.push(...s.end());
  return out;
}

function failure(input: string, chunk: number, envelopeKeys?: string[], lines?: boolean): ChatportError {
  try {
    split(input, chunk, envelopeKeys, lines);
  } catch (e) {
    if (e instanceof ChatportError) return e;
    throw e;
  }
  throw new Error(`no error for ${input}`);
}

const r = (id: number) => `{"id":${id}}`;

describe('arrays in an envelope', () => {
  const refused: { name: string; input: string; keys?: string[]; key: string; at: string }[] = [
    // the case: a second envelope array under another key, and the first key again
    {
      name: 'an array after the record array (the issue)',
      input: `{"data":[${r(1)}],"items":[${r(2)}],"data":[${r(3)},${r(4)}]}`,
      key: 'items',
      at: '"items":[',
    },
    { name: 'the same key twice', input: `{"data":[${r(1)}], "data" : [${r(2)}]}`, key: 'data', at: ' [{"id":2' },
    { name: 'two different envelope keys', input: `{"messages":[${r(1)}],"data":[${r(2)}]}`, keys: ['messages', 'data'], key: 'data', at: '"data":[' },
    { name: 'an array before the envelope key', input: `{"errors":["x"],"meta":{"n":1},"data":[${r(1)}]}`, key: 'errors', at: '"errors":[' },
    {
      name: 'an envelope-key array before the record array comes under another envelope key',
      input: `{"warnings":[1],"messages":[${r(1)}]}`,
      keys: ['messages', 'data'],
      key: 'warnings',
      at: '"warnings":[',
    },
    { name: 'an array after an empty record array', input: `{"data":[],"items":[${r(1)}]}`, key: 'items', at: '"items":[' },
    { name: 'an array of arrays after it', input: `{"data":[${r(1)}],"more":[[]]}`, key: 'more', at: '"more":[' },
  ];
  for (const c of refused) {
    it(`refuses ${c.name}, naming the key and the byte offset, at every chunk size`, () => {
      const offset = c.input.indexOf(c.at) + c.at.indexOf('[');
      for (const chunk of CHUNKS) {
        const e = failure(c.input, chunk, c.keys);
        expect(e.code).toBe('READ_ENVELOPE_EXTRA_ARRAY');
        expect(e.position.byteOffset).toBe(offset);
        expect(e.message).toContain(`"${c.key}" (byte ${offset})`);
        expect(e.toLine()).not.toContain('\n');
      }
    });
  }

  it('refuses it in a JSONL line too', () => {
    for (const chunk of CHUNKS) {
      const e = failure(`${r(1)}\n{"data":[${r(2)}],"items":[${r(3)}]}\n${r(4)}\n`, chunk, ['data'], true);
      expect(e.code).toBe('READ_ENVELOPE_EXTRA_ARRAY');
      expect(e.position.line).toBe(2);
    }
  });

  it('allows empty arrays, arrays nested in other members, and non-array values under an envelope key', () => {
    const input = `{"errors":[ ],"meta":{"a":[1],"b":{"c":[[2]]},"data":[3]},"data":[${r(1)},${r(2)}],"included":[],"more":{"x":[4]},"data":null}`;
    for (const chunk of CHUNKS) expect(split(input, chunk).map((x) => x.bytes.toString())).toEqual([r(1), r(2)]);
  });

  it('an object without an envelope key holding an array is one record, arrays and all', () => {
    const input = `{"items":[${r(1)}],"tags":["a"]}`;
    for (const chunk of CHUNKS) expect(split(input, chunk).map((x) => x.bytes.toString())).toEqual([input]);
  });

  it('concatenated pages each have their record array', () => {
    const input = `{"data":[${r(1)}],"meta":{"page":1}}\n{"data":[${r(2)}],"meta":{"page":2}}\n`;
    for (const chunk of CHUNKS) expect(split(input, chunk).map((x) => x.bytes.toString())).toEqual([r(1), r(2)]);
  });

  it('the export stops with the error instead of reading the first array only', async () => {
    const mapping = await loadMapping('dashly');
    const part = (id: number) => `{"id":${id},"created":1684923942,"conversation":7,"type":"reply_user","body":"b${id}","from":5}`;
    const input = Buffer.from(`{"data":[${part(1)}],"items":[${part(2)}],"data":[${part(3)},${part(4)}]}`);
    const outDir = await tempDir();
    try {
      const run = runExport({
        mapping,
        sources: [{ name: 'page.json', path: '/nonexistent' }],
        format: 'jsonl',
        outDir,
        onError: 'skip',
        csvRaw: false,
        open: () => Readable.from([input]),
      });
      const error = await run.then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ChatportError);
      expect((error as ChatportError).toLine()).toMatch(/^READ_ENVELOPE_EXTRA_ARRAY page\.json:1 \(record 1, byte \d+\): .*"items"/);
      expect(await readdir(outDir)).toEqual([]); // no output file appears
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  });
});
