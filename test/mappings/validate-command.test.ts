// `chatport validate` on exports that drifted from the docs: it must count the source fields no rule reads
// (including inside attachments), the enum values a mapping does not list, the records that failed and why,
// and the columns that stayed empty, telling "no rule" apart from "a rule that never matched".
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatValidation } from '../../src/cli/validate-command.js';
import { validateMapping } from '../../src/validate/validate-mapping.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FIXTURES = path.join('test', 'mappings', 'fixtures');
const ONCEHUB_DRIFT = path.join(FIXTURES, 'oncehub-drift.jsonl');
const EXPERTFLOW_DRIFT = path.join(FIXTURES, 'expertflow-drift.json');
const MB64 = 64 * 1024 * 1024;

describe('validate: an OnceHub export with new fields, new enum values and broken records', () => {
  it('reports every finding with counts', async () => {
    const r = await validateMapping('oncehub', [ONCEHUB_DRIFT], MB64);
    expect(r.vendor).toBe('oncehub');
    expect([r.records_read, r.records_mapped, r.records_failed, r.records_redacted]).toEqual([5, 2, 3, 0]);
    expect(r.failures).toEqual([
      {
        code: 'MAP_INVALID_TIMESTAMP',
        count: 1,
        examples: [
          {
            file: ONCEHUB_DRIFT,
            line: 3,
            record_index: 2,
            path: 'creation_time',
            reason: 'created_at: a string of 17 characters is not an ISO-8601 timestamp',
          },
        ],
      },
      {
        code: 'MAP_MISSING_FIELD',
        count: 1,
        examples: [{ file: ONCEHUB_DRIFT, line: 4, record_index: 3, path: 'id', reason: 'conversation_id is required but the record has no value' }],
      },
      {
        code: 'READ_NOT_A_RECORD',
        count: 1,
        examples: [{ file: ONCEHUB_DRIFT, line: null, record_index: 4, path: null, reason: 'expected a record (JSON object), got a string' }],
      },
    ]);
    expect(r.unmapped_fields).toEqual({
      conversations: { priority: 2, 'contact.email': 1, 'contact.lead_score': 1, 'contact.object': 1 },
      answers: { answered_at: 1 },
    });
    expect(r.unknown_enum_values).toEqual({ initiated_by: { agent: 1 }, status: { archived: 2 } });
    expect(r.empty_columns).toEqual({
      conversations: ['channel', 'message_count', 'tags', 'audience_id', 'bookings'],
      answers: ['label'],
    });
    expect(r.columns_without_rule).toEqual({ conversations: ['channel', 'message_count', 'tags'], answers: [] });
    expect(r.skipped_by_rule).toEqual({});
    expect(r.rows).toEqual({ conversations: 2, answers: 1 });
  });

  it('prints the same findings as text', async () => {
    const text = formatValidation(await validateMapping('oncehub', [ONCEHUB_DRIFT], MB64));
    const lines = text.split('\n');
    // the coverage by vendor path comes last (its own test below)
    expect(
      lines.slice(
        0,
        lines.findIndex((l) => l.startsWith('Coverage of')),
      ),
    ).toEqual([
      'Mapping oncehub: 5 records read, 2 mapped, 3 failed.',
      'Rows: 2 conversations, 1 answer.',
      'Failed records:',
      '  MAP_INVALID_TIMESTAMP x1',
      `    ${ONCEHUB_DRIFT}:3 (record 2) at creation_time: created_at: a string of 17 characters is not an ISO-8601 timestamp`,
      '  MAP_MISSING_FIELD x1',
      `    ${ONCEHUB_DRIFT}:4 (record 3) at id: conversation_id is required but the record has no value`,
      '  READ_NOT_A_RECORD x1',
      `    ${ONCEHUB_DRIFT} (record 4): expected a record (JSON object), got a string`,
      'Source fields no rule reads (kept in conversations.extra):',
      '  priority: 2 rows',
      '  contact.email: 1 row',
      '  contact.lead_score: 1 row',
      '  contact.object: 1 row',
      'Source fields no rule reads (kept in answers.extra):',
      '  answered_at: 1 row',
      "Enum values the mapping does not list, in initiated_by (they got the rule's fallback):",
      '  "agent": 1',
      "Enum values the mapping does not list, in status (they got the rule's fallback):",
      '  "archived": 2',
      'Columns of conversations that stayed empty: channel, message_count, tags, audience_id, bookings.',
      '  of which the mapping has no rule for: channel, message_count, tags.',
      'Columns of answers that stayed empty: label.',
    ]);
  });
});

