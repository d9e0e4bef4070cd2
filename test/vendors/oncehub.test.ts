// OnceHub through mappings/oncehub.yaml alone: golden files for every format from samples/oncehub (which carry
// every documented field and value, the docs' own example as it is), every input container, id strings and
// expanded objects giving the same ids, and the docs' "last_interacted_time " key with its trailing space.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, exportTo, tempDir, type ExportRun } from '../helpers/export-helpers.js';
import { sampleVocabulary, vendorGoldenSuite } from './golden-harness.js';

const INPUTS = [
  'samples/oncehub/conversations.json',
  'samples/oncehub/conversations-list.json',
  'samples/oncehub/conversations-page.json',
  'samples/oncehub/webhook-events.jsonl',
  'samples/oncehub/conversations.jsonl',
];

vendorGoldenSuite({
  from: 'oncehub',
  inputs: INPUTS,
  expectedDir: 'test/vendors/oncehub/expected',
  tables: ['conversations', 'answers'],
  checkStats: (s) => {
    expect(s.records_read).toBe(11);
    expect(s.inputs).toEqual(INPUTS.map((name, i) => ({ name: path.join(ROOT, name), bytes: expect.any(Number), records: [3, 2, 1, 3, 2][i] })));
    expect(s.tables).toEqual({ conversations: { rows_written: 11, skipped_by_rule: 0 }, answers: { rows_written: 16, skipped_by_rule: 0 } });
    expect(s.unknown_enum_values).toEqual({});
  },
});

describe('oncehub samples cover the docs', () => {
  it('carry every documented field and enum value at least once', async () => {
    const vocab = await sampleVocabulary(INPUTS, ['data']);
    const documented = [
      // the conversation object
      'object=conversation',
      'id',
      'creation_time',
      'last_updated_time',
      'last_interacted_time',
      'last_interacted_time ',
      'contact',
      'owner',
      'bot',
      'website',
      'audience',
      'answers[]',
      'bookings[]',
      'status=started',
      'status=closed',
      'status=abandoned',
      'initiated_by=bot',
      'initiated_by=contact',
      // answers hashes
      'answers[].id',
      'answers[].internal_label',
      'answers[].question',
      'answers[].value',
      // expanded objects: website, audience, bot, and the contact of NOTES.md
      'website.id',
      'website.object=website',
      'website.name',
      'website.url',
      'audience.id',
      'audience.object=audience',
      'audience.name',
      'bot.id',
      'bot.object=bot',
      'bot.name',
      'owner.id',
      ...[
        'id',
        'creation_time',
        'last_updated_time',
        'last_interacted_time',
        'owner',
        'company',
        'city',
        'country',
        'email',
        'first_name',
        'last_name',
        'job_title',
        'has_consent',
        'mobile_phone',
        'phone',
        'custom_fields',
        'timezone',
      ].map((k) => `contact.${k}`),
      // webhook events
      'object=event',
      'api_version=v2',
      'type=conversation.started',
      'type=conversation.closed',
      'type=conversation.abandoned',
      'data.id',
    ];
    expect(documented.filter((d) => !vocab.has(d))).toEqual([]);
  });

  it('include the docs example exactly as published', async () => {
    const text = await readFile(path.join(ROOT, 'samples/oncehub/conversations.json'), 'utf8');
    const first = (JSON.parse(text) as Record<string, unknown>[])[0]!;
    expect(Object.keys(first)).toEqual([
      'object',
      'id',
      'creation_time',
      'initiated_by',
      'last_updated_time',
      'last_interacted_time ',
      'contact',
      'owner',
      'status',
      'website',
      'audience',
      'bot',
      'answers',
      'bookings',
    ]);
    expect(first.id).toBe('CVR-022EAEA41C');
  });
});

