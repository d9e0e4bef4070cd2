// Grouping per conversation: the spilled external sort gives the same groups and order as the in-memory path.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { groupByConversation } from '../../src/migrate/conversation-order.js';
import { toMigrateMessage, type MigrateMessage } from '../../src/migrate/migrate-message.js';
import { expectedOrder, message } from './migrate-fixtures.js';

async function* gen(list: MigrateMessage[]): AsyncGenerator<MigrateMessage> {
  yield* list;
}

async function collect(list: MigrateMessage[], maxBufferedChars?: number) {
  const g = await groupByConversation(gen(list), maxBufferedChars === undefined ? {} : { maxBufferedChars });
  const out = new Map<string, string[]>();
  for (const c of g.conversations) {
    const ids: string[] = [];
    for await (const m of c.items()) if (m.table === 'messages') ids.push(m.message_id);
    expect(ids).toHaveLength(c.count);
    out.set(c.conversationId, ids);
  }
  const result = { out, runs: g.spilledRuns, customers: g.conversations.map((c) => c.customerId) };
  await g.close();
  return result;
}

describe('groupByConversation', () => {
  it('orders by created_at with ties in input order, in memory and spilled alike', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ c: fc.integer({ min: 0, max: 6 }), t: fc.option(fc.integer({ min: 0, max: 5 }), { nil: null }) }), { maxLength: 150 }),
        async (spec) => {
          const rows = spec.map((s, i) => message(`c${s.c}`, `m${i}`, s.t));
          const list = rows.map((r, i) => toMigrateMessage(r, i));
          const memory = await collect(list);
          const spilled = await collect(list, 2000);
          expect(memory.runs).toBe(0);
          if (list.length > 12) expect(spilled.runs).toBeGreaterThan(1);
          const want = expectedOrder(rows);
          expect(memory.out).toEqual(want);
          expect(spilled.out).toEqual(want);
          expect(spilled.customers).toEqual(memory.customers);
        },
      ),
      { numRuns: 40 },
    );
  });
});