describe('validate: an Expertflow export with unknown message types, tags, roles and attachment fields', () => {
  it('counts unmapped fields inside attachments and every unlisted enum value', async () => {
    const r = await validateMapping('expertflow', [EXPERTFLOW_DRIFT], MB64);
    expect([r.records_read, r.records_mapped, r.records_failed]).toEqual([4, 4, 0]);
    expect(r.failures).toEqual([]);
    expect(r.unmapped_fields).toEqual({
      messages: { processByBot: 4, refId: 4, 'attachments[].checksum': 1, sentiment: 1 },
    });
    expect(r.unknown_enum_values).toEqual({
      event_type: { conversationTransferred: 1 },
      kind: { ReactionMessage: 1 },
      role: { Automation: 1 },
      visibility: { Agent_Only: 1 },
    });
    // a derived table has no extra: it is not reported as an empty column
    expect(r.empty_columns.conversations).not.toContain('extra');
    expect(r.columns_without_rule.messages).toEqual(['edited_at', 'removed_at']);
    // language, recipients and payload have rules that matched nothing in this export
    expect(r.empty_columns.messages).toEqual(['edited_at', 'removed_at', 'language', 'recipients', 'payload']);
    expect(r.rows).toEqual({ messages: 4, conversations: 1 });
  });
});

describe('validate: records a table skips by its when rule', () => {
  it('are counted per table', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'chatport-validate-'));
    const mapping = path.join(dir, 'skipper.json');
    const input = path.join(dir, 'in.jsonl');
    await writeFile(
      mapping,
      JSON.stringify({
        chatport_mapping: 1,
        vendor: 'skipper',
        tables: {
          messages: {
            when: { path: 'kind', equals: 'msg' },
            columns: { conversation_id: 'c', message_id: 'id' },
          },
        },
      }),
    );
    await writeFile(input, '{"c":"1","id":"a","kind":"msg"}\n{"c":"1","id":"b","kind":"typing"}\n{"c":"1","id":"c","kind":"typing"}\n');
    const r = await validateMapping(mapping, [input], MB64);
    expect(r.skipped_by_rule).toEqual({ messages: 2 });
    expect(formatValidation(r)).toContain("Records that gave no messages row (the table's when did not hold): 2.");
  });
});