describe('oncehub mapping behaviour', () => {
  const runs: ExportRun[] = [];
  afterAll(async () => {
    await Promise.all(runs.map((r) => r.cleanup()));
  });
  const exportText = async (text: string) => {
    const dir = await tempDir('chatport-oncehub-in-');
    const file = path.join(dir, 'in.json');
    await writeFile(file, text);
    const run = await exportTo('oncehub', [file], 'jsonl');
    runs.push(run, { outDir: dir, stats: run.stats, cleanup: () => rm(dir, { recursive: true, force: true }) });
    return run;
  };
  const rowsOf = async (text: string, table = 'conversations') => {
    const run = await exportText(text);
    return (await readFile(path.join(run.outDir, `${table}.jsonl`), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  };
  const conv = {
    object: 'conversation',
    id: 'CVR-0000000001',
    creation_time: '2021-07-13T12:28:24Z',
    initiated_by: 'contact',
    last_updated_time: '2021-07-13T12:33:54Z',
    last_interacted_time: '2021-07-13T12:33:54Z',
    contact: 'CTC-1',
    owner: 'USR-1',
    status: 'closed',
    website: 'WEB-1',
    audience: 'AUD-1',
    bot: 'BOT-1',
    answers: [{ id: 'INT-1', internal_label: 'x', question: 'Q', value: 'A' }],
    bookings: [],
  };

  it('reads the same conversation from an array, both list envelopes, a webhook event and JSONL', async () => {
    const c = JSON.stringify(conv);
    const shapes = {
      array: `[${c}]`,
      list: `{"object":"list","data":[${c}],"has_more":false}`,
      page: `{"data":[${c}]}`,
      event: `{"id":"EVNT-1","object":"event","creation_time":"2021-07-13T12:33:55Z","type":"conversation.closed","api_version":"v2","data":${c}}`,
      jsonl: `${c}\n`,
    };
    const results: Record<string, unknown[]> = {};
    for (const [name, bytes] of Object.entries(shapes)) results[name] = [...(await rowsOf(bytes)), ...(await rowsOf(bytes, 'answers'))];
    const eventConv = results.event![0] as Record<string, unknown>;
    // the event's own fields are kept, apart, in extra.$wrapper
    expect(eventConv.extra).toEqual({
      $wrapper: { id: 'EVNT-1', object: 'event', creation_time: '2021-07-13T12:33:55Z', type: 'conversation.closed', api_version: 'v2' },
    });
    results.event![0] = { ...eventConv, extra: null };
    for (const name of Object.keys(shapes)) expect(results[name], name).toEqual(results.array);
    expect(results.array).toHaveLength(2);
  });

  it('gives the same id columns for id strings and expanded objects, keeping object details in extra', async () => {
    const expanded = {
      ...conv,
      contact: { id: 'CTC-1', object: 'contact', email: 'a@example.com' },
      owner: { id: 'USR-1', object: 'user' },
      website: { id: 'WEB-1', object: 'website', name: 'Main site', url: 'https://example.com' },
      audience: { id: 'AUD-1', object: 'audience', name: 'Everyone' },
      bot: { id: 'BOT-1', object: 'bot', name: 'Scheduler' },
    };
    const [plain] = await rowsOf(JSON.stringify([conv]));
    const [rich] = await rowsOf(JSON.stringify([expanded]));
    const ids = ['customer_id', 'assignee_id', 'website_id', 'audience_id', 'bot_id'];
    for (const k of ids) expect(rich[k], k).toBe(plain[k]);
    expect(ids.map((k) => plain[k])).toEqual(['CTC-1', 'USR-1', 'WEB-1', 'AUD-1', 'BOT-1']);
    expect(plain.extra).toBeNull();
    expect(rich.extra).toEqual({
      contact: { object: 'contact', email: 'a@example.com' },
      owner: { object: 'user' },
      website: { object: 'website', name: 'Main site', url: 'https://example.com' },
      audience: { object: 'audience', name: 'Everyone' },
      bot: { object: 'bot', name: 'Scheduler' },
    });
  });

  it('reads last_interacted_time with or without the trailing space of the docs example', async () => {
    const { last_interacted_time: t, ...rest } = conv;
    const spaced = { ...rest, 'last_interacted_time ': '2021-07-13T12:40:00.5Z' };
    const [a] = await rowsOf(JSON.stringify([spaced]));
    expect(a.last_activity_at).toBe('2021-07-13T12:40:00.500000Z');
    expect(a.extra).toBeNull();
    const [b] = await rowsOf(JSON.stringify([conv]));
    // the same instant, printed with the six fraction digits of every JSONL timestamp
    expect(t).toMatch(/:\d\dZ$/);
    expect(b.last_activity_at).toBe(String(t).replace(/Z$/, '.000000Z'));
  });

  it('keeps a status or initiated_by OnceHub adds later as sent, and counts it as unknown', async () => {
    const run = await exportText(JSON.stringify([{ ...conv, status: 'archived', initiated_by: 'agent' }]));
    const [row] = (await readFile(path.join(run.outDir, 'conversations.jsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect([row.status, row.initiated_by]).toEqual(['archived', 'agent']);
    expect(run.stats.toJSON().unknown_enum_values).toEqual({ initiated_by: { agent: 1 }, status: { archived: 1 } });
  });

  it('keeps an answer value that is not a scalar in the answer extra, not in value', async () => {
    const rows = await rowsOf(
      JSON.stringify([{ ...conv, answers: [{ id: 'INT-9', internal_label: '', question: 'Days?', value: ['Mon', 'Tue'] }] }]),
      'answers',
    );
    expect(rows).toEqual([
      {
        source: 'oncehub',
        conversation_id: 'CVR-0000000001',
        answer_id: 'INT-9',
        position: 0,
        question: 'Days?',
        label: null,
        value: null,
        extra: { value: ['Mon', 'Tue'] },
      },
    ]);
  });
});
