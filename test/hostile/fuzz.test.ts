// Fuzzing the readers and the mapping engine with fast-check: random bytes and mutated real exports must end
// in rows or in a coded ChatportError (never another exception or a hang), and a removed part whose removal
// marker survived the mutation never leaks its content into rows, rejects or error messages.

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChatportError } from '../../src/errors.js';
import { loadMapping } from '../../src/mapping/load-mapping.js';
import { canonicalRows } from '../../src/pipeline/canonical-rows.js';
import type { RejectEntry } from '../../src/pipeline/record-errors.js';
import { runExport } from '../../src/pipeline/run-export.js';
import { RunStats } from '../../src/pipeline/run-stats.js';
import { stableStringify } from '../../src/json/stable-json.js';

const mapping = await loadMapping('dashly');

async function run(bytes: Uint8Array, onError: 'fail' | 'skip', name = 'fuzz.json'): Promise<{ out: string; error: ChatportError | null }> {
  const rejects: RejectEntry[] = [];
  let out = '';
  try {
    for await (const { row } of canonicalRows({
      mapping,
      sources: [{ name, path: '/nonexistent' }],
      onError,
      stats: new RunStats(),
      onReject: (r: RejectEntry) => void rejects.push(r),
      maxDepth: 64,
      open: () => Readable.from([Buffer.from(bytes)]),
    })) {
      out += stableStringify(row);
    }
  } catch (e) {
    if (!(e instanceof ChatportError)) throw e;
    return { out: out + JSON.stringify(rejects), error: e };
  }
  return { out: out + JSON.stringify(rejects), error: null };
}

const SECRET = 'SECRETxyz123';
const valid = JSON.stringify([
  { id: 1, created: 1684923942.5, conversation: 7, type: 'reply_user', body: 'hello [world] {"x"}', from: 5 },
  {
    id: 2,
    created: 1684923943,
    conversation: 7,
    type: 'reply_admin',
    body: 'ok',
    from: { id: 9, name: 'A', type: 'admin' },
    attachments: [{ id: 3, filename: 'f.pdf', created: 1684923940 }],
  },
  { id: 3, created: 1684923944, conversation: 7, type: 'reply_user', removed: 1690000000, body: `my card ${SECRET}`, body_json: { a: SECRET }, from: 5 },
]);

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 8 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.constantFrom('{', '}', '[', ']', '"', ',', ':', '\\', '\n', 'null', '1e999', '"\\u0000"', '\uFEFF', '99999999999999999999'),
  }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
);

function mutate(text: string, ms: { kind: string; at: number; len?: number; text?: string; byte?: number }[]): Buffer {
  let buf = Buffer.from(text);
  for (const m of ms) {
    const at = buf.length ? m.at % buf.length : 0;
    if (m.kind === 'delete') buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + (m.len ?? 1))]);
    else if (m.kind === 'insert') buf = Buffer.concat([buf.subarray(0, at), Buffer.from(m.text!), buf.subarray(at)]);
    else if (buf.length) buf[at] = m.byte!;
  }
  return buf;
}

describe('fuzz', () => {
  it('random bytes: rows or a coded error, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), fc.constantFrom('fail' as const, 'skip' as const), async (bytes, policy) => {
        await run(bytes, policy);
      }),
      { numRuns: 400 },
    );
  });

  it('random JSON values: rows or a coded error, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), fc.constantFrom('fail' as const, 'skip' as const), fc.boolean(), async (value, policy, asJsonl) => {
        const text = asJsonl && Array.isArray(value) ? value.map((v) => JSON.stringify(v)).join('\n') : JSON.stringify(value);
        await run(Buffer.from(text), policy, asJsonl ? 'fuzz.jsonl' : 'fuzz.json');
      }),
      { numRuns: 400 },
    );
  });

  it('mutated exports: rows or a coded error, and a still-marked removed part never leaks', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.constantFrom('fail' as const, 'skip' as const), async (ms, policy) => {
        const bytes = mutate(valid, ms);
        const { out, error } = await run(bytes, policy);
        const text = bytes.toString('latin1');
        // only while the removed part still says it is removed, and its secret is inside that same record
        const removedIntact = /"id":3,"created":1684923944,"conversation":7,"type":"reply_user","removed":1690000000,/.test(text);
        if (removedIntact) {
          expect(out).not.toContain(SECRET);
          if (error) expect(error.message).not.toContain(SECRET);
        }
      }),
      { numRuns: 600 },
    );
  });
});

