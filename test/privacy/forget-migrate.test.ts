// migrate takes --forget (and --mask-pii) from the shared privacy option table: a dry run of the Dashly sample plans
// no request carrying the forgotten customer's id or their conversation's text (their messages count as redacted,
// never sent), while the same dry run without --forget shows them (positive control).

import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/export-helpers.js';
import { runCli } from '../helpers/run-cli.js';

const CUSTOMER = '1447294708215711734';
const THEIRS = ['Sorry to hear that! Let me look', 'Customer is a VIP', 'Hi! My order #4411', CUSTOMER];

let dir: string;
beforeAll(async () => {
  dir = await tempDir();
  await writeFile(path.join(dir, 'map.csv'), 'source_id,target_id\n1882298,1\n1447294760057308402,2\n1447294760057308403,3\n');
  await writeFile(path.join(dir, 'forget.txt'), `${CUSTOMER}\n`);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const dryRun = (state: string, extra: string[]) =>
  runCli(
    [
      'migrate',
      '--from',
      'dashly',
      '--input',
      path.join(ROOT, 'samples/dashly/parts.json'),
      '--map-conversations',
      path.join(dir, 'map.csv'),
      '--dry-run',
      '--state',
      path.join(dir, state),
      ...extra,
    ],
    { env: { DASHLY_TOKEN: 'forget-migrate-token' } },
  );

describe('migrate --forget', () => {
  it('sends nothing of the forgotten customer; without it, the same dry run would', async () => {
    const control = await dryRun('control.jsonl', []);
    expect(control.code, control.stderr).toBe(0);
    for (const t of THEIRS) expect(control.stdout + control.stderr).toContain(t);

    const r = await dryRun('forget.jsonl', ['--forget', path.join(dir, 'forget.txt'), '--mask-pii', 'email']);
    expect(r.code, r.stderr).toBe(0);
    for (const t of THEIRS) expect(r.stdout + r.stderr).not.toContain(t);
    expect(r.stderr).toMatch(/^ {2}redacted +13 +never sent$/m);
    expect(r.stdout).toContain('plan: conversation 1447294760057308403 -> 3: 11 requests for 11 messages');
  }, 60_000);
});
