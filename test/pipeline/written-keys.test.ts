// The run's set of written keys spills to sorted run files once its in-memory table is full: membership must be
// exactly a plain set's, through any number of spills, and the files go when it closes.

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DuplicateKeys } from '../../src/pipeline/duplicate-keys.js';
import { WrittenKeys } from '../../src/pipeline/written-keys.js';

/** The keys `set` spills, copied out of the table's memory (which the set clears and goes on in). */
function spilled(set: DuplicateKeys): bigint[] {
  let got: bigint[] = [];
  set.spillSorted((keys) => (got = [...keys]));
  return got;
}

describe('DuplicateKeys.spillSorted (a spill sorts the table in its own memory, then goes on in it)', () => {
  it('gives every key held, as h1 << 32 | h2 in ascending order, and leaves an empty set that works', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff })), { maxLength: 3000, selector: ([a, b]) => `${a}/${b}` }),
        (pairs) => {
          const keys = pairs.filter(([a, b]) => a !== 0 || b !== 0); // 0/0 marks an empty slot, never a fingerprint
          const set = new DuplicateKeys();
          for (const [a, b] of keys) set.addPair(a, b);
          const want = keys.map(([a, b]) => (BigInt(a) << 32n) | BigInt(b)).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
          expect(spilled(set)).toEqual(want);
          expect(set.size).toBe(0);
          for (const [a, b] of keys) expect(set.hasPair(a, b)).toBe(false);
          set.addPair(7, 9);
          expect(set.hasPair(7, 9)).toBe(true);
          expect(spilled(set)).toEqual([(7n << 32n) | 9n]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('does the same for a table that has grown several times (100,000 keys)', () => {
    const set = new DuplicateKeys();
    const want: bigint[] = [];
    let x = 0x9e3779b9;
    for (let i = 0; i < 100_000; i++) {
      // xorshift words: spread over the whole table, with both halves varying
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const h1 = x >>> 0;
      const h2 = (i * 2654435761) >>> 0 || 1;
      set.addPair(h1, h2);
      want.push((BigInt(h1) << 32n) | BigInt(h2));
    }
    want.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const got = spilled(set);
    expect(got.length).toBe(want.length);
    expect(got).toEqual(want);
  });

  it('goes on in the same memory, cleared: none of the spilled keys is held, new ones are', () => {
    const set = new DuplicateKeys(60_000);
    const slots = set.slots;
    const held: [number, number][] = [];
    for (let i = 1; i <= 60_000; i++) held.push([(i * 2654435761) >>> 0, i]);
    for (const [a, b] of held) set.addPair(a, b);
    expect(set.slots).toBe(slots); // sized for its capacity: it never grew
    let memory: ArrayBufferLike | null = null;
    set.spillSorted((keys) => (memory = keys.buffer));
    expect(new Uint32Array(memory!).every((w) => w === 0)).toBe(true);
    for (const [a, b] of held) expect(set.hasPair(a, b)).toBe(false);
    for (let i = 1; i <= 60_000; i += 3) set.addPair(i, (i * 40503) >>> 0 || 1);
    expect(set.size).toBe(20_000);
    for (let i = 1; i <= 60_000; i++) expect(set.hasPair(i, (i * 40503) >>> 0 || 1)).toBe(i % 3 === 1);
    // the keys added since are in the memory the spill handed out: the set went on in it
    expect(new Uint32Array(memory!).some((w) => w !== 0)).toBe(true);
    expect(set.slots).toBe(slots);
  });

  it('is cleared even when the write fails', () => {
    const set = new DuplicateKeys();
    set.addPair(1, 2);
    expect(() =>
      set.spillSorted(() => {
        throw new Error('disk full');
      }),
    ).toThrow('disk full');
    expect(set.size).toBe(0);
    expect(set.hasPair(1, 2)).toBe(false);
    set.addPair(3, 4);
    expect(spilled(set)).toEqual([(3n << 32n) | 4n]);
  });
});

