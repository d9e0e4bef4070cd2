// The race from issue 10 item 13: processes racing to take over the stale lock of a killed run. The old lock (read
// pid, unlink, create) let two openers hold it at once in 56 of 200 trials. Here a victim process opens 200 migrate
// state journals and is killed with kill -9; then, per trial, four processes race for the dead run's lock. Each
// holder creates <trial>/occupied with O_EXCL while it holds the lock, so two holders at once are caught without
// comparing clocks. At most one confirmed holder at any time: no trial may see an overlap.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const child = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'lock-child.mjs');
const TRIALS = 200;
const RACERS = 4;
const BATCH = 20;
const LEASE_MS = 1000;
const env = { ...process.env, CHATPORT_LOCK_LEASE_MS: String(LEASE_MS) };

const base = mkdtempSync(join(tmpdir(), 'chatport-race-'));
const racers: ChildProcess[] = [];
afterAll(() => {
  for (const r of racers) r.kill('SIGKILL');
  rmSync(base, { recursive: true, force: true });
});

interface Outcome {
  trial: number;
  acquired: boolean;
  overlap?: boolean;
  code?: string;
}

it(`${RACERS} processes racing for the stale locks of a killed run: one holder at a time in ${TRIALS} trials`, async () => {
  // the victim: holds every trial's lock, then dies without releasing any
  const victim = spawn(process.execPath, [child, 'victim', base, String(TRIALS)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  victim.stdout!.on('data', (d) => (out += d));
  while (!out.includes('ready')) await once(victim.stdout!, 'data');
  victim.kill('SIGKILL');
  await once(victim, 'exit');

  for (let i = 0; i < RACERS; i++) {
    const r = spawn(process.execPath, [child, 'racer'], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    racers.push(r);
    await once(r, 'message');
  }
  const outcomes: Outcome[] = [];
  for (const r of racers) r.on('message', (m: Outcome) => outcomes.push(m));

  for (let first = 0; first < TRIALS; first += BATCH) {
    const expected = outcomes.length + BATCH * RACERS;
    const startAt = Date.now() + 50;
    for (let t = first; t < first + BATCH; t++) {
      for (const r of racers) r.send({ trial: t, dir: join(base, `t${t}`), startAt, holdMs: 15 });
    }
    while (outcomes.length < expected) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  const overlaps = outcomes.filter((o) => o.overlap).length;
  const trialsTaken = new Set(outcomes.filter((o) => o.acquired).map((o) => o.trial)).size;
  const refused = outcomes.filter((o) => !o.acquired);
  console.log(`race: ${outcomes.filter((o) => o.acquired).length} acquisitions in ${TRIALS} trials, ${refused.length} refusals, ${overlaps} overlaps`);
  expect(overlaps).toBe(0);
  expect(trialsTaken).toBe(TRIALS); // every dead run's lock was taken over
  // a racer is refused only because another live racer held the lock
  for (const r of refused) expect(r.code).toBe('MIGRATE_STATE_LOCKED');
}, 180_000);
