// Runs that own no directory (validate, migrate's reading, a library call) keep their temporary data in the OS
// temporary folder (issue 10 item 18): a kill -9 leaves it behind, with raw text a removed record may hold, and the
// next chatport run must remove it without a manual step, while never touching a live run's folder.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { claimOsTempFolder, removeOrphanedOsTemp } from '../../src/fs/temp-folder.js';
import { ROOT } from '../helpers/export-helpers.js';
import { runCli } from '../helpers/run-cli.js';

const base = mkdtempSync(join(tmpdir(), 'chatport-os-temp-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

it('removes the folders of dead chatport processes only, and names its own with its pid', async () => {
  const parent = join(base, 'unit');
  mkdirSync(parent);
  const dead = join(parent, `chatport-run-${deadPid()}-AbC123`);
  const live = join(parent, `chatport-rows-${process.pid}-Zz9`);
  const foreign = join(parent, `chatport-notes-${deadPid()}`); // not our naming: left alone
  for (const dir of [dead, live, foreign]) {
    mkdirSync(dir);
    writeFileSync(join(dir, 'stdin.spool'), 'raw text');
  }
  expect(await removeOrphanedOsTemp(parent)).toBe(1);
  expect([existsSync(dead), existsSync(live), existsSync(foreign)]).toEqual([false, true, true]);

  const before = process.env.TMPDIR;
  process.env.TMPDIR = parent;
  try {
    const mine = await claimOsTempFolder('run');
    expect(mine.startsWith(join(parent, `chatport-run-${process.pid}-`))).toBe(true);
  } finally {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
  }
});

it('validate killed with -9 while reading stdin leaves its copy of stdin; the next validate removes it', async () => {
  const osTemp = join(base, 'cli');
  mkdirSync(osTemp);
  const env = { ...process.env, TMPDIR: osTemp };
  const part = (i: number) =>
    JSON.stringify({
      id: 1000 + i,
      conversation: 7,
      part_type: 'reply_user',
      type: 'reply_user',
      body: i === 3 ? 'REMOVEDTEXT-41' : `hello ${i}`,
      created: 1700000000 + i,
      removed: i === 3 ? 1700000100 : null,
      from: 5,
      direction: 'u2a',
    });
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli/bin.js'), 'validate', '--from', 'dashly', '--input', '-'], {
    env,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  // a few records, then stdin stays open: the run is alive with its spool on disk
  child.stdin.write(Array.from({ length: 50 }, (_, i) => part(i)).join('\n') + '\n');
  const spool = await new Promise<string>((resolve, reject) => {
    const started = Date.now();
    const look = () => {
      for (const name of readdirSync(osTemp)) {
        const file = join(osTemp, name, 'stdin.spool');
        if (existsSync(file) && readFileSync(file, 'utf8').includes('REMOVEDTEXT-41')) return resolve(join(osTemp, name));
      }
      if (Date.now() - started > 60_000) return reject(new Error(`no stdin spool in ${osTemp}: ${readdirSync(osTemp).join(', ')}`));
      setTimeout(look, 50);
    };
    look();
  });
  expect(spool).toMatch(new RegExp(`chatport-run-${child.pid}-`));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('close', resolve));
  expect(existsSync(spool)).toBe(true); // what a kill -9 leaves

  const next = await runCli(['validate', '--from', 'dashly', '--input', join(ROOT, 'samples/dashly/parts.json')], { env });
  expect(next.code, next.stderr).toBe(0);
  expect(existsSync(spool)).toBe(false);
  expect(readdirSync(osTemp)).toEqual([]);
}, 120_000);
