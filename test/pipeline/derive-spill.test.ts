// Derived conversations are the same whether their aggregates stay in memory or spill to disk in many runs,
// and whatever order the parts arrive in; spill files are removed afterwards.

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadMapping } from '../../src/mapping/load-mapping.js';
import { canonicalRows } from '../../src/pipeline/canonical-rows.js';
import { compareIds } from '../../src/pipeline/derive-conversations.js';
import { RunStats } from '../../src/pipeline/run-stats.js';
import { stableStringify } from '../../src/json/stable-json.js';
import { ROOT } from '../helpers/export-helpers.js';

const mapping = await loadMapping('dashly');
const sample = await readFile(path.join(ROOT, 'samples/dashly/parts.json'));

async function conversations(bytes: Buffer, maxConversationsInMemory?: number): Promise<string[]> {
  const out: string[] = [];
  for await (const { table, row } of canonicalRows({
    mapping,
    sources: [{ name: 'parts.json', path: '/unused' }],
    onError: 'fail',
    stats: new RunStats(),
    // small chunks make many batches, so the aggregates spill many times and runs must be merged
    open: () => Readable.from(Array.from({ length: Math.ceil(bytes.length / 300) }, (_, i) => bytes.subarray(i * 300, i * 300 + 300))),
    ...(maxConversationsInMemory !== undefined ? { maxConversationsInMemory } : {}),
  })) {
    if (table === 'conversations') out.push(stableStringify(row));
  }
  return out;
}

async function spillDirs(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((n) => n.startsWith('chatport-derive-'));
}

describe('derived conversations spill to disk', () => {
  it('spilling after every conversation gives the same rows as keeping all in memory', async () => {
    const before = await spillDirs();
    const inMemory = await conversations(sample);
    expect(inMemory).toHaveLength(3);
    for (const limit of [0, 1, 2]) expect(await conversations(sample, limit)).toEqual(inMemory);
    expect(await spillDirs()).toEqual(before);
  });

  it('reversed and interleaved input order gives the same conversations, spilled or not', async () => {
    // the sample holds ids above 2^53, so it is reordered as text, record by record
    const records = sample.toString('utf8').trim().slice(1, -1).trim().split(/,\n/);
    const reversed = Buffer.from(`[${[...records].reverse().join(',\n')}]`);
    const interleaved = Buffer.from(
      `[${records
        .filter((_, i) => i % 2 === 0)
        .concat(records.filter((_, i) => i % 2 === 1))
        .join(',\n')}]`,
    );
    const expected = await conversations(sample);
    for (const input of [reversed, interleaved]) {
      expect(await conversations(input)).toEqual(expected);
      expect(await conversations(input, 1)).toEqual(expected);
    }
  });
});

it('a deriver with a limit of one really writes and merges several runs', async () => {
  const { ConversationDeriver } = await import('../../src/pipeline/derive-conversations.js');
  const spill = await mkdtemp(path.join(tmpdir(), 'chatport-derive-test-'));
  const d = new ConversationDeriver(mapping.derived[0]!, spill, 1);
  const ctx = { unknownEnum() {} };
  const rows = [
    { conversation_id: '2', created_at: 5, kind: 'message', role: 'customer', author_id: 'a', channel: 'web', event_type: null, payload: null },
    { conversation_id: '1', created_at: 7, kind: 'message', role: 'customer', author_id: 'b', channel: 'web', event_type: null, payload: null },
    { conversation_id: '2', created_at: 3, kind: 'event', role: 'system', author_id: 'x', channel: null, event_type: 'tag_added', payload: { tag: 't' } },
    { conversation_id: '10', created_at: 1, kind: 'message', role: 'customer', author_id: 'c', channel: 'email', event_type: null, payload: null },
  ];
  for (const r of rows) {
    d.add(r, ctx);
    await d.maybeSpill();
  }
  expect(d.spilledRuns).toBeGreaterThanOrEqual(2);
  const out = [];
  for await (const r of d.rows()) out.push(r);
  expect(out.map((r) => [r.conversation_id, r.message_count, r.created_at, r.tags, r.customer_id])).toEqual([
    ['1', 1, 7, [], 'b'],
    ['2', 2, 3, ['t'], 'a'],
    ['10', 1, 1, [], 'c'],
  ]);
  await rm(spill, { recursive: true, force: true });
});

it('compareIds orders ids as its definition says: all-digit ids numerically (any length), before other ids by code unit', () => {
  // the definition, written the slow way
  const reference = (a: string, b: string): number => {
    const an = /^\d+$/.test(a);
    const bn = /^\d+$/.test(b);
    if (an && bn) {
      const x = a.replace(/^0+(?=\d)/, '');
      const y = b.replace(/^0+(?=\d)/, '');
      if (x.length !== y.length) return x.length - y.length;
      if (x !== y) return x < y ? -1 : 1;
      return a < b ? -1 : a > b ? 1 : 0;
    }
    if (an !== bn) return an ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  };
  const id = fc.oneof(fc.stringMatching(/^0{0,3}\d{0,22}$/), fc.string({ maxLength: 6 }), fc.constantFrom('', '0', '00', '٣', '1a', 'a1'));
  fc.assert(
    fc.property(id, id, (a, b) => {
      expect(Math.sign(compareIds(a, b))).toBe(Math.sign(reference(a, b)));
    }),
    { numRuns: 5_000 },
  );
});
