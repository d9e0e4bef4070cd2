// Intercom through mappings/intercom.yaml alone: conversations with their source and conversation parts give one
// conversations row (tags plucked from tag objects, message_count and last_activity_at aggregated from the record's
// messages) and one messages row per source and part, in every format; redacted parts and a redacted source are
// redacted, and their content reaches no output, not even the conversation's extra.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportTo, ROOT, type ExportRun } from '../helpers/export-helpers.js';
import { goldenRows, vendorGoldenSuite } from './golden-harness.js';

const INPUTS = ['samples/intercom/conversations.json'];
const EXPECTED = 'test/vendors/intercom/expected';

vendorGoldenSuite({
  from: 'intercom',
  inputs: INPUTS,
  expectedDir: EXPECTED,
  tables: ['messages', 'conversations'],
  checkStats: (s) => {
    expect(s.records_read).toBe(3);
    expect(s.tables).toEqual({ messages: { rows_written: 10, skipped_by_rule: 0 }, conversations: { rows_written: 3, skipped_by_rule: 0 } });
    expect(s.unknown_enum_values).toEqual({});
  },
});

describe('intercom redaction follows the data', () => {
  const runs: ExportRun[] = [];
  afterAll(async () => {
    await Promise.all(runs.map((r) => r.cleanup()));
  });
  for (const format of ['jsonl', 'csv', 'parquet'] as const) {
    it(`${format}: no byte of a redacted source or part reaches any output file`, async () => {
      const run = await exportTo(
        'intercom',
        INPUTS.map((p) => path.join(ROOT, p)),
        format,
      );
      runs.push(run);
      for (const f of await readdir(run.outDir)) {
        const bytes = await readFile(path.join(run.outDir, f));
        for (const marker of ['REDACTED-SECRET', 'secret@example.com', '4111 1111', 'statement.png'])
          expect(bytes.includes(marker), `${marker} in ${f}`).toBe(false);
      }
    });
  }

  it('keeps the ids, times and roles of the redacted rows, and counts them in the conversation', async () => {
    const messages = await goldenRows(EXPECTED, 'messages');
    const redacted = messages.filter((r) => r.redacted === true).map((r) => [r.message_id, r.role, r.created_at]);
    expect(redacted).toEqual([
      ['source-403918321', 'customer', '2022-09-19T15:06:40.000000Z'],
      ['14801', 'customer', '2022-09-19T15:08:20.000000Z'],
    ]);
    const conversations = await goldenRows(EXPECTED, 'conversations');
    expect(conversations.map((c) => [c.conversation_id, c.message_count, c.tags])).toEqual([
      ['1911149811', 6, ['shipping', 'vip']],
      ['1911149812', 3, []],
      ['1911149813', 1, ['billing']],
    ]);
  });
});
