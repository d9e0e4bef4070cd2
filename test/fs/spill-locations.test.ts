// Where a migration's temporary data goes (issue 10 item 18): its sort spills beside the --state file, in a folder
// of the run's own taken under the state's lock, never in the OS temporary folder; the folder is gone afterwards.

import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { Row } from '../../src/model/canonical-schema.js';
import { runMigration } from '../../src/migrate/run-migration.js';
import { DashlyTestServer } from '../migrate/dashly-test-server.js';
import { TOKEN, iterate, message, testConfig, testDeps } from '../migrate/migrate-fixtures.js';

const base = mkdtempSync(join(tmpdir(), 'chatport-spills-'));
let server: DashlyTestServer | null = null;
afterAll(async () => {
  await server?.close();
  rmSync(base, { recursive: true, force: true });
});

it('migrate spills its sort beside --state under the lock, never into the OS temporary folder', async () => {
  const stateDir = join(base, 'state');
  const osTemp = join(base, 'os-tmp');
  mkdirSync(stateDir);
  mkdirSync(osTemp);
  const seen: string[] = [];
  server = await DashlyTestServer.start({
    token: TOKEN,
    fault: () => {
      // while requests go out, the sorted runs are being read: look where they are
      if (seen.length === 0) {
        for (const name of readdirSync(stateDir))
          if (name.startsWith('state.jsonl.chatport-tmp-')) seen.push(...readdirSync(join(stateDir, name)).map((n) => `${name}/${n}`));
      }
      return null;
    },
  });
  server.addConversation('1');
  server.addConversation('2');
  const rows: Row[] = [];
  for (let i = 0; i < 200; i++) rows.push(message(`c${i % 2}`, `m${i}`, 1_700_000_000_000_000 + i, { text: `message ${i} `.repeat(5) }));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = osTemp;
  try {
    const config = testConfig(server.url, stateDir, {
      conversations: new Map([
        ['c0', '1'],
        ['c1', '2'],
      ]),
      maxBufferedChars: 4000,
    });
    const report = await runMigration(iterate(rows), config, testDeps());
    expect(report.messages.sent).toBe(200);
  } finally {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
  }
  expect(seen.some((p) => /^state\.jsonl\.chatport-tmp-[0-9a-f]+\/chatport-migrate-/.test(p))).toBe(true);
  expect(readdirSync(osTemp)).toEqual([]);
  expect(readdirSync(stateDir)).toEqual(['state.jsonl']); // no spills, no lock left
});
