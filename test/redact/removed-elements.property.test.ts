// Property: redaction follows the data, not the table. A row source's removed_when marks single elements of a record
// removed (an Intercom part with `redacted: true`, or its `source`); a unique secret in every content field of such an
// element must reach no byte of any output format, nor rejects.jsonl, nor the summary, even though this mapping also
// copies those fields into conversations columns (initiated_by reads source.body, bot_id the first part's body) and the
// record's extra would otherwise hold what no rule reads. Content of elements that are not removed must still arrive.

import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { duck, exportTo, tempDir } from '../helpers/export-helpers.js';

const MAPPING = `
chatport_mapping: 1
vendor: element-removal
tables:
  conversations:
    columns:
      conversation_id: { path: id, convert: id }
      initiated_by: { path: source.body, convert: text }
      bot_id: { path: "parts[0].body", convert: text }
      channel: { path: source.channel }
    aggregate:
      from: messages
      columns:
        message_count: { count: true }
  messages:
    sources:
      - at: source
        removed_when: { path: redacted, equals: true }
        columns:
          conversation_id: { path: ^.id, convert: id }
          message_id: { template: "source-{id}" }
          created_at: { path: ^.created_at, convert: unix_seconds }
          author_id: { path: author.id, convert: id }
          author_name: { path: author.name, convert: text }
          text: { path: body, convert: text }
      - for_each: "parts[*]"
        removed_when: { path: redacted, equals: true }
        columns:
          conversation_id: { path: ^.id, convert: id }
          message_id: { path: id, convert: id }
          created_at: { path: created_at, convert: unix_seconds }
          author_id: { path: author.id, convert: id }
          author_name: { path: author.name, convert: text }
          text: { path: body, convert: text }
          payload: { object: { tags: { path: labels } } }
`;

interface Shape {
  removed: boolean;
  malformed: boolean;
  body: string;
}

function element(id: string, secret: string, s: Shape, kept: string): Record<string, unknown> {
  const content = (x: string) => (s.removed ? `${x} ${secret}` : `${x} ${kept}`);
  return {
    id,
    // a removed element with a broken time makes its record fail: its text must then stay out of rejects
    created_at: s.malformed && s.removed ? `not a time ${secret}` : 1700000000,
    redacted: s.removed,
    body: content(s.body),
    author: { id: 'u1', name: content('Name'), email: s.removed ? `${secret}@example.com` : 'ok@example.com' },
    labels: [content('label')],
    unread_field: content('unread'),
    channel: 'web',
  };
}

const shape = fc.record({ removed: fc.boolean(), malformed: fc.boolean(), body: fc.string({ maxLength: 20 }) });
const recordsArb = fc.array(fc.record({ source: shape, parts: fc.array(shape, { maxLength: 4 }), extraNote: fc.string({ maxLength: 10 }) }), {
  minLength: 1,
  maxLength: 6,
});

async function allOutputText(dir: string): Promise<string> {
  let out = '';
  for (const name of await readdir(dir)) {
    const file = path.join(dir, name);
    if (name.endsWith('.parquet')) out += JSON.stringify(await duck(`SELECT * FROM read_parquet('${file}')`));
    else out += await readFile(file, 'utf8');
  }
  return out;
}

describe('per-element removal', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await Promise.all(cleanups.map((c) => c()));
  });

  for (const format of ['jsonl', 'csv', 'parquet'] as const) {
    it(`${format}: no content of a removed element reaches any output, reject or summary; kept content does`, async () => {
      const dir = await tempDir('chatport-elements-');
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const mappingFile = path.join(dir, 'mapping.yaml');
      await writeFile(mappingFile, MAPPING);
      let run = 0;
      await fc.assert(
        fc.asyncProperty(recordsArb, async (records) => {
          run++;
          const secrets: string[] = [];
          const kepts: string[] = [];
          const lines = records.map((r, i) => {
            const mk = (id: string, s: Shape) => {
              const secret = `SECRET${run}x${id}Z`;
              const kept = `KEPT${run}x${id}Z`;
              if (s.removed) secrets.push(secret);
              else if (!s.malformed) kepts.push(kept);
              return element(id, secret, s, kept);
            };
            return JSON.stringify({
              id: `c${i}`,
              created_at: 1700000000,
              note: r.extraNote,
              source: mk(`s${i}`, r.source),
              parts: r.parts.map((p, j) => mk(`p${i}-${j}`, p)),
            });
          });
          const input = path.join(dir, `in-${run}.jsonl`);
          await writeFile(input, lines.join('\n') + '\n');
          const result = await exportTo(mappingFile, [input], format, { onError: 'skip' });
          try {
            const text = (await allOutputText(result.outDir)) + JSON.stringify(result.stats.toJSON());
            for (const secret of secrets) expect(text.includes(secret), secret).toBe(false);
            // records whose removed elements made them fail are rejected: their kept content may be withheld with them
            const failed = records.some((r) => [r.source, ...r.parts].some((s) => s.removed && s.malformed));
            if (!failed) for (const kept of kepts) expect(text.includes(kept), kept).toBe(true);
          } finally {
            await result.cleanup();
          }
        }),
        { numRuns: format === 'jsonl' ? 40 : 12 },
      );
    });
  }
});
