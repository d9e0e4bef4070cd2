// Expertflow CX CIM messages through mappings/expertflow-cx.yaml alone: a second shape of the same vendor is
// one more mapping file. Golden files for every format from samples/expertflow-cx (every documented body type,
// sender type and intent), and a FILE-like body's single attachment object read as a list of one.
import { describe, expect, it } from 'vitest';
import { goldenRows, sampleVocabulary, vendorGoldenSuite } from './golden-harness.js';

const INPUTS = ['samples/expertflow-cx/cim-messages.json', 'samples/expertflow-cx/cim-messages.jsonl'];
const EXPECTED = 'test/vendors/expertflow-cx/expected';

vendorGoldenSuite({
  from: 'expertflow-cx',
  inputs: INPUTS,
  expectedDir: EXPECTED,
  tables: ['messages', 'conversations'],
  checkStats: (s) => {
    expect(s.records_read).toBe(20);
    expect(s.tables).toEqual({ messages: { rows_written: 20, skipped_by_rule: 0 }, conversations: { rows_written: 2, skipped_by_rule: 0 } });
    expect(s.unknown_enum_values).toEqual({});
  },
});

describe('expertflow-cx samples cover the notes', () => {
  it('carry every documented field and enum value at least once', async () => {
    const vocab = await sampleVocabulary(INPUTS, ['messages', 'data']);
    const documented = [
      'id',
      'header.sender.id',
      'header.sender.type',
      'header.sender.senderName',
      'header.channelData',
      'header.timestamp',
      'header.intent',
      'header.conversationId',
      'header.customer',
      'body.type',
      'body.markdownText',
      ...['mediaUrl', 'thumbnail', 'mimeType', 'size', 'mediaLabel', 'mediaName'].map((k) => `body.attachment.${k}`),
      'body.location.latitude',
      'body.location.longitude',
      'body.contacts[]',
      'body.buttons[].title',
      'body.buttons[].payload',
      'body.buttons[].type',
      ...['BOT', 'APP', 'AGENT', 'CUSTOMER'].map((v) => `header.sender.type=${v}`),
      ...['START_CHAT', 'END_CHAT'].map((v) => `header.intent=${v}`),
      ...['PLAIN', 'FILE', 'IMAGE', 'VIDEO', 'BUTTON', 'CAROUSEL', 'LOCATION', 'CONTACT', 'URL', 'NOTIFICATION'].map((v) => `body.type=${v}`),
      'header.timestamp=1651938185571',
    ];
    expect(documented.filter((d) => !vocab.has(d))).toEqual([]);
  });

  it('give one attachment per FILE-like body, its unmapped fields kept in the attachment extra', async () => {
    const rows = await goldenRows(EXPECTED, 'messages');
    const withFiles = rows.filter((r) => ['FILE', 'IMAGE', 'VIDEO', 'AUDIO', 'STICKER'].includes(r.source_type as string));
    expect(withFiles.map((r) => (r.attachments as unknown[]).length)).toEqual([1, 1, 1, 1, 1]);
    expect(withFiles[0]!.attachments).toEqual([
      {
        name: 'bill-may.jpg',
        mime_type: 'image/jpeg',
        size: 284113,
        url: 'https://cx.example.com/file-engine/api/downloadFileStream?filename=bill-may.jpg',
        extra: { thumbnail: '', mediaLabel: 'bill' },
      },
    ]);
    expect(rows.filter((r) => r.attachments !== null)).toHaveLength(5);
  });

  it('derive closed conversations from END_CHAT and take the CX customer profile id', async () => {
    const conv = await goldenRows(EXPECTED, 'conversations');
    expect(conv.map((c) => [c.conversation_id, c.status, c.customer_id, c.message_count])).toEqual([
      ['6276aa105c1f2a0012a50a00', 'closed', '6276aa115c1f2a0012a50a01', 16],
      ['6276bb105c1f2a0012a50b00', 'closed', '6276bb115c1f2a0012a50b01', 4],
    ]);
  });
});
