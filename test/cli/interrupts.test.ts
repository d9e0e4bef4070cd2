// SIGINT and SIGTERM are handled the same way by every command (issue 10 item 14, issue 11): exit 128 + the
// signal's number, one `chatport: RUN_INTERRUPTED` line, temporary files removed, the migrate lock released, and
// the --report JSON written with the error. Before, migrate died silently on SIGTERM leaving its lock, validate
// left its spilled aggregates in the temporary folder, and a run reading a pipe that never ended could not be
// stopped. (export's outputs under a signal are tested in test/hostile/interrupted-runs.test.ts.)

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/export-helpers.js';
import { DashlyTestServer } from '../migrate/dashly-test-server.js';

const TOKEN = 'sig-test-token-5b7e';
let dir: string;
let server: DashlyTestServer | null = null;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'chatport-interrupts-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await server?.close();
  server = null;
});

/** Dashly parts as JSONL: `conversations` conversations of `perConversation` messages each. */
function dashlyParts(conversations: number, perConversation: number): string {
  let text = '';
  for (let c = 0; c < conversations; c++) {
    for (let m = 0; m < perConversation; m++) {
      text += `{"id":${1_000_000 + c * perConversation + m},"created":${1_700_000_000 + m},"conversation":${500 + c},"type":"reply_user","body":"message ${m} of ${c}","from":${c + 1}}\n`;
    }
  }
  return text;
}

interface Started {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
  tmp: string;
}

async function start(args: string[], options: { env?: NodeJS.ProcessEnv; stdinOpen?: boolean } = {}): Promise<Started> {
  const tmp = await mkdtemp(path.join(dir, 'tmp-'));
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/cli/bin.js'), ...args], {
    cwd: dir,
    env: { ...process.env, TMPDIR: tmp, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.resume();
  child.stdin!.on('error', () => {});
  if (!options.stdinOpen) child.stdin!.end();
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, done, stderr: () => stderr, tmp };
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** Exit 128 + n, exactly one chatport line (RUN_INTERRUPTED), nothing left in the run's temporary folder. */
async function expectInterrupted(run: Started, signal: 'SIGINT' | 'SIGTERM', says: string): Promise<void> {
  const { code } = await run.done;
  expect(code, run.stderr()).toBe(signal === 'SIGTERM' ? 143 : 130);
  const lines = run
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('chatport:'));
  expect(lines, run.stderr()).toEqual([`chatport: RUN_INTERRUPTED: ${signal} received; ${says}`]);
  expect(await readdir(run.tmp)).toEqual([]);
}

async function readReport(file: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
}

