// The ordered scheduler alone (no business rule): results in input order whatever order work finishes in, never more
// than maxInFlight started and not handed out, the input pulled only as results are taken (backpressure), results
// read before an input failure come out before it, and stopping early stops the input.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inOrder, type Ticket } from '../../src/pipeline/ordered-scheduler.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function* items<T>(list: T[], log?: string[]): AsyncGenerator<T> {
  for (const x of list) {
    log?.push(`pull ${String(x)}`);
    yield x;
  }
}

describe('inOrder', () => {
  it('gives results in input order whatever order the work finishes in, with at most maxInFlight started ahead', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(5), { minLength: 0, maxLength: 25 }), fc.integer({ min: 1, max: 6 }), async (delays, maxInFlight) => {
        let started = 0;
        let taken = 0;
        let most = 0;
        const start = (i: number): Ticket<number> => {
          started++;
          most = Math.max(most, started - taken);
          const done = sleep(delays[i]!).then(() => i * 10);
          return () => done;
        };
        const out: number[] = [];
        for await (const r of inOrder(items(delays.map((_, i) => i)), start, maxInFlight)) {
          taken++;
          out.push(r);
        }
        expect(out).toEqual(delays.map((_, i) => i * 10));
        expect(most).toBeLessThanOrEqual(maxInFlight);
      }),
      { numRuns: 60 },
    );
  });

  it('pulls the input only as results are taken (backpressure)', async () => {
    const log: string[] = [];
    const gen = inOrder(items([1, 2, 3, 4, 5], log), (x) => () => Promise.resolve(x), 2);
    expect((await gen.next()).value).toBe(1);
    // two started (1, 2), one handed out: 3 is not read yet
    expect(log).toEqual(['pull 1', 'pull 2']);
    await gen.return(undefined);
  });

  it('hands out the results read before an input failure, then the failure', async () => {
    async function* failing(): AsyncGenerator<number> {
      yield 1;
      yield 2;
      throw new Error('read failed');
    }
    const out: number[] = [];
    await expect(
      (async () => {
        for await (const r of inOrder(failing(), (x) => () => sleep(5).then(() => x), 4)) out.push(r);
      })(),
    ).rejects.toThrow('read failed');
    expect(out).toEqual([1, 2]);
  });

  it('a failed item fails at its turn, after the results before it', async () => {
    const out: number[] = [];
    const start = (x: number): Ticket<number> => {
      const p = x === 3 ? Promise.reject(new Error('item 3')) : Promise.resolve(x);
      p.catch(() => {});
      return () => p;
    };
    await expect(
      (async () => {
        for await (const r of inOrder(items([1, 2, 3, 4]), start, 4)) out.push(r);
      })(),
    ).rejects.toThrow('item 3');
    expect(out).toEqual([1, 2]);
  });

  it('stopping early stops the input', async () => {
    let closed = false;
    async function* endless(): AsyncGenerator<number> {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    for await (const r of inOrder(endless(), (x) => () => Promise.resolve(x), 3)) if (r === 5) break;
    expect(closed).toBe(true);
  });

  it('refuses a maxInFlight below 1', async () => {
    await expect(inOrder(items([1]), (x) => () => Promise.resolve(x), 0).next()).rejects.toThrow(RangeError);
  });
});