/** The export path (segments, with and without workers): rows and rejects.jsonl as text, or the run's error. */
async function runExportOf(bytes: Uint8Array, workers: number, name = 'fuzz.json'): Promise<{ out: string; error: ChatportError | null }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'chatport-fuzz-'));
  try {
    await runExport({
      mapping,
      sources: [{ name, path: '/nonexistent' }],
      format: 'jsonl',
      outDir: dir,
      onError: 'skip',
      csvRaw: false,
      workers,
      open: () => Readable.from([Buffer.from(bytes)]),
    });
    let out = '';
    for (const f of (await readdir(dir)).sort()) out += await readFile(path.join(dir, f), 'utf8');
    return { out, error: null };
  } catch (e) {
    if (!(e instanceof ChatportError)) throw e;
    return { out: '', error: e };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('removed and malformed', () => {
  it('a value that is not a record (an array of records) never puts a removed part into rejects', async () => {
    // found by the mutation fuzzer: "[" before a JSON array makes its records one element, an array; mapping it
    // fails before removed_when runs, so only the text can tell whether a removed part is inside
    const nested = Buffer.from('[' + valid + ']');
    const rowPath = await run(nested, 'skip');
    expect(rowPath.error).toBeNull();
    expect(rowPath.out).toContain('READ_NOT_A_RECORD');
    expect(rowPath.out).not.toContain(SECRET);
    for (const workers of [0, 2]) {
      const exported = await runExportOf(nested, workers);
      expect(exported.error).toBeNull();
      expect(exported.out).toContain('READ_NOT_A_RECORD');
      expect(exported.out).not.toContain(SECRET);
    }
    // a second record's "removed" must count too: one not-removed marker does not clear a text holding two records
    const mixed = Buffer.from(`[[{"id":1,"removed":null,"body":"fine"},{"id":2,"removed":1690000000,"body":"${SECRET}"}]]`);
    expect((await run(mixed, 'skip')).out).not.toContain(SECRET);
    // a key spelled with escapes is the same key to JSON.parse
    const escaped = Buffer.from(`[[{"id":1,"removed":null},{"id":2,"remov\\u0065d":1690000000,"body":"${SECRET}"}]]`);
    expect((await run(escaped, 'skip')).out).not.toContain(SECRET);
    // positive control: a value that shows it is not removed keeps its text for the user to fix
    const kept = await run(Buffer.from('[[{"id":1,"removed":null,"body":"visible"}]]'), 'skip');
    expect(kept.out).toContain('visible');
  }, 60_000);

  it('a JSONL line that is removed and broken is rejected without its body; the error line does not quote it', async () => {
    const lines = [
      '{"id":1,"created":1684923942,"conversation":7,"type":"reply_user","body":"fine","from":5}',
      `{"id":3,"created":1684923944,"conversation":7,"type":"reply_user","removed":1690000000,"body":"my card ${SECRET}","from":5,}`,
      `{"id":4,"created":"not a time ${SECRET}","conversation":7,"type":"reply_user","removed":1690000000,"body":"${SECRET}","from":5}`,
    ].join('\n');
    const skipped = await run(Buffer.from(lines), 'skip', 'parts.jsonl');
    expect(skipped.error).toBeNull();
    expect(skipped.out).not.toContain(SECRET);
    expect(skipped.out).toContain('raw_withheld');
    const failed = await run(Buffer.from(lines), 'fail', 'parts.jsonl');
    expect(failed.error?.code).toBe('READ_INVALID_JSON');
    expect(failed.error?.message).not.toContain(SECRET);
    const failedMap = await run(
      Buffer.from(
        lines
          .split('\n')
          .filter((_, i) => i !== 1)
          .join('\n'),
      ),
      'fail',
      'parts.jsonl',
    );
    expect(failedMap.error?.code).toBe('MAP_INVALID_TIMESTAMP');
    expect(failedMap.error?.message).not.toContain(SECRET);
  });
});
