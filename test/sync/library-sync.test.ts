// The sync example of docs/library.md runs verbatim (its import pointed at the built dist/index.js) against a Dashly
// test server: two runs into one dataset, the second from the stored cursor minus the lookback. And the library's
// sync stops on an AbortSignal with the dataset and its cursors untouched.
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import { ChatportError } from '../../src/errors.js';
import { sync } from '../../src/index.js';
import { ROOT } from '../helpers/export-helpers.js';
import { DashlyApiServer } from './dashly-api-server.js';
import { tempDir } from './sync-helpers.js';

const exec = promisify(execFile);
const TOKEN = 'lib-token-3c9e1f7a2b';
const servers: DashlyApiServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function example(): Promise<string> {
  const text = await readFile(path.join(ROOT, 'docs/library.md'), 'utf8');
  const block = /```js\n(\/\/ docs example: sync[^\n]*\n[\s\S]*?)```/.exec(text);
  if (!block) throw new Error('docs/library.md has no "// docs example: sync" block');
  return block[1]!.replace("from 'chatport'", `from '${pathToFileURL(path.join(ROOT, 'dist/index.js')).href}'`);
}

it('runs the sync example of docs/library.md', async () => {
  const s = await new DashlyApiServer(TOKEN, '4242').start();
  servers.push(s);
  for (let i = 0; i < 12; i++) s.add(1 + (i % 3), `${1_800_000_000 + i * 1200}.000000`);
  const dir = await tempDir();
  await writeFile(path.join(dir, 'example.mjs'), await example());
  const { stdout } = await exec(process.execPath, ['example.mjs'], {
    cwd: dir,
    env: { ...process.env, APP_ID: '4242', DASHLY_TOKEN: TOKEN, API_URL: s.url, DATASET: path.join(dir, 'warehouse') },
  });
  // one list page and 12 parts lists; the second run reads back 1 h: the last four conversations (3 + 1 + 2 + 3 parts: one at the bound)
  expect(stdout).toBe('24 parts, 13 requests, cursor 2027-01-15T11:40:00.000Z\nversion 2: read back to 2027-01-15T10:40:00.000Z, 9 parts read again\n');
});

it('stops on its AbortSignal: RUN_INTERRUPTED, the dataset as it was', async () => {
  const s = await new DashlyApiServer(TOKEN, '4242').start();
  servers.push(s);
  for (let i = 0; i < 30; i++) s.add(3, `${1_800_000_000 + i * 60}.000000`);
  const dataset = path.join(await tempDir(), 'warehouse');
  process.env.LIB_SYNC_TOKEN = TOKEN;
  const base = { from: 'dashly', tokenEnv: 'LIB_SYNC_TOKEN', params: { app_id: '4242' }, apiUrl: s.url, dataset, rps: 1000 };
  await sync(base);
  s.latencyMs = 200;
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 300);
  const e = await sync({ ...base, fullRefresh: true, signal: controller.signal }).then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ChatportError);
  expect((e as ChatportError).code).toBe('RUN_INTERRUPTED');
  expect(await readdir(path.join(dataset, '_chatport', 'versions'))).toEqual(['00000001']);
});
