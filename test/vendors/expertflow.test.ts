// Expertflow Hybrid Chat through mappings/expertflow.yaml alone: golden files for every format from
// samples/expertflow (every messageType, tag, activityType, participant type and channel of the docs, the
// getMessagesByRefId envelope, arrays and JSONL), and one instant whichever timestamp form arrives.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportTo, tempDir, type ExportRun } from '../helpers/export-helpers.js';
import { goldenRows, sampleVocabulary, vendorGoldenSuite } from './golden-harness.js';

const INPUTS = ['samples/expertflow/messages-by-refid.json', 'samples/expertflow/messages.json', 'samples/expertflow/messages.jsonl'];
const EXPECTED = 'test/vendors/expertflow/expected';

vendorGoldenSuite({
  from: 'expertflow',
  inputs: INPUTS,
  expectedDir: EXPECTED,
  tables: ['messages', 'conversations'],
  checkStats: (s) => {
    expect(s.records_read).toBe(22);
    expect((s.inputs as { records: number }[]).map((i) => i.records)).toEqual([13, 5, 4]);
    expect(s.tables).toEqual({ messages: { rows_written: 22, skipped_by_rule: 0 }, conversations: { rows_written: 5, skipped_by_rule: 0 } });
    expect(s.unknown_enum_values).toEqual({});
  },
});

describe('expertflow samples cover the docs', () => {
  it('carry every documented attribute and enum value at least once', async () => {
    const vocab = await sampleVocabulary(INPUTS, ['messages']);
    const participant = ['Customer', 'Bot', 'Agent', 'Supervisor'];
    const documented = [
      'messageId',
      'conversationId',
      'to[].id',
      'to[].name',
      'to[].type',
      'from.id',
      'from.name',
      'from.firstName',
      'from.lastName',
      'from.alias',
      'from.type',
      'messageType',
      'timestamp',
      'tag',
      'refId',
      'processByBot',
      'language',
      'channel',
      'createdAt',
      'updatedAt',
      'text',
      'input',
      'attachments[]',
      'activityType',
      'intents[]',
      'output[]',
      'entities',
      'botResponseType',
      'structuredData',
      'location',
      'contact',
      ...['ChatMessage', 'ActivityMessage', 'BotMessage', 'ContactMessage', 'LocationMessage'].map((v) => `messageType=${v}`),
      ...['Default', 'Whisper', 'Bot_Only'].map((v) => `tag=${v}`),
      ...['participantJoined', 'participantAdded', 'participantLeft', 'handoff', 'noAgentAvailable'].map((v) => `activityType=${v}`),
      ...participant.map((v) => `from.type=${v}`),
      ...['Customer', 'Bot', 'Agent'].map((v) => `to[].type=${v}`),
      ...['web', 'SMS', 'WhatsApp', 'Viber', 'facebook'].map((v) => `channel=${v}`),
      'botResponseType=simple',
      'botResponseType=structured',
      'processByBot=true',
      'processByBot=false',
      'processByBot=0',
    ];
    expect(documented.filter((d) => !vocab.has(d))).toEqual([]);
  });

  it('map them to every canonical kind, visibility, role and event type', async () => {
    const rows = await goldenRows(EXPECTED, 'messages');
    const values = (k: string) => [...new Set(rows.map((r) => r[k]))].sort();
    expect(values('kind')).toEqual(['event', 'message', 'note']);
    expect(values('visibility')).toEqual(['bot_only', 'internal', 'public']);
    expect(values('role')).toEqual(['agent', 'bot', 'customer', 'supervisor']);
    expect(values('event_type')).toEqual(['handoff', 'noAgentAvailable', 'participantAdded', 'participantJoined', 'participantLeft', null].sort());
    expect(values('content_type')).toEqual(['contact', 'event', 'file', 'location', 'structured', 'text']);
    const whisper = rows.find((r) => r.message_id === '5d1f0a66-3b1c-4e0e-9a61-0c6f0f6d2a09')!;
    expect([whisper.kind, whisper.visibility, whisper.role]).toEqual(['note', 'internal', 'supervisor']);
  });
});

describe('expertflow mapping behaviour', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await Promise.all(cleanups.map((c) => c()));
  });
  async function exportText(name: string, text: string): Promise<ExportRun> {
    const dir = await tempDir('chatport-expertflow-in-');
    const file = path.join(dir, name);
    await writeFile(file, text);
    const run = await exportTo('expertflow', [file], 'jsonl');
    cleanups.push(run.cleanup, () => rm(dir, { recursive: true, force: true }));
    return run;
  }
  const rowsIn = async (run: ExportRun, table: string) =>
    (await readFile(path.join(run.outDir, `${table}.jsonl`), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));

  it('reads ISO-8601, zone-less "YYYY-MM-DD HH:mm:ss" (UTC) and epoch milliseconds as the same instant', async () => {
    const forms = ['2022-05-07T15:43:05.571Z', '2022-05-07T20:43:05.571+05:00', '2022-05-07 15:43:05.571', 1651938185571, '1651938185571'];
    const base = { conversationId: 'c1', from: { id: 'u1', name: 'U', type: 'Customer' }, messageType: 'ChatMessage', refId: 'r1', channel: 'web', text: 'x' };
    const run = await exportText('forms.jsonl', forms.map((t, i) => JSON.stringify({ ...base, messageId: `m${i}`, timestamp: t })).join('\n'));
    expect((await rowsIn(run, 'messages')).map((r) => r.created_at)).toEqual(forms.map(() => '2022-05-07T15:43:05.571000Z'));
    const plain = await exportText('plain.json', JSON.stringify([{ ...base, messageId: 'm', timestamp: '2022-05-07 15:43:05' }]));
    expect((await rowsIn(plain, 'messages'))[0].created_at).toBe('2022-05-07T15:43:05.000000Z');
  });

  it('derives one conversation per conversationId whatever the message order (getMessages may answer newest first)', async () => {
    const text = await readFile(path.join(import.meta.dirname, '..', '..', INPUTS[0]!), 'utf8');
    const doc = JSON.parse(text) as { messages: unknown[]; metaData: unknown };
    const reversed = await exportText('reversed.json', JSON.stringify({ messages: [...doc.messages].reverse(), metaData: doc.metaData }));
    const conv = await rowsIn(reversed, 'conversations');
    const golden = (await goldenRows(EXPECTED, 'conversations')).filter((r) => r.conversation_id === conv[0].conversation_id);
    expect(conv).toEqual(golden);
    expect(conv[0]).toMatchObject({ message_count: 13, channel: 'web', customer_id: '+923001234567', created_at: '2022-05-07T15:43:01.120000Z' });
  });

  it('falls back to the customer participant id when a message has no refId', async () => {
    const run = await exportText(
      'norefid.json',
      JSON.stringify([
        {
          messageId: 'm1',
          conversationId: 'c9',
          from: { id: 'bot', name: 'B', type: 'Bot' },
          messageType: 'BotMessage',
          timestamp: 1651938185000,
          channel: 'web',
          text: 'hi',
        },
        {
          messageId: 'm2',
          conversationId: 'c9',
          from: { id: 'cust-9', name: 'C', type: 'Customer' },
          messageType: 'ChatMessage',
          timestamp: 1651938186000,
          channel: 'web',
          text: 'yo',
        },
      ]),
    );
    expect((await rowsIn(run, 'conversations'))[0].customer_id).toBe('cust-9');
  });
});
