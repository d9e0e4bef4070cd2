// Golden tests for Dashly: the shipped sample through every format must give exactly the reviewed files in
// test/golden/dashly/ (regenerate with UPDATE_GOLDEN=1 and review the diff), DuckDB must read Parquet and CSV
// back with the right counts and types, and the same bytes fed in 1, 7 and 65536-byte chunks give the same output.

import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, duck, duckTypes, exportTo, type ExportRun } from '../helpers/export-helpers.js';

const SAMPLE = path.join(ROOT, 'samples/dashly/parts.json');
const GOLDEN = path.join(ROOT, 'test/golden/dashly');
const update = process.env.UPDATE_GOLDEN === '1';
const runs: ExportRun[] = [];
afterAll(async () => {
  await Promise.all(runs.map((r) => r.cleanup()));
});

async function matchGolden(actualFile: string, goldenName: string): Promise<void> {
  const actual = await readFile(actualFile, 'utf8');
  const golden = path.join(GOLDEN, goldenName);
  if (update || !existsSync(golden)) {
    if (!update) throw new Error(`golden ${goldenName} is missing: run with UPDATE_GOLDEN=1 and review it`);
    await mkdir(GOLDEN, { recursive: true });
    await writeFile(golden, actual);
  }
  expect(actual).toBe(await readFile(golden, 'utf8'));
}

describe('dashly golden', () => {
  for (const format of ['jsonl', 'csv'] as const) {
    it(`${format} output matches the reviewed golden files`, async () => {
      const run = await exportTo('dashly', [SAMPLE], format);
      runs.push(run);
      await matchGolden(path.join(run.outDir, `messages.${format}`), `messages.${format}`);
      await matchGolden(path.join(run.outDir, `conversations.${format}`), `conversations.${format}`);
      const s = run.stats.toJSON();
      expect(s.reconciled).toBe(true);
      expect(s.records_read).toBe(25);
      expect(s.records_redacted).toBe(1);
      expect(s.tables).toEqual({ messages: { rows_written: 25, skipped_by_rule: 0 }, conversations: { rows_written: 3, skipped_by_rule: 0 } });
      expect(s.unknown_enum_values).toEqual({ kind: { reply_whatsapp_user: 1 } });
    });
  }

  it('the same input in 1, 7 and 65536 byte chunks gives byte-identical output in every format', async () => {
    const bytes = await readFile(SAMPLE);
    for (const format of ['jsonl', 'csv', 'parquet'] as const) {
      const outputs: string[] = [];
      for (const chunkSize of [1, 7, 65536]) {
        const run = await exportTo('dashly', [SAMPLE], format, { bytes, chunkSize });
        runs.push(run);
        const m = await readFile(path.join(run.outDir, `messages.${format}`));
        const c = await readFile(path.join(run.outDir, `conversations.${format}`));
        outputs.push(m.toString('base64') + '|' + c.toString('base64'));
      }
      expect(new Set(outputs).size).toBe(1);
    }
  });

  it('DuckDB reads the Parquet output back with the golden values and typed columns', async () => {
    const run = await exportTo('dashly', [SAMPLE], 'parquet');
    runs.push(run);
    const file = path.join(run.outDir, 'messages.parquet');
    const types = await duckTypes(`read_parquet('${file}')`);
    expect(types.created_at).toMatch(/^TIMESTAMP/);
    expect(types.redacted).toBe('BOOLEAN');
    expect(types.message_id).toBe('VARCHAR');
    const golden = (await readFile(path.join(GOLDEN, 'messages.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const rows = await duck(
      `SELECT message_id, conversation_id, strftime(created_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') AS created, text, redacted, CAST(attachments AS VARCHAR) AS attachments, CAST(extra AS VARCHAR) AS extra FROM read_parquet('${file}')`,
    );
    expect(rows.length).toBe(golden.length);
    rows.forEach((r, i) => {
      const g = golden[i];
      expect(r.message_id).toBe(g.message_id);
      expect(r.conversation_id).toBe(g.conversation_id);
      expect(Date.parse(String(r.created))).toBe(Date.parse(g.created_at));
      // microseconds survive: compare the fraction digits too
      expect(String(r.created).slice(20, 26)).toBe(((g.created_at as string).split('.')[1] ?? '').replace('Z', '').padEnd(6, '0'));
      expect(r.text).toBe(g.text);
      expect(r.redacted).toBe(g.redacted);
      expect(r.attachments === null ? null : JSON.parse(String(r.attachments))).toEqual(g.attachments);
    });
    const conv = await duck(`SELECT count(*) AS n, sum(message_count) AS m FROM read_parquet('${path.join(run.outDir, 'conversations.parquet')}')`);
    expect(Number(conv[0]!.n)).toBe(3);
    expect(Number(conv[0]!.m)).toBe(25);
  });

  it('DuckDB reads the CSV output back with the right row count and exact text', async () => {
    const run = await exportTo('dashly', [SAMPLE], 'csv', { csvRaw: true });
    runs.push(run);
    const file = path.join(run.outDir, 'messages.csv');
    const rows = await duck(`SELECT message_id, text FROM read_csv('${file}', header = true, all_varchar = true)`);
    const golden = (await readFile(path.join(GOLDEN, 'messages.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.length).toBe(golden.length);
    rows.forEach((r, i) => {
      expect(r.message_id).toBe(golden[i].message_id);
      // DuckDB reads an empty quoted cell and a null both as NULL; chatport writes null as an empty cell
      expect(r.text ?? '').toBe(golden[i].text ?? '');
    });
  });
});
