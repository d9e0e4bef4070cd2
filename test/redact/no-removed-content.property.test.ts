// Property: whatever the parts look like, no content of a GDPR-removed part reaches any byte of any output
// format, nor rejects.jsonl, nor the summary. Removed parts carry a unique secret in every content-bearing field;
// outputs are searched as bytes (JSONL, CSV) and, for Parquet (compressed), as every cell read back by DuckDB.

import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { duck, exportTo, tempDir } from '../helpers/export-helpers.js';

const TYPES = ['reply_user', 'reply_admin', 'note', 'tag_added', 'assigned', 'chat_bot_user', 'article', 'vote', 'some_new_type'];

const text = fc.fullUnicodeString({ maxLength: 40 });

function part(
  i: number,
  removed: boolean,
  secret: string,
  shape: { type: string; body: string; malformed: boolean; withAttachment: boolean; fromAdmin: boolean },
) {
  const content = (s: string) => (removed ? `${s} ${secret}` : s);
  const p: Record<string, unknown> = {
    id: 5_000_000 + i, // safe integers: doubles above 2^53 would collide and be rejected as duplicates
    created: shape.malformed && removed ? `not a time ${secret}` : 1684923942.123456 + i,
    conversation: 7_000_000 + (i % 3),
    type: shape.type,
    body: removed ? content(shape.body) : `KEPT${i}X ${shape.body}`,
    body_json: removed ? { form: { answer: secret } } : {},
    meta_data: removed ? { note: secret } : {},
    actions: removed ? [{ type: 'quick_reply', body: secret }] : null,
    sent_via: 'web_user',
    removed: removed ? 1690000000.5 : null,
    edited: null,
    some_unmapped_field: content('unmapped'),
    from: shape.fromAdmin ? { id: 30542, name: content('Agent'), avatar: `https://a.example/${removed ? secret : 'x'}.png`, type: 'admin' } : 144729470821571,
  };
  if (shape.type === 'tag_added') p.tag = content('tag');
  if (shape.type === 'assigned') p.assignee = { id: 1, name: content('Assignee'), type: 'admin' };
  if (shape.withAttachment) {
    p.attachments = [
      {
        id: 9000 + i,
        type: 'file',
        filename: content('file.pdf'),
        mime_type: 'application/pdf',
        size: 10,
        url: `https://files.example/${removed ? secret : 'ok'}`,
        created: 1684923940,
      },
    ];
  }
  return p;
}

const partsArb = fc.array(
  fc.record({
    removed: fc.boolean(),
    type: fc.constantFrom(...TYPES),
    body: text,
    malformed: fc.boolean(),
    withAttachment: fc.boolean(),
    fromAdmin: fc.boolean(),
  }),
  { minLength: 1, maxLength: 25 },
);

async function allOutputText(dir: string): Promise<string> {
  let out = '';
  for (const name of await readdir(dir)) {
    const file = path.join(dir, name);
    if (name.endsWith('.parquet')) {
      const rows = await duck(`SELECT * FROM read_parquet('${file}')`);
      out += JSON.stringify(rows);
    } else out += await readFile(file, 'utf8');
  }
  return out;
}

describe('redaction property', () => {
  it('no removed part content reaches JSONL, CSV, Parquet, rejects.jsonl or the summary', async () => {
    await fc.assert(
      fc.asyncProperty(partsArb, fc.constantFrom('jsonl' as const, 'csv' as const, 'parquet' as const), async (shapes, format) => {
        const secrets: string[] = [];
        const parts = shapes.map((s, i) => {
          const secret = `SECRET${i}Q${Math.random().toString(36).slice(2, 8)}`;
          if (s.removed) secrets.push(secret);
          return part(i, s.removed, secret, s);
        });
        const dir = await tempDir();
        const input = path.join(dir, 'parts.json');
        await writeFile(input, JSON.stringify(parts));
        const run = await exportTo('dashly', [input], format, { onError: 'skip', outDir: path.join(dir, 'out') });
        try {
          const everything = (await allOutputText(run.outDir)) + run.stats.toText() + JSON.stringify(run.stats.toJSON());
          for (const secret of secrets) expect(everything).not.toContain(secret);
          // positive control: the content of parts that were not removed did arrive, so the search can see content
          shapes.forEach((s, i) => {
            if (!s.removed) expect(everything).toContain(`KEPT${i}X`);
          });
          expect(run.stats.recordsRedacted).toBe(shapes.filter((s) => s.removed && !s.malformed).length);
        } finally {
          await run.cleanup();
        }
      }),
      { numRuns: 30 },
    );
  });
});
