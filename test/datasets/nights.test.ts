// Several nights into one dataset (issue 13's "Done when"): day 1 exports two conversations; day 2 brings new parts,
// an edited part, a part removed that day 1 wrote with its text, and a conversation spanning both days. After each
// night DuckDB reads one row per key and derived conversations computed from all of their messages, and the removed
// text is in no byte of any file under the dataset.

import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CodecName } from '../../src/writers/parquet/parquet-metadata.js';
import type { FormatName } from '../../src/writers/writer.js';
import { tempDir } from '../helpers/export-helpers.js';
import { filesContaining, night, partsJsonl, readTable, type Part } from './dataset-helpers.js';

const DAY1 = Date.UTC(2023, 4, 29, 10) / 1000;
const DAY2 = Date.UTC(2023, 4, 30, 9) / 1000;
const SECRET = 'my card is 4111 1111 1111 1111';

export const NIGHT1: Part[] = [
  { id: '101', conversation: '1', created: DAY1, body: 'hello from one' },
  { id: '102', conversation: '1', created: DAY1 + 60, body: SECRET },
  { id: '103', conversation: '1', created: DAY1 + 120, body: 'typo heer' },
  // not in night 2: conversation 1's derived row must still count it
  { id: '105', conversation: '1', created: DAY1 + 180, body: 'only on night one' },
  { id: '201', conversation: '2', created: DAY1 + 30, body: 'conversation two' },
];
export const NIGHT2: Part[] = [
  // the same part exported again (overlapping days): replaces, no duplicate
  { id: '101', conversation: '1', created: DAY1, body: 'hello from one' },
  // removed at the vendor since night 1: its text must leave every file
  { id: '102', conversation: '1', created: DAY1 + 60, body: SECRET, removed: DAY2 },
  // edited
  { id: '103', conversation: '1', created: DAY1 + 120, body: 'typo here', edited: DAY2 },
  // conversation 1 goes on on day 2
  { id: '104', conversation: '1', created: DAY2 + 10, body: 'still there?' },
  { id: '301', conversation: '3', created: DAY2 + 20, body: 'a new one' },
];

/** Every regular file under `dir` (the dataset's table symlinks are not followed: versions are walked directly). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

const VARIANTS: [FormatName, CodecName | undefined][] = [
  ['parquet', undefined],
  ['parquet', 'zstd'],
  ['jsonl', undefined],
  ['jsonl', 'gzip'],
  ['csv', undefined],
];

for (const [format, compression] of VARIANTS) {
  describe(`a dataset over two nights (${format}${compression ? `, ${compression}` : ''})`, () => {
    let dir = '';
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('keeps one row per key, recomputes conversations from all their messages, and erases removed text everywhere', async () => {
      dir = await tempDir('chatport-nights-');
      const dataset = path.join(dir, 'warehouse');
      await writeFile(path.join(dir, 'n1.jsonl'), partsJsonl(NIGHT1));
      await writeFile(path.join(dir, 'n2.jsonl'), partsJsonl(NIGHT2));

      const r1 = await night(dataset, path.join(dir, 'n1.jsonl'), format, { compression });
      expect(r1.dataset.version).toBe(1);
      const m1 = await readTable(dataset, 'messages', format, 'message_id, text, dt::VARCHAR AS dt');
      expect(m1).toEqual([
        { message_id: '101', text: 'hello from one', dt: '2023-05-29' },
        { message_id: '102', text: SECRET, dt: '2023-05-29' },
        { message_id: '103', text: 'typo heer', dt: '2023-05-29' },
        { message_id: '105', text: 'only on night one', dt: '2023-05-29' },
        { message_id: '201', text: 'conversation two', dt: '2023-05-29' },
      ]);
      expect(await filesContaining(dataset, SECRET)).not.toEqual([]); // the search finds the text while it is there
      // the night-1 file that holds the part removed on night 2
      const day1Files = await filesUnder(path.join(dataset, 'messages', 'dt=2023-05-29'));
      expect(day1Files.length).toBeGreaterThan(0);

      const r2 = await night(dataset, path.join(dir, 'n2.jsonl'), format, { compression });
      expect(r2.dataset.version).toBe(2);
      const m2 = await readTable(dataset, 'messages', format, 'message_id, text, redacted::VARCHAR AS redacted, dt::VARCHAR AS dt');
      expect(m2).toEqual([
        { message_id: '101', text: 'hello from one', redacted: 'false', dt: '2023-05-29' },
        { message_id: '102', text: null, redacted: 'true', dt: '2023-05-29' },
        { message_id: '103', text: 'typo here', redacted: 'false', dt: '2023-05-29' },
        { message_id: '104', text: 'still there?', redacted: 'false', dt: '2023-05-30' },
        { message_id: '105', text: 'only on night one', redacted: 'false', dt: '2023-05-29' },
        { message_id: '201', text: 'conversation two', redacted: 'false', dt: '2023-05-29' },
        { message_id: '301', text: 'a new one', redacted: 'false', dt: '2023-05-30' },
      ]);
      const conversations = await readTable(
        dataset,
        'conversations',
        format,
        'conversation_id, message_count::INTEGER AS n, created_at::TIMESTAMPTZ::VARCHAR AS first, last_activity_at::TIMESTAMPTZ::VARCHAR AS last, dt::VARCHAR AS dt',
      );
      expect(conversations).toEqual([
        { conversation_id: '1', n: 5, first: '2023-05-29 10:00:00+00', last: '2023-05-30 09:00:10+00', dt: '2023-05-29' },
        { conversation_id: '2', n: 1, first: '2023-05-29 10:00:30+00', last: '2023-05-29 10:00:30+00', dt: '2023-05-29' },
        { conversation_id: '3', n: 1, first: '2023-05-30 09:00:20+00', last: '2023-05-30 09:00:20+00', dt: '2023-05-30' },
      ]);
      expect(r2.dataset.erasedRows).toBe(1);
      expect(r2.dataset.erasedFiles).toBe(1);
      expect(await filesContaining(dataset, SECRET)).toEqual([]);
      // old files gone: no version, current or kept, still has (a hard link to) the file that held the text
      const everything = (await filesUnder(dataset)).map((f) => path.basename(f));
      for (const f of day1Files) expect(everything).not.toContain(path.basename(f));
    });
  });
}