describe('validate: coverage per vendor path', () => {
  it('livechat: every path of the sample reached a column, was kept in extra (a thread under ^, a thread without events under $rowless), or is ignored', async () => {
    const r = await validateMapping('livechat', ['samples/livechat/chats.json'], MB64);
    expect(r.coverage.records).toBe(1);
    const c = Object.fromEntries(r.coverage.paths.map(({ path: p, ...n }) => [p, n]));
    expect(c['threads[*].events[*].text']).toEqual({ column: 5, extra: 0, ignored: 0 });
    expect(c['threads[*].events[*].fields[*].answer']).toEqual({ column: 2, extra: 0, ignored: 0 });
    // the thread's own fields: kept under ^ in the first event row of two threads, under $rowless for the third
    expect(c['threads[*].next_thread_id']).toEqual({ column: 0, extra: 3, ignored: 0 });
    // the thread's id reaches the message ids of the two threads with events; the third's is in $rowless
    expect(c['threads[*].id']).toEqual({ column: 2, extra: 1, ignored: 0 });
    // users are looked up, not consumed: kept in the conversation's extra
    expect(c['users[*].name']).toEqual({ column: 0, extra: 2, ignored: 0 });
    expect(c['threads[*].events[*].width']).toEqual({ column: 0, extra: 1, ignored: 0 });
    expect(r.coverage.never_seen).toEqual([]);
  });

  it('intercom: ignored paths are counted as ignored; a path the mapping reads that no record has is listed', async () => {
    const r = await validateMapping('intercom', ['samples/intercom/conversations.json'], MB64);
    expect(r.coverage.paths.find((p) => p.path === 'conversation_parts.total_count')).toEqual({
      path: 'conversation_parts.total_count',
      column: 0,
      extra: 0,
      ignored: 2,
    });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'chatport-validate-'));
    const input = path.join(dir, 'in.jsonl');
    await writeFile(input, '{"c":"1","id":"a","body":"hi","meta":{"x":1}}\n{"c":"1","id":"b","body":"yo","meta":{"x":2}}\n');
    const mapping = path.join(dir, 'm.json');
    await writeFile(
      mapping,
      JSON.stringify({
        chatport_mapping: 1,
        vendor: 'cov',
        tables: { messages: { columns: { conversation_id: 'c', message_id: 'id', text: 'body', author_id: 'from.id' }, ignore: ['meta'] } },
      }),
    );
    const own = await validateMapping(mapping, [input], MB64);
    expect(own.coverage).toEqual({
      records: 2,
      paths: [
        { path: 'body', column: 2, extra: 0, ignored: 0 },
        { path: 'c', column: 2, extra: 0, ignored: 0 },
        { path: 'id', column: 2, extra: 0, ignored: 0 },
        { path: 'meta.x', column: 0, extra: 0, ignored: 2 },
      ],
      never_seen: ['from.id'],
    });
    const text = formatValidation(own).split('\n');
    expect(text.slice(text.findIndex((l) => l.startsWith('Coverage of')))).toEqual([
      'Coverage of 2 records by vendor path ([*]: every element), places where the value reached a column / was kept in extra / was ignored:',
      '  body: 2 / 0 / 0',
      '  c: 2 / 0 / 0',
      '  id: 2 / 0 / 0',
      '  meta.x: 0 / 0 / 2',
      'Paths the mapping reads or ignores that no record had: from.id.',
    ]);
  });

  it('a record marked removed is not looked at: none of its fields is in the report', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'chatport-validate-'));
    const input = path.join(dir, 'in.jsonl');
    await writeFile(input, '{"c":"1","id":"a","body":"hi"}\n{"c":"1","id":"b","body":"gone","gone":1,"secret_field_name":"x"}\n');
    const mapping = path.join(dir, 'm.json');
    await writeFile(
      mapping,
      JSON.stringify({
        chatport_mapping: 1,
        vendor: 'cov',
        removed_when: { path: 'gone', truthy: true },
        tables: { messages: { columns: { conversation_id: 'c', message_id: 'id', text: 'body' } } },
      }),
    );
    const r = await validateMapping(mapping, [input], MB64);
    expect(r.records_redacted).toBe(1);
    expect(r.coverage.records).toBe(1);
    expect(r.coverage.paths.map((p) => p.path)).toEqual(['body', 'c', 'id']);
  });
});

// These run the built CLI: `npm test` builds first; after editing src, run `npm run build` before vitest alone.
describe('chatport validate (built CLI)', () => {
  const bin = path.join(ROOT, 'dist', 'cli', 'bin.js');
  it('is built', () => expect(existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))).toBe(true));

  it('exits 65 when records failed, and writes the JSON report', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'chatport-validate-'));
    const report = path.join(dir, 'report.json');
    const err = await run('node', [bin, 'validate', '--from', 'oncehub', '--input', ONCEHUB_DRIFT, '--report', report], { cwd: ROOT }).then(
      () => null,
      (e: { code: number; stdout: string }) => e,
    );
    expect(err?.code).toBe(65);
    expect(err?.stdout).toContain('Mapping oncehub: 5 records read, 2 mapped, 3 failed.');
    const json = JSON.parse(await readFile(report, 'utf8'));
    expect(json.unknown_enum_values).toEqual({ initiated_by: { agent: 1 }, status: { archived: 2 } });
  });

  it('exits 0 when every record mapped, even with findings', async () => {
    const { stdout } = await run('node', [bin, 'validate', '--from', 'expertflow', '--input', EXPERTFLOW_DRIFT], { cwd: ROOT });
    expect(stdout).toContain('Mapping expertflow: 4 records read, 4 mapped, 0 failed.');
  });
});
