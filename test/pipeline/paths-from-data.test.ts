// Ids and attachment names from the data never become file names: an export full of path-like values writes
// exactly the fixed table files in the output directory and nothing anywhere else.

import { readdir, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { exportTo, tempDir } from '../helpers/export-helpers.js';

it('path-like ids and attachment names stay data', async () => {
  const root = await tempDir();
  const outDir = path.join(root, 'nested', 'out');
  await mkdir(outDir, { recursive: true });
  const input = path.join(root, 'in.json');
  const evil = ['../../escape', '/etc/passwd', '..\\..\\win', 'messages.jsonl', '.chatport-tmp-x'];
  await writeFile(
    input,
    JSON.stringify(
      evil.map((name, i) => ({
        id: name + i,
        conversation: `../${name}`,
        created: 1684923942 + i,
        type: 'reply_user',
        body: 'x',
        from: 5,
        attachments: [{ id: name, filename: `../../${name}.pdf`, url: `file://${name}`, created: 1684923942 }],
      })),
    ),
  );
  const run = await exportTo('dashly', [input], 'jsonl', { outDir });
  expect((await readdir(outDir)).sort()).toEqual(['conversations.jsonl', 'messages.jsonl']);
  expect((await readdir(path.join(root, 'nested'))).sort()).toEqual(['out']);
  expect((await readdir(root)).sort()).toEqual(['in.json', 'nested']);
  expect(run.stats.toJSON().tables).toMatchObject({ messages: { rows_written: evil.length } });
  await run.cleanup();
});
