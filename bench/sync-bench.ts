// The sync case of the benchmark (issue 14): `chatport sync --dataset` (the built CLI, a separate process) against
// the Dashly test server on 127.0.0.1 (test/sync/dashly-api-server.ts) answering every request after a simulated
// latency, once per --concurrency value: pages/s and records/s end to end (list walk, parts lists, mapping, the
// dataset merge and commit). The server runs in this process; on a loaded machine the numbers are lower bounds.
//
// CLI: npx tsx bench/sync-bench.ts [--conversations N] [--parts P] [--latency MS] [--concurrency 1,4,16] [--json FILE]
//      (defaults: 100 conversations of 60 parts, 50 ms, 1,4,16; `npm run build` first)

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DashlyApiServer } from '../test/sync/dashly-api-server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TOKEN = 'bench-token-5b8e2c1d9f';

export interface SyncBenchRow {
  concurrency: number;
  seconds: number;
  requests: number;
  pages: number;
  records: number;
  pages_per_s: number;
  records_per_s: number;
}

export async function syncBench(o: { conversations: number; parts: number; latencyMs: number; concurrency: number[] }): Promise<SyncBenchRow[]> {
  const server = await new DashlyApiServer(TOKEN, '4242').start();
  server.latencyMs = o.latencyMs;
  for (let i = 0; i < o.conversations; i++) server.add(o.parts, `${1_800_000_000 + i * 60}.000000`);
  const dir = await mkdtemp(path.join(tmpdir(), 'chatport-sync-bench-'));
  const rows: SyncBenchRow[] = [];
  try {
    for (const c of o.concurrency) {
      const report = path.join(dir, `report-${c}.json`);
      const args = [
        path.join(ROOT, 'dist/cli/bin.js'),
        'sync',
        '--from',
        'dashly',
        '--param',
        'app_id=4242',
        '--token-env',
        'BENCH_TOKEN',
        '--api-url',
        server.url,
        '--dataset',
        path.join(dir, `warehouse-${c}`),
        '--format',
        'parquet',
        '--rps',
        '1000',
        '--concurrency',
        String(c),
        '--quiet',
        '--report',
        report,
      ];
      const t0 = performance.now();
      const code = await new Promise<number | null>((resolve) => {
        const p = spawn(process.execPath, args, { env: { ...process.env, BENCH_TOKEN: TOKEN }, stdio: ['ignore', 'ignore', 'inherit'] });
        p.on('close', resolve);
      });
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) throw new Error(`chatport sync exited ${code} at --concurrency ${c}`);
      const r = JSON.parse(await readFile(report, 'utf8')) as { records_read: number; sync: { requests: number; pages: number } };
      rows.push({
        concurrency: c,
        seconds: round(seconds),
        requests: r.sync.requests,
        pages: r.sync.pages,
        records: r.records_read,
        pages_per_s: round(r.sync.pages / seconds),
        records_per_s: Math.round(r.records_read / seconds),
      });
    }
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

const round = (n: number) => Math.round(n * 10) / 10;

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      conversations: { type: 'string', default: '100' },
      parts: { type: 'string', default: '60' },
      latency: { type: 'string', default: '50' },
      concurrency: { type: 'string', default: '1,4,16' },
      json: { type: 'string' },
    },
  });
  const o = {
    conversations: Number(values.conversations),
    parts: Number(values.parts),
    latencyMs: Number(values.latency),
    concurrency: values.concurrency.split(',').map(Number),
  };
  const rows = await syncBench(o);
  console.log(`sync --dataset (parquet) against the Dashly test server: ${o.conversations} conversations x ${o.parts} parts, ${o.latencyMs} ms latency`);
  console.log('| --concurrency | pages | records | time s | pages/s | records/s |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.concurrency} | ${r.pages} | ${r.records} | ${r.seconds} | ${r.pages_per_s} | ${r.records_per_s} |`);
  if (values.json) await writeFile(values.json, JSON.stringify({ ...o, rows }, null, 2) + '\n');
}
