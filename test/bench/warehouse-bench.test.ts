// The warehouse cases of the bench (issue 13) run end to end at a tiny size, so they cannot rot between the full
// runs: the real built CLI exports with each codec, DuckDB copies the same rows, and a merge of changed records into
// a dataset leaves one row per key. No timing is asserted.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT } from '../helpers/export-helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'chatport-warehouse-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('prints the Parquet size ratio to DuckDB per codec and the merge cost, with one row per key after the merge', () => {
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, 'bench', 'warehouse-bench.mjs'), '--records', '400', '--changed', '40', '--codecs', 'snappy,zstd', '--out-dir', dir],
    { encoding: 'utf8', cwd: ROOT },
  );
  expect(r.status, r.stderr).toBe(0);
  const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    sizes: { codec: string; ratio: number; chatportBytes: number }[];
    merge: { datasetRows: number; changedRecords: number; rowsAfter: number; distinctKeysAfter: number; mergeSeconds: number };
  };
  expect(result.sizes.map((s) => s.codec)).toEqual(['snappy', 'zstd']);
  for (const s of result.sizes) {
    expect(s.chatportBytes).toBeGreaterThan(0);
    expect(s.ratio).toBeGreaterThan(0.5);
    expect(s.ratio).toBeLessThan(2);
  }
  expect(result.merge.changedRecords).toBe(40);
  expect(result.merge.rowsAfter).toBe(result.merge.datasetRows);
  expect(result.merge.distinctKeysAfter).toBe(result.merge.datasetRows);
  expect(result.merge.mergeSeconds).toBeGreaterThan(0);
  expect(r.stdout).toMatch(/^\| snappy \| .+ \|$/m);
  expect(r.stdout).toMatch(/^Merge cost$/m);
}, 300_000);
