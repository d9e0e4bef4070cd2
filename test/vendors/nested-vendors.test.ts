// Zendesk Chat (history entries without ids, an offline message, nick -> author id by extract) and LiveChat
// (threads[*].events[*] with the chat's users looked up by author_id, a thread's own fields under ^, a thread without
// events kept under $rowless) through their shipped mappings alone: golden files for every format.
import { describe, expect, it } from 'vitest';
import { goldenRows, vendorGoldenSuite } from './golden-harness.js';

vendorGoldenSuite({
  from: 'zendesk-chat',
  inputs: ['samples/zendesk-chat/chats.json'],
  expectedDir: 'test/vendors/zendesk-chat/expected',
  tables: ['messages', 'conversations', 'page_visits'],
  checkStats: (s) => {
    expect(s.records_read).toBe(2);
    expect(s.tables).toEqual({
      messages: { rows_written: 9, skipped_by_rule: 1 },
      conversations: { rows_written: 2, skipped_by_rule: 0 },
      page_visits: { rows_written: 1, skipped_by_rule: 0 },
    });
    expect(s.unknown_enum_values).toEqual({});
  },
});

vendorGoldenSuite({
  from: 'livechat',
  inputs: ['samples/livechat/chats.json'],
  expectedDir: 'test/vendors/livechat/expected',
  tables: ['messages', 'conversations', 'form_fields'],
  checkStats: (s) => {
    expect(s.records_read).toBe(1);
    expect(s.tables).toEqual({
      messages: { rows_written: 7, skipped_by_rule: 0 },
      conversations: { rows_written: 1, skipped_by_rule: 0 },
      form_fields: { rows_written: 2, skipped_by_rule: 0 },
    });
    expect(s.unknown_enum_values).toEqual({});
  },
});

describe('nested vendors', () => {
  it('zendesk-chat: ids from the chat id and position, authors from nick', async () => {
    const rows = await goldenRows('test/vendors/zendesk-chat/expected', 'messages');
    expect(rows.map((r) => [r.message_id, r.role, r.author_id]).slice(0, 4)).toEqual([
      ['1609.2051.Q5cTqyGJxiNm4#0', 'customer', '1.2345678'],
      ['1609.2051.Q5cTqyGJxiNm4#1', 'customer', '1.2345678'],
      ['1609.2051.Q5cTqyGJxiNm4#2', 'agent', '361138671'],
      ['1609.2051.Q5cTqyGJxiNm4#3', 'agent', '361138671'],
    ]);
  });

  it("livechat: roles and names from the chat's users, a thread's fields under ^, an empty thread under $rowless", async () => {
    const rows = await goldenRows('test/vendors/livechat/expected', 'messages');
    expect(rows.map((r) => r.role)).toEqual(['customer', 'system', 'customer', 'agent', 'customer', 'agent', 'customer']);
    expect((rows[0]!.extra as Record<string, Record<string, unknown>>)['^']!.next_thread_id).toBe('K600PKZON9');
    const [conversation] = await goldenRows('test/vendors/livechat/expected', 'conversations');
    expect(Object.keys((conversation!.extra as Record<string, Record<string, unknown>>).$rowless!)).toEqual(['threads[2]']);
  });
});
