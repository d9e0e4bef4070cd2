// An unknown vendor value must not turn into a confident wrong value (issue 10 item 20): the shipped mappings give it
// no value (null) or the cautious one, and count it, and Dashly's part type outranks an author type it does not know.

import { describe, expect, it } from 'vitest';
import { mapRecord } from '../../src/mapping/map-rows.js';
import { loadMapping } from '../../src/mapping/load-mapping.js';

async function mapWith(vendor: string, record: unknown): Promise<{ rows: { table: string; row: Record<string, unknown> }[]; unknown: string[] }> {
  const mapping = await loadMapping(vendor);
  const unknown: string[] = [];
  const rows = mapRecord(mapping, record, { unknownEnum: (column: string, value: string) => unknown.push(`${column}=${value}`) }).rows;
  return { rows: rows.map((r) => ({ table: r.table, row: r.row as Record<string, unknown> })), unknown };
}

const part = (type: string, from: unknown) => ({ id: 1, conversation: 5, type, body: 'hi', created: 1700000000, removed: null, from, direction: 'u2a' });

describe('Dashly roles', () => {
  it("a reply_user part whose from is an object of a type the mapping does not list is the customer's, and the type is counted", async () => {
    const { rows, unknown } = await mapWith('dashly', part('reply_user', { id: 9, type: 'user', name: 'V' }));
    expect(rows.find((r) => r.table === 'messages')!.row.role).toBe('customer');
    expect(unknown).toContain('role=user');
  });

  it('an admin object of a known type still decides (the common case)', async () => {
    const { rows } = await mapWith('dashly', part('reply_user', { id: 9, type: 'bot', name: 'B' }));
    expect(rows.find((r) => r.table === 'messages')!.row.role).toBe('bot');
  });

  it('neither the author type nor the part type known: no role, both counted', async () => {
    const { rows, unknown } = await mapWith('dashly', part('reply_hologram', { id: 9, type: 'mystery', name: 'X' }));
    expect(rows.find((r) => r.table === 'messages')!.row.role).toBeNull();
    expect(unknown).toEqual(expect.arrayContaining(['role=mystery', 'role=reply_hologram']));
  });
});

describe('the other shipped mappings', () => {
  it('LiveChat: an author of unknown type has no role; an unknown visibility is internal, never public', async () => {
    const chat = {
      id: 'C1',
      users: [{ id: 'u1', type: 'robot', name: 'R' }],
      threads: [
        {
          id: 'T1',
          created_at: '2024-01-01T00:00:00.000000Z',
          events: [{ id: 'e1', type: 'message', text: 'x', author_id: 'u1', created_at: '2024-01-01T00:00:00.000000Z', visibility: 'supervisors' }],
        },
      ],
    };
    const { rows, unknown } = await mapWith('livechat', chat);
    const message = rows.find((r) => r.table === 'messages')!.row;
    expect(message.role).toBeNull();
    expect(message.visibility).toBe('internal');
    expect(unknown).toEqual(expect.arrayContaining(['role=robot', 'visibility=supervisors']));
  });

  it('Zendesk Chat: an unknown chat type and starter give no status and no initiated_by', async () => {
    const { rows, unknown } = await mapWith('zendesk-chat', {
      id: 'Z1',
      type: 'hologram',
      started_by: 'nobody',
      timestamp: '2024-01-01T00:00:00Z',
      history: [],
    });
    const conversation = rows.find((r) => r.table === 'conversations')!.row;
    expect([conversation.status, conversation.initiated_by]).toEqual([null, null]);
    expect(unknown).toEqual(expect.arrayContaining(['status=hologram', 'initiated_by=nobody']));
  });
});
