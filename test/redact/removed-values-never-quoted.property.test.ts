// Messages about a removed record are built without its values (issue 10 item 2): the old code quoted the value and
// then masked `"..."` with a regex, which an escaped quote inside the value defeated (`(value withheld)LEAK..."`).
// Here the removed record's bad value (or its broken line) holds the secret between random quotes, backslashes,
// braces and control characters, and the secret must reach no error message, no rejects file and no validate report;
// the positive control shows that the same checks find it when the record is not removed.

import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChatportError, exportTranscripts, validateMapping } from '../../src/index.js';
import { tempDir } from '../helpers/export-helpers.js';

const SECRET = 'LEAKTOKEN7731';
const noise = fc.stringOf(fc.constantFrom('"', '\\', '\\"', '\n', '\t', '\u0000', '\u001f', '}', '{', ',', ' ', 'a', ':', '\u2028', 'é'), { maxLength: 8 });
const badValue = fc.tuple(noise, noise).map(([a, b]) => `${a}${SECRET}${b}`);

const good = (id: number) =>
  JSON.stringify({ id, conversation: 5, type: 'reply_user', body: `fine ${id}`, created: 1700000000 + id, removed: null, from: 77, direction: 'u2a' });

/** The suspect line: a bad created value (string, not an epoch) or a line broken after the secret. */
function suspect(kind: 'bad-value' | 'broken-line', value: string, removed: boolean): string {
  const fields = { id: 9, conversation: 5, type: 'reply_user', body: 'the body', removed: removed ? 1700000500 : null, from: 77, direction: 'u2a' };
  if (kind === 'bad-value') return JSON.stringify({ ...fields, created: value });
  // valid up to the secret, then an unterminated string: the line does not parse
  return `${JSON.stringify({ ...fields, created: 1700000009 }).slice(0, -1)},"note":"${value.replace(/[\n\r]/g, ' ')}`;
}

async function everythingSaid(dir: string, lines: string[]): Promise<string> {
  const input = path.join(dir, 'in.jsonl');
  await writeFile(input, lines.join('\n') + '\n');
  const said: string[] = [];
  try {
    await exportTranscripts({ from: 'dashly', input, out: path.join(dir, 'fail'), threads: 1 });
  } catch (e) {
    if (!(e instanceof ChatportError)) throw e;
    said.push(e.message);
  }
  const skipOut = path.join(dir, 'skip');
  await exportTranscripts({ from: 'dashly', input, out: skipOut, onError: 'skip', threads: 1 });
  said.push(await readFile(path.join(skipOut, 'rejects.jsonl'), 'utf8'));
  said.push(JSON.stringify(await validateMapping({ from: 'dashly', input })));
  await rm(dir, { recursive: true, force: true });
  return said.join('\n');
}

describe("a removed record's values are never quoted", () => {
  for (const kind of ['bad-value', 'broken-line'] as const) {
    it(`${kind}: no error message, rejects file or validate report holds the secret`, async () => {
      await fc.assert(
        fc.asyncProperty(badValue, async (value) => {
          const said = await everythingSaid(await tempDir(), [good(1), suspect(kind, value, true), good(2)]);
          expect(said).not.toContain(SECRET);
        }),
        { numRuns: 15 },
      );
    }, 240_000);

    it(`${kind}, positive control: the same record not removed is kept raw in rejects, so the checks can see it`, async () => {
      const said = await everythingSaid(await tempDir(), [good(1), suspect(kind, `"\\"${SECRET}\\u0000`, false), good(2)]);
      expect(said).toContain(SECRET);
    }, 60_000);
  }
});
