// kill -9 at every step of an output set's commit, and at random moments of a slowed one (25 kills): afterwards, once
// the next run has opened the directory, it holds exactly the earlier set or exactly the new set, never a mix, and
// no temporary data or journal is left. A kill before the commit point gives the earlier set, after it the new one.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { LOCK_DIR_NAME, OutputSet } from '../../src/writers/output-set.js';
import { ownedFiles, tempDir } from './output-set-helpers.js';

const child = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'commit-child.mjs');
const OLD = { 'conversations.parquet': 'old conversations', 'messages.csv': 'old csv', 'messages.parquet': 'old messages' };
const NEW = { 'conversations.parquet': 'new conversations', 'messages.parquet': 'new messages', 'rejects.jsonl': 'new rejects' };
const RANDOM_KILLS = 10;

const tmp = tempDir();
afterAll(() => tmp.cleanup());
let n = 0;

function earlierRun(): string {
  const out = join(tmp.dir, `out${n++}`);
  mkdirSync(join(out, '.chatport-tmp-run-deaddeaddead'), { recursive: true });
  for (const [name, text] of Object.entries(OLD)) writeFileSync(join(out, name), text);
  return out;
}

async function runChild(out: string, killAt: number, delayMs: number, killAfterMs: number | null): Promise<{ signal: string | null; stdout: string }> {
  const p = spawn(process.execPath, [child, out, String(killAt), String(delayMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  p.stdout.on('data', (d) => {
    stdout += d;
    if (killAfterMs !== null && stdout.includes('committing')) setTimeout(() => p.kill('SIGKILL'), killAfterMs);
  });
  const [, signal] = (await once(p, 'exit')) as [number | null, string | null];
  return { signal, stdout };
}

/**
 * The next run's open recovers; what is then in the directory. The killed run's lease is removed first, as an
 * operator who knows it is dead may do: waiting for it to expire is the lock's test (test/fs/), not this one's.
 */
async function afterNextOpen(out: string, killed: boolean): Promise<Record<string, string>> {
  const lockDir = join(out, LOCK_DIR_NAME);
  if (killed && existsSync(lockDir)) for (const name of readdirSync(lockDir)) if (name.endsWith('.lease')) rmSync(join(lockDir, name));
  const set = await OutputSet.open(out);
  await set.abort();
  expect(readdirSync(out).filter((f) => !(f in OLD) && !(f in NEW))).toEqual([]);
  return ownedFiles(out);
}

it(`kill -9 at each step of open and commit, and at ${RANDOM_KILLS} random moments: the earlier or the new set, never a mix`, async () => {
  // a run without a kill counts the changing steps, and which one is the commit point (the journal's deletion)
  const whole = earlierRun();
  const counted = /steps (\d+) commit-point (\d+)/.exec((await runChild(whole, 0, 0, null)).stdout);
  expect(counted).not.toBeNull();
  const [STEPS, COMMIT_POINT] = [Number(counted![1]), Number(counted![2])];
  expect(COMMIT_POINT).toBeGreaterThan(5);
  expect(await afterNextOpen(whole, false)).toEqual(NEW);

  let kills = 0;
  let sawOld = 0;
  let sawNew = 0;
  for (let k = 1; k <= STEPS; k++) {
    const out = earlierRun();
    const { signal } = await runChild(out, k, 0, null);
    expect(signal, `step ${k}`).toBe('SIGKILL');
    kills++;
    expect(await afterNextOpen(out, true), `killed before step ${k}`).toEqual(k <= COMMIT_POINT ? OLD : NEW);
  }
  // slowed steps (25 ms each): killed from outside at a random moment of the commit
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < RANDOM_KILLS; i++) {
    const out = earlierRun();
    const { signal } = await runChild(out, 0, 25, Math.floor(random() * 12 * 25));
    if (signal !== 'SIGKILL') continue; // finished first: not a kill
    kills++;
    const after = await afterNextOpen(out, true);
    if (JSON.stringify(after) === JSON.stringify(OLD)) sawOld++;
    else {
      expect(after).toEqual(NEW);
      sawNew++;
    }
  }
  console.log(`output set: ${kills} kills; random ones left the earlier set ${sawOld} times, the new set ${sawNew} times`);
  expect(kills).toBeGreaterThanOrEqual(20);
}, 120_000);
