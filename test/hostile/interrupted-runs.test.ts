// A failed or interrupted run (error, SIGINT, SIGTERM, kill -9 mid-write) leaves the previous outputs untouched
// and no partial file under a final name; clean failures and signals also leave no temporary file behind.

import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/export-helpers.js';
import { runCli } from '../helpers/run-cli.js';

let dir: string;
let bigInput: string;
const RECORDS = 400_000;

beforeAll(async () => {
  dir = await tempDir('chatport-signals-');
  bigInput = path.join(dir, 'big.jsonl');
  const out = createWriteStream(bigInput);
  for (let i = 0; i < RECORDS; i++) {
    const line = `{"id":${1000 + i},"created":${1684923942 + i}.25,"conversation":${i % 5000},"type":"reply_user","body":"message number ${i} with some text to make it longer than a few bytes","from":${i % 777}}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function snapshot(outDir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(outDir)).sort()) files[name] = (await readFile(path.join(outDir, name))).toString('base64');
  return files;
}

async function previousRun(name: string): Promise<{ outDir: string; before: Record<string, string> }> {
  const outDir = path.join(dir, name);
  const small = path.join(dir, `${name}-small.json`);
  await writeFile(small, '[{"id":1,"created":1684923942,"conversation":7,"type":"reply_user","body":"previous run","from":3}]');
  const r = await runCli(['export', '--from', 'dashly', '--input', small, '--format', 'parquet', '--out', outDir, '--quiet']);
  expect(r.code, r.stderr).toBe(0);
  return { outDir, before: await snapshot(outDir) };
}

function startExport(outDir: string, extra: string[] = []) {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/cli/bin.js'), 'export', '--from', 'dashly', '--input', bigInput, '--format', 'parquet', '--out', outDir, '--quiet', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, done, stderr: () => stderr };
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
  for (const [signal, exit, threads] of [['SIGTERM', 143, 1], ['SIGINT', 130, 1], ['SIGTERM', 143, 2], ['SIGINT', 130, 2]] as const) {
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

  it('kill -9 mid-write: previous outputs untouched, nothing partial under a final name', async () => {
    const { outDir, before } = await previousRun('kill9');
    const run = startExport(outDir);
    await untilWriting(outDir);
    await new Promise((r) => setTimeout(r, 300));
    run.child.kill('SIGKILL');
    const { signal } = await run.done;
    expect(signal).toBe('SIGKILL');
    const after = await snapshot(outDir);
    const finals = Object.fromEntries(Object.entries(after).filter(([n]) => !n.startsWith('.chatport-tmp-')));
    expect(finals).toEqual(before);
  }, 60_000);

  it('an error late in the input: previous outputs untouched, no temporary file left', async () => {
    const { outDir, before } = await previousRun('late-error');
    const bad = path.join(dir, 'late-bad.jsonl');
    await writeFile(bad, (await readFile(bigInput, 'utf8')).split('\n').slice(0, 20_000).join('\n') + '\n' + '{"id":"x","created":"not a time","conversation":1,"type":"reply_user","body":"","from":1}\n');
    const r = await runCli(['export', '--from', 'dashly', '--input', bad, '--format', 'parquet', '--out', outDir, '--quiet']);
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/^chatport: MAP_INVALID_TIMESTAMP/);
    expect(await snapshot(outDir)).toEqual(before);
  }, 60_000);
});
