// Two chatport exports into one --out at the same time (issue 10 item 15): the lock lets one write at a time, so
// the directory ends up holding exactly one run's complete set of files, never a mix of both. The other run is
// refused with WRITE_OUTPUT_LOCKED (exit 75), or runs after the first when the first was already done.

import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT } from '../helpers/export-helpers.js';
import { runCli } from '../helpers/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'chatport-concurrent-'));
const big = ['a', 'b'].map((n) => join(dir, `${n}.jsonl`));
const long = join(dir, 'long.jsonl');
const small = join(dir, 'small.jsonl');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  for (const [k, input] of [...big, long].entries()) {
    const out = createWriteStream(input);
    for (let i = 0; i < (input === long ? 150_000 : 20_000); i++) {
      const line = `{"id":${i + 1},"created":${1684923942 + i},"conversation":${i % (1000 + k * 500)},"type":"reply_user","body":"run ${k} message ${i}","from":${i % 77}}\n`;
      if (!out.write(line)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
  }
  // a quick run with a rejected record: its rejects.jsonl would be left beside the other run's tables
  writeFileSync(
    small,
    '{"id":1,"created":1684923942,"conversation":1,"type":"reply_user","body":"small run","from":1}\n{"id":2,"created":"bad","conversation":1,"type":"reply_user","body":"rejected","from":1}\n',
  );
}, 60_000);

/** Every file in `out`, as base64 (a run that finished leaves neither its lock nor temporary data). */
function files(out: string): Record<string, string> {
  const all: Record<string, string> = {};
  for (const name of readdirSync(out).sort()) all[name] = readFileSync(join(out, name)).toString('base64');
  return all;
}

/** A 2 s lease: the quick run sees the long one's heartbeat move within ~0.4 s. */
const env = { CHATPORT_LOCK_LEASE_MS: '2000' };
const args = (input: string, out: string, extra: string[] = []) => [
  'export',
  '--from',
  'dashly',
  '--input',
  input,
  '--format',
  'parquet',
  '--out',
  out,
  '--quiet',
  '--threads',
  '1',
  ...extra,
];

async function alone(input: string, name: string): Promise<Record<string, string>> {
  const out = join(dir, name);
  const r = await runCli(args(input, out), { env });
  expect(r.code, r.stderr).toBe(0);
  return files(out);
}

it("a quick run started while a long one writes is refused; the long one's set is complete and alone", async () => {
  const reference = await alone(long, 'alone-long');
  const out = join(dir, 'shared-long');
  const longRun = spawn(process.execPath, [join(ROOT, 'dist/cli/bin.js'), ...args(long, out)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let longErr = '';
  longRun.stderr.on('data', (d) => (longErr += d));
  const longDone = once(longRun, 'exit');
  // the long run is writing once its temporary folder exists
  while (!(existsSync(out) ? readdirSync(out) : []).some((n) => n.startsWith('.chatport-tmp-'))) await new Promise((r) => setTimeout(r, 20));
  const quick = await runCli(args(small, out, ['--on-error', 'skip']), { env });
  const [code] = await longDone;
  expect(code, longErr).toBe(0);
  expect(quick.code, quick.stderr).toBe(75);
  expect(quick.stderr).toMatch(/^chatport: WRITE_OUTPUT_LOCKED .*another chatport run/);
  expect(files(out)).toEqual(reference);
}, 120_000);

it('two runs started at once: one complete set, never a mix', async () => {
  const references = [await alone(big[0]!, 'alone-0'), await alone(big[1]!, 'alone-1')];
  expect(references[0]).not.toEqual(references[1]);
  const out = join(dir, 'shared');
  const results = await Promise.all(big.map((input) => runCli(args(input, out), { env })));
  for (const r of results) {
    if (r.code !== 0) {
      expect(r.code).toBe(75);
      expect(r.stderr).toMatch(/^chatport: WRITE_OUTPUT_LOCKED .*another chatport run/);
    }
  }
  expect(results.some((r) => r.code === 0)).toBe(true);
  expect(references).toContainEqual(files(out));
}, 120_000);
