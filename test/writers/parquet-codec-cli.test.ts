// `export --format parquet --compression C` end to end, on the worker threads and on one thread: the codec reaches
// every encoder (pages encoded by a worker are compressed with C, as the footer says), and DuckDB reads the same
// rows as from the default SNAPPY export. Before, workers always encoded SNAPPY and the writer labelled it C.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/export-helpers.js';
import { runCli } from '../helpers/run-cli.js';
import { query, sqlString } from './helpers.js';

let dir: string;
let input: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'chatport-codec-'));
  input = path.join(dir, 'parts.jsonl');
  // ~3 MB: several segments, so --threads 2 encodes on the workers
  execFileSync(process.execPath, [
    path.join(ROOT, 'bench', 'generate.mjs'),
    '--vendor',
    'dashly',
    '--shape',
    'jsonl',
    '--records',
    '5000',
    '--seed',
    'codec',
    '--out',
    input,
  ]);
  const r = await runCli(['export', '--from', 'dashly', '--input', input, '--format', 'parquet', '--out', path.join(dir, 'snappy'), '--quiet']);
  expect(r.code, r.stderr).toBe(0);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NAMES = { gzip: 'GZIP', zstd: 'ZSTD', none: 'UNCOMPRESSED', snappy: 'SNAPPY' } as const;

describe.each(['zstd', 'gzip', 'none'] as const)('--compression %s', (codec) => {
  it.each(['1', '2'])(
    '--threads %s: every page in the codec the footer names, the same rows as SNAPPY',
    async (threads) => {
      const out = path.join(dir, `${codec}-${threads}`);
      const r = await runCli([
        'export',
        '--from',
        'dashly',
        '--input',
        input,
        '--format',
        'parquet',
        '--compression',
        codec,
        '--threads',
        threads,
        '--out',
        out,
        '--quiet',
      ]);
      expect(r.code, r.stderr).toBe(0);
      for (const table of ['messages', 'conversations']) {
        const file = path.join(out, `${table}.parquet`);
        const codecs = await query(`SELECT DISTINCT compression FROM parquet_metadata(${sqlString(file)})`);
        expect(codecs.map((c) => c.compression)).toEqual([NAMES[codec]]);
        const base = `read_parquet(${sqlString(path.join(dir, 'snappy', `${table}.parquet`))})`;
        const got = `read_parquet(${sqlString(file)})`;
        const diff = await query(
          `SELECT (SELECT count(*) FROM (SELECT * FROM ${base} EXCEPT ALL SELECT * FROM ${got})) AS missing, (SELECT count(*) FROM (SELECT * FROM ${got} EXCEPT ALL SELECT * FROM ${base})) AS extra, (SELECT count(*) FROM ${got}) AS n`,
        );
        expect(diff[0]).toMatchObject({ missing: 0n, extra: 0n });
        expect(Number(diff[0]!.n)).toBeGreaterThan(table === 'messages' ? 4_000 : 100);
      }
    },
    120_000,
  );
});
