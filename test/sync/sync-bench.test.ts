// The sync bench case (bench/sync-bench.ts) at a tiny size: it runs end to end and counts what the server served.
import { expect, it } from 'vitest';
import { syncBench } from '../../bench/sync-bench.js';

it('bench/sync-bench.ts runs and reports pages and records per concurrency', { timeout: 120_000 }, async () => {
  const rows = await syncBench({ conversations: 6, parts: 51, latencyMs: 5, concurrency: [1, 4] });
  expect(rows.map((r) => [r.concurrency, r.pages, r.records])).toEqual([
    [1, 1 + 6 * 2, 6 * 51],
    [4, 1 + 6 * 2, 6 * 51],
  ]);
  for (const r of rows) expect(r.records_per_s).toBeGreaterThan(0);
});