describe('WrittenKeys', () => {
  it('answers exactly like a plain set, in memory and after spills', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'chatport-keys-'));
    try {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.nat({ max: 0xffffffff })), { maxLength: 400 }),
          fc.integer({ min: 1, max: 64 }),
          (keys, memoryKeys) => {
            const set = new WrittenKeys(dir, memoryKeys);
            const plain = new Set<string>();
            try {
              for (const [a, b] of keys) {
                // small h1 values make neighbours share blocks and filters; 0/0 is the empty-slot marker, never a fingerprint
                const h1 = a;
                const h2 = b === 0 && a === 0 ? 1 : b;
                const id = `${h1}/${h2}`;
                expect(set.hasPair(h1, h2)).toBe(plain.has(id));
                if (!plain.has(id)) {
                  set.addPair(h1, h2);
                  plain.add(id);
                }
                expect(set.hasPair(h1, h2)).toBe(true);
              }
              expect(set.size).toBe(plain.size);
              if (plain.size > memoryKeys) expect(set.spilledRuns).toBeGreaterThan(0);
            } finally {
              set.close();
            }
          },
        ),
        { numRuns: 200 },
      );
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('holds its whole table from the start and keeps it through spills', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'chatport-keys-'));
    const set = new WrittenKeys(dir, 60_000);
    try {
      const slots = set.tableSlots;
      expect(slots * 0.7).toBeGreaterThanOrEqual(60_000);
      for (let i = 1; i <= 200_000; i++) set.addPair((i * 2654435761) >>> 0, i);
      expect(set.spilledRuns).toBe(3);
      expect(set.tableSlots).toBe(slots);
      expect(set.size).toBe(200_000);
      for (let i = 1; i <= 200_000; i += 7) expect(set.hasPair((i * 2654435761) >>> 0, i)).toBe(true);
      for (let i = 200_001; i <= 210_000; i++) expect(set.hasPair((i * 2654435761) >>> 0, i)).toBe(false);
    } finally {
      set.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('finds keys across many runs and many blocks', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'chatport-keys-'));
    const set = new WrittenKeys(dir, 5000);
    try {
      for (let i = 1; i <= 30_000; i++) set.addPair((i * 2654435761) >>> 0, i);
      expect(set.spilledRuns).toBe(6);
      for (let i = 1; i <= 30_000; i += 97) expect(set.hasPair((i * 2654435761) >>> 0, i)).toBe(true);
      let falsePositives = 0;
      for (let i = 30_001; i <= 40_000; i++) if (set.hasPair((i * 2654435761) >>> 0, i)) falsePositives++;
      expect(falsePositives).toBe(0);
    } finally {
      set.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('duplicates across spilled keys, through an export', () => {
  it('gives the same output and rejects whether the written keys stay in memory or spill every 50 keys', async () => {
    const { Readable } = await import('node:stream');
    const { readFile } = await import('node:fs/promises');
    const { loadMapping } = await import('../../src/mapping/load-mapping.js');
    const { runExport } = await import('../../src/pipeline/run-export.js');
    const mapping = await loadMapping('dashly');
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      // every 7th part repeats one 1,000 parts earlier: the first copy is long spilled when the repeat comes
      const id = i % 7 === 0 && i >= 1000 ? i - 1000 : i;
      lines.push(JSON.stringify({ id: 10_000 + id, conversation: 7 + (id % 13), created: 1684923942 + i, type: 'reply_user', body: `b${i}`, from: 5 }));
    }
    const bytes = Buffer.from(lines.join('\n') + '\n');
    const outputs: string[] = [];
    for (const writtenKeysInMemory of [undefined, 50]) {
      const outDir = await mkdtemp(path.join(tmpdir(), 'chatport-keys-out-'));
      try {
        const stats = await runExport({
          mapping,
          sources: [{ name: 'parts.jsonl', path: '/unused' }],
          format: 'jsonl',
          outDir,
          onError: 'skip',
          csvRaw: false,
          open: () => Readable.from([bytes]),
          ...(writtenKeysInMemory ? { writtenKeysInMemory } : {}),
        });
        expect(stats.recordsRejected).toBe(286);
        outputs.push((await readFile(path.join(outDir, 'messages.jsonl'), 'utf8')) + (await readFile(path.join(outDir, 'rejects.jsonl'), 'utf8')));
      } finally {
        await rm(outDir, { recursive: true, force: true });
      }
    }
    expect(outputs[1]).toBe(outputs[0]);
  });
});
