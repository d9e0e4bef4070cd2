// JSONL specifics: exact bytes of a line (key order, nulls, ISO timestamps, nested JSON with exact big numbers).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { LosslessNumber } from '../../src/json/lossless-number.js';
import { TABLES } from '../../src/model/canonical-schema.js';
import { WRITERS } from '../../src/writers/registry.js';
import { BIG_ID, T1, T2, messageRow, query, sqlString, tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

it('writes one object per line with every column in schema order', async () => {
  const path = join(tmp.dir, 'answers.jsonl');
  const w = await WRITERS.jsonl.open({ table: TABLES.answers, path });
  await w.write([
    { source: 'oncehub', conversation_id: 'c1', position: 0, value: 'a\nb', extra: { k: new LosslessNumber('12345678901234567890') } },
    { source: 'oncehub', conversation_id: 'c1', position: 1, answer_id: 'q2', question: 'Name?', label: '', value: null },
  ]);
  await w.close();
  expect(readFileSync(path, 'utf8')).toBe(
    '{"source":"oncehub","conversation_id":"c1","answer_id":null,"position":0,"question":null,"label":null,"value":"a\\nb","extra":{"k":12345678901234567890}}\n' +
      '{"source":"oncehub","conversation_id":"c1","answer_id":"q2","position":1,"question":"Name?","label":"","value":null,"extra":null}\n',
  );
});

it('prints timestamps as ISO UTC with six fraction digits and booleans as JSON booleans', async () => {
  const path = join(tmp.dir, 'messages.jsonl');
  const w = await WRITERS.jsonl.open({ table: TABLES.messages, path });
  await w.write([messageRow({ edited_at: T2, removed_at: T2 + 120_000, redacted: true })]);
  await w.close();
  const obj = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  expect(Object.keys(obj)).toEqual(TABLES.messages.columns.map((c) => c.name));
  expect(obj.created_at).toBe('2024-02-29T23:59:59.123456Z');
  expect(obj.edited_at).toBe('2001-01-01T00:00:00.000000Z');
  expect(obj.removed_at).toBe('2001-01-01T00:00:00.120000Z');
  expect(obj.redacted).toBe(true);
  expect(obj.message_id).toBe(BIG_ID);
  expect(obj.attachments).toEqual([]);
});

it('keeps LosslessNumbers exact inside nested JSON', async () => {
  const path = join(tmp.dir, 'messages.jsonl');
  const w = await WRITERS.jsonl.open({ table: TABLES.messages, path });
  await w.write([messageRow()]);
  await w.close();
  const line = readFileSync(path, 'utf8');
  expect(line).toContain('"payload":{"buttons":[{"id":9007199254740993,"title":"Yes, \\"sure\\""}],"n":1.5}');
  expect(line.endsWith('}\n')).toBe(true);
  expect(line.split('\n')).toHaveLength(2);
});

it('prints integers above 2^53 given as bigint exactly', async () => {
  const path = join(tmp.dir, 'conversations.jsonl');
  const w = await WRITERS.jsonl.open({ table: TABLES.conversations, path });
  await w.write([{ source: 's', conversation_id: 'c', message_count: 2n ** 63n - 1n }]);
  await w.close();
  expect(readFileSync(path, 'utf8')).toContain('"message_count":9223372036854775807,');
});

it('is read by DuckDB with the same values', async () => {
  const path = join(tmp.dir, 'messages.jsonl');
  const w = await WRITERS.jsonl.open({ table: TABLES.messages, path });
  await w.write([messageRow(), messageRow({ message_id: '7', text: '=SUM(A1)', language: null })]);
  await w.close();
  const rows = await query(
    `SELECT message_id, text, language, created_at::VARCHAR AS created FROM read_json(${sqlString(path)}, format='newline_delimited', columns={message_id: 'VARCHAR', text: 'VARCHAR', language: 'VARCHAR', created_at: 'TIMESTAMPTZ'})`,
  );
  expect(rows).toEqual([
    { message_id: BIG_ID, text: 'Hello, world\r\nline two "quoted" 😀 中文', language: '', created: '2024-02-29 23:59:59.123456+00' },
    { message_id: '7', text: '=SUM(A1)', language: null, created: '2024-02-29 23:59:59.123456+00' },
  ]);
  expect(T1).toBe(1709251199123456);
});

it('gives every timestamp column one form, so that DuckDB read_json detects it as TIMESTAMP (mixed fractions are VARCHAR)', async () => {
  const path = join(tmp.dir, 'messages.jsonl');
  const w = await WRITERS.jsonl.open({ table: TABLES.messages, path });
  // whole seconds, whole milliseconds and microseconds in one column: formatMicros alone prints :59Z, :59.120Z, :59.123456Z
  const whole = Date.UTC(2024, 1, 29, 23, 59, 59) * 1000;
  await w.write([
    messageRow({ message_id: '1', created_at: whole, edited_at: whole }),
    messageRow({ message_id: '2', created_at: whole + 120_000, edited_at: null }),
    messageRow({ message_id: '3', created_at: whole + 123_456, edited_at: whole + 1 }),
  ]);
  await w.close();
  const from = `read_json(${sqlString(path)}, format = 'newline_delimited')`;
  const types = Object.fromEntries((await query(`DESCRIBE SELECT created_at, edited_at, removed_at FROM ${from}`)).map((r) => [r.column_name, r.column_type]));
  expect(types.created_at).toBe('TIMESTAMP');
  expect(types.edited_at).toBe('TIMESTAMP');
  const rows = await query(
    `SELECT message_id, epoch_us(created_at)::DOUBLE AS created, epoch_us(edited_at)::DOUBLE AS edited FROM ${from} ORDER BY message_id`,
  );
  expect(rows).toEqual([
    { message_id: '1', created: whole, edited: whole },
    { message_id: '2', created: whole + 120_000, edited: null },
    { message_id: '3', created: whole + 123_456, edited: whole + 1 },
  ]);
});
