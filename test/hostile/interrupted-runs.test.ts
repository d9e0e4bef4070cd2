// A failed or interrupted run (error, SIGINT, SIGTERM, kill -9 mid-write) leaves the previous outputs untouched
// and no partial file under a final name; clean failures and signals also leave no temporary data behind and
// release the lock on --out. A run killed with kill -9 leaves its temporary folder (with spills) inside --out,
// never in the OS temporary folder, and the next run into the same --out removes it.

import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/export-helpers.js';
import { runCli } from '../helpers/run-cli.js';

let dir: string;
let bigInput: string;
/** The OS temporary folder of the spawned runs: nothing may appear there. */
let osTemp: string;
const RECORDS = 400_000;
/** For the kill -9 case: a run after it waits for the killed run's lease, 3 s here instead of 10 s. */
const shortLease = { CHATPORT_LOCK_LEASE_MS: '3000' };

beforeAll(async () => {
  dir = await tempDir('chatport-signals-');
  osTemp = path.join(dir, 'os-tmp');
  await mkdir(osTemp);
  bigInput = path.join(dir, 'big.jsonl');
  const out = createWriteStream(bigInput);
  for (let i = 0; i < RECORDS; i++) {
    const line = `{"id":${1000 + i},"created":${1684923942 + i}.25,"conversation":${i % 20_000},"type":"reply_user","body":"message number ${i} with some text to make it longer than a few bytes","from":${i % 777}}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every entry of outDir (a released lock leaves none of its own). */
async function snapshot(outDir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(outDir)).sort()) {
    const file = path.join(outDir, name);
    files[name] = (await stat(file)).isDirectory() ? '(directory)' : (await readFile(file)).toString('base64');
  }
  return files;
}

async function previousRun(name: string, env: NodeJS.ProcessEnv = {}): Promise<{ outDir: string; before: Record<string, string> }> {
  const outDir = path.join(dir, name);
  const small = path.join(dir, `${name}-small.json`);
  await writeFile(small, '[{"id":1,"created":1684923942,"conversation":7,"type":"reply_user","body":"previous run","from":3}]');
  const r = await runCli(['export', '--from', 'dashly', '--input', small, '--format', 'parquet', '--out', outDir, '--quiet'], { env });
  expect(r.code, r.stderr).toBe(0);
  return { outDir, before: await snapshot(outDir) };
}

function startExport(outDir: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'dist/cli/bin.js'), 'export', '--from', 'dashly', '--input', bigInput, '--format', 'parquet', '--out', outDir, '--quiet', ...extra],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env, TMPDIR: osTemp },
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, done, stderr: () => stderr };
}

/** The files in outDir (no checks on the lock). */
async function snapshotFiles(outDir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(outDir)).sort()) {
    const file = path.join(outDir, name);
    if (!(await stat(file)).isDirectory()) files[name] = (await readFile(file)).toString('base64');
  }
  return files;
}

/** Waits until the run has a temporary output file, i.e. it is writing. */
async function untilWriting(outDir: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const names = await readdir(outDir).catch(() => [] as string[]);
    if (names.some((n) => n.startsWith('.chatport-tmp-'))) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the export never started writing');
}

describe('interrupted runs', () => {
  for (const [signal, exit, threads] of [
    ['SIGTERM', 143, 1],
    ['SIGINT', 130, 1],
    ['SIGTERM', 143, 2],
    ['SIGINT', 130, 2],
  ] as const) {
    it(`${signal}${threads === 2 ? ' with --threads 2' : ''}: exit ${exit}, previous outputs untouched, no temporary file left`, async () => {
      const { outDir, before } = await previousRun(`sig-${signal}-${threads}`);
      const run = startExport(outDir, threads === 2 ? ['--threads', '2'] : []);
      await untilWriting(outDir);
      await new Promise((r) => setTimeout(r, 200));
      run.child.kill(signal);
      const { code } = await run.done;
      expect(code, run.stderr()).toBe(exit);
      expect(run.stderr()).toMatch(/^chatport: RUN_INTERRUPTED/);
      expect(await snapshot(outDir)).toEqual(before);
    }, 60_000);
  }

  it('kill -9 mid-write: previous outputs untouched; the next run removes the temporary folder and its spills', async () => {
    const { outDir, before } = await previousRun('kill9', shortLease);
    const run = startExport(outDir, ['--threads', '1'], shortLease);
    await untilWriting(outDir);
    // killed once the run has spilled conversation aggregates (ids, times, tags) to disk
    const scratch = async () => {
      const runs = (await readdir(outDir)).filter((n) => n.startsWith('.chatport-tmp-run-'));
      return runs.length ? await readdir(path.join(outDir, runs[0]!, 'scratch')).catch(() => [] as string[]) : [];
    };
    for (let i = 0; i < 600 && !(await scratch()).some((n) => n.startsWith('chatport-derive-')); i++) await new Promise((r) => setTimeout(r, 25));
    run.child.kill('SIGKILL');
    const { signal } = await run.done;
    expect(signal).toBe('SIGKILL');
    expect((await scratch()).some((n) => n.startsWith('chatport-derive-'))).toBe(true);
    expect(await readdir(osTemp)).toEqual([]);
    // the killed run's lease is left to expire
    expect((await readdir(path.join(outDir, '.chatport-lock'))).some((n) => n.endsWith('.lease'))).toBe(true);
    const finals = Object.fromEntries(Object.entries(await snapshotFiles(outDir)).filter(([n]) => !n.startsWith('.chatport-tmp-')));
    expect(finals).toEqual(before);
    // the next run into the same --out takes the lock over after the lease and removes the killed run's data
    await previousRun('kill9', shortLease);
    expect((await readdir(outDir)).filter((n) => n.startsWith('.chatport-tmp-'))).toEqual([]);
  }, 60_000);

  it('an error late in the input: previous outputs untouched, no temporary file left', async () => {
    const { outDir, before } = await previousRun('late-error');
    const bad = path.join(dir, 'late-bad.jsonl');
    await writeFile(
      bad,
      (await readFile(bigInput, 'utf8')).split('\n').slice(0, 20_000).join('\n') +
        '\n' +
        '{"id":"x","created":"not a time","conversation":1,"type":"reply_user","body":"","from":1}\n',
    );
    const r = await runCli(['export', '--from', 'dashly', '--input', bad, '--format', 'parquet', '--out', outDir, '--quiet']);
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/^chatport: MAP_INVALID_TIMESTAMP/);
    expect(await snapshot(outDir)).toEqual(before);
  }, 60_000);
});
