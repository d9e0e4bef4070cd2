// Child process for the kill -9 test: runs the built migration (dist/, made by `npm run build`, which `npm test`
// runs first) on a job file, so the parent can SIGKILL it at any moment and start it again on the same state.
// Usage: node migrate-child.mjs job.json   (token in MIGRATE_TEST_TOKEN); prints the report as JSON when done.

import { readFileSync } from 'node:fs';

const { runMigration, MIGRATION_DEFAULTS } = await import('../../dist/migrate/run-migration.js');
const { systemClock } = await import('../../dist/migrate/request-pacer.js');

const job = JSON.parse(readFileSync(process.argv[2], 'utf8'));

async function* rows() {
  for (const line of readFileSync(job.rowsPath, 'utf8').split('\n')) if (line) yield { table: 'messages', row: JSON.parse(line) };
}

const report = await runMigration(
  rows(),
  {
    ...MIGRATION_DEFAULTS,
    apiUrl: job.apiUrl,
    token: process.env.MIGRATE_TEST_TOKEN ?? '',
    conversations: new Map(job.conversations),
    admins: new Map(),
    users: new Map(),
    statePath: job.statePath,
    concurrency: job.concurrency,
    rps: job.rps,
    settleMs: job.settleMs,
    timeoutMs: 5000,
    retry: { maxRetries: 50, baseMs: 5, capMs: 50 },
  },
  { fetch: globalThis.fetch, clock: systemClock, random: Math.random },
);
process.stdout.write(JSON.stringify(report) + '\n');
