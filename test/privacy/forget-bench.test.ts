// The forget bench (bench/forget-bench.mjs, the command docs/privacy.md gives) runs on a small dataset and reports
// what it measured: the customer's conversation forgotten in the files that held it, nothing left to do the second
// time, and both next nights timed.

import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/export-helpers.js';

const exec = promisify(execFile);

describe('bench/forget-bench.mjs', () => {
  it('measures forget over a dataset of N rows', async () => {
    const r = await exec(process.execPath, [path.join(ROOT, 'bench/forget-bench.mjs'), '--records', '600', '--per-conversation', '6'], { cwd: ROOT });
    const m = JSON.parse(r.stdout) as Record<string, number>;
    // one conversation of 6 parts and its derived conversation row
    expect(m).toMatchObject({ records: 600, conversations: 100, forget_rows: 7, forget_again_rows: 0 });
    expect(m.forget_files_rewritten).toBeGreaterThanOrEqual(2);
    for (const k of ['build_ms', 'forget_ms', 'forget_again_ms', 'next_night_with_list_ms', 'next_night_control_ms']) expect(m[k]).toBeGreaterThan(0);
  }, 120_000);
});