describe('chatport migrate under SIGTERM and SIGINT', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} with a request in flight: exit ${signal === 'SIGTERM' ? 143 : 130}, lock released, report written; the next run finishes the job`, async () => {
      const input = path.join(dir, `parts-${signal}.jsonl`);
      await writeFile(input, dashlyParts(2, 20));
      const csv = path.join(dir, `c-${signal}.csv`);
      await writeFile(csv, 'source_id,target_id\n500,9001\n501,9002\n');
      const state = path.join(dir, `state-${signal}.jsonl`);
      const report = path.join(dir, `report-${signal}.json`);
      server = await DashlyTestServer.start({
        token: TOKEN,
        fault: ({ path: p, n }) => (p.endsWith('/reply') && n === 5 ? { kind: 'slow', afterMs: 30_000 } : null),
      });
      server.addConversation('9001');
      server.addConversation('9002');
      const args = [
        'migrate',
        '--from',
        'dashly',
        '--input',
        input,
        '--map-conversations',
        csv,
        '--state',
        state,
        '--api-url',
        server.url,
        '--rps',
        '1000',
        '--settle',
        '0.05',
        '--timeout',
        '60',
        '--concurrency',
        '1',
      ];
      const run = await start([...args, '--report', report], { env: { DASHLY_TOKEN: TOKEN } });
      await until('the slow request is in flight', () => server!.inFlight > 0 && server!.replies().length >= 6);
      run.child.kill(signal);
      await expectInterrupted(run, signal, 'requests in flight are checked on resume; run the same command again to continue');
      expect(existsSync(`${state}.lock`)).toBe(false);
      const json = await readReport(report);
      expect(json).toMatchObject({
        command: 'migrate',
        ok: false,
        error: { code: 'RUN_INTERRUPTED', exit_code: signal === 'SIGTERM' ? 143 : 130 },
        stopped: 'interrupted',
      });
      expect((json.messages as { pending: number }).pending).toBeGreaterThan(0);

      server.options.fault = undefined;
      const again = await start(args, { env: { DASHLY_TOKEN: TOKEN } });
      const { code } = await again.done;
      expect(code, again.stderr()).toBe(0);
      expect(server.parts('9001').length + server.parts('9002').length).toBe(40);
    }, 60_000);
  }

  it('SIGTERM while it reads a pipe that never ends: it stops, and releases the lock', async () => {
    const csv = path.join(dir, 'c-pipe.csv');
    await writeFile(csv, 'source_id,target_id\n500,9001\n');
    const state = path.join(dir, 'state-pipe.jsonl');
    const run = await start(['migrate', '--from', 'dashly', '--input', '-', '--map-conversations', csv, '--state', state, '--api-url', 'http://127.0.0.1:9'], {
      env: { DASHLY_TOKEN: TOKEN },
      stdinOpen: true,
    });
    run.child.stdin!.write(dashlyParts(1, 10));
    await until('the lock is taken', () => existsSync(`${state}.lock`));
    run.child.kill('SIGTERM');
    await expectInterrupted(run, 'SIGTERM', 'requests in flight are checked on resume; run the same command again to continue');
    expect(existsSync(`${state}.lock`)).toBe(false);
    run.child.stdin!.destroy();
  }, 30_000);
});

describe('chatport validate and export under signals', () => {
  it('validate, SIGINT while derived conversations are spilled to the temporary folder: removed, exit 130', async () => {
    const input = path.join(dir, 'many-conversations.jsonl');
    await writeFile(input, dashlyParts(40_000, 2));
    const report = path.join(dir, 'validate-report.json');
    const run = await start(['validate', '--from', 'dashly', '--input', input, '--report', report]);
    await until(
      'aggregates are spilled',
      async () => (await readdir(run.tmp, { recursive: true })).some((n) => String(n).includes('chatport-derive-')),
      30_000,
    );
    run.child.kill('SIGINT');
    await expectInterrupted(run, 'SIGINT', 'nothing was written');
    expect(await readReport(report)).toMatchObject({ command: 'validate', ok: false, error: { code: 'RUN_INTERRUPTED', exit_code: 130 } });
  }, 60_000);

  it('export from a pipe that never ends: SIGTERM stops it at once, no temporary output left, report written', async () => {
    const out = path.join(dir, 'pipe-out');
    const report = path.join(dir, 'pipe-report.json');
    const run = await start(['export', '--from', 'dashly', '--input', '-', '--out', out, '--quiet', '--report', report], { stdinOpen: true });
    run.child.stdin!.write(dashlyParts(3, 50));
    await until('the export has opened its temporary outputs', async () =>
      (existsSync(out) ? await readdir(out) : []).some((n) => n.startsWith('.chatport-tmp-')),
    );
    const stoppedAt = Date.now();
    run.child.kill('SIGTERM');
    await expectInterrupted(run, 'SIGTERM', `temporary files removed, earlier outputs in ${out} untouched`);
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
    expect(existsSync(out) ? await readdir(out) : []).toEqual([]);
    const json = await readReport(report);
    expect(json).toMatchObject({ command: 'export', ok: false, error: { code: 'RUN_INTERRUPTED', exit_code: 143 }, reconciled: null });
    run.child.stdin!.destroy();
  }, 30_000);
});

describe('a second signal', () => {
  it('ends the process at once, saying so, while the first one only asks the run to stop', async () => {
    const script = `
      const { listenForInterrupts } = await import(${JSON.stringify(path.join(ROOT, 'dist/cli/interrupts.js'))});
      const i = listenForInterrupts({ readsStdin: false, onForcedExit: (s) => process.stderr.write('forced by ' + s + '\\n') });
      i.signal.addEventListener('abort', () => process.stderr.write('asked to stop: ' + i.received() + '\\n'));
      setInterval(() => {}, 1000); // a cleanup that never ends
      process.stderr.write('ready\\n');`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await until('the listener is installed', () => stderr.includes('ready'));
    child.kill('SIGINT');
    await until('the run was asked to stop', () => stderr.includes('asked to stop: SIGINT'));
    await new Promise((r) => setTimeout(r, 300));
    expect(child.exitCode).toBeNull(); // still cleaning up
    child.kill('SIGTERM');
    expect(await done).toBe(130);
    expect(stderr).toContain('forced by SIGTERM');
  }, 30_000);
});
