// `chatport forget` and `--forget FILE` from the command line (dist/), on the Dashly sample: the forgotten customer's
// id and their conversation's text reach no byte of the dataset (Parquet decoded), stdout, stderr or --report, also
// after the next export into it brings the same records again; a pseudonymized dataset is found only with its key;
// export --out and validate take --forget; the command lines of README's Privacy section and of `forget --help` run
// as shown. Positive control: the same search finds every one of those texts before.

import { mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORGET_EXAMPLES } from '../../src/cli/forget-command.js';
import { filesContaining } from '../datasets/dataset-helpers.js';
import { ROOT, tempDir } from '../helpers/export-helpers.js';
import { runCli } from '../helpers/run-cli.js';

const exec = promisify(execFile);
const SAMPLE = path.join(ROOT, 'samples/dashly/parts.json');
const CUSTOMER = '1447294708215711734';
const THEIR_CONVERSATION = '1447294760057308402';
const KEY = 'forget-cli-key-0123456789abcdef';

let dir: string;
/** Texts of the forgotten customer's conversation that no other conversation has (long enough to be unique). */
let theirs: string[];
/** Texts of the other conversations. */
let others: string[];

beforeAll(async () => {
  dir = await tempDir();
  const out = path.join(dir, 'control');
  const r = await runCli(['export', '--from', 'dashly', '--input', SAMPLE, '--out', out, '--quiet']);
  expect(r.code, r.stderr).toBe(0);
  const rows = (await readFile(path.join(out, 'messages.jsonl'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { conversation_id: string; text: string | null });
  // texts that every format writes as they are (JSON and CSV escape line breaks, quotes and backslashes)
  const plain = (t: string | null): t is string => t !== null && t.length >= 8 && !/[\r\n"\\]/.test(t);
  const mine = rows.filter((m) => m.conversation_id === THEIR_CONVERSATION && plain(m.text)).map((m) => m.text!);
  others = rows.filter((m) => m.conversation_id !== THEIR_CONVERSATION && plain(m.text)).map((m) => m.text!);
  theirs = mine.filter((t) => !others.some((o) => o.includes(t)));
  expect(theirs.length).toBeGreaterThanOrEqual(3);
  expect(others.length).toBeGreaterThanOrEqual(1);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function expectGone(where: string, what: readonly string[]): Promise<void> {
  for (const t of what) expect(await filesContaining(where, t), t).toEqual([]);
}

async function expectThere(where: string, what: readonly string[]): Promise<void> {
  for (const t of what) expect(await filesContaining(where, t), t).not.toEqual([]);
}

describe('chatport forget', () => {
  it('erases the customer from every byte of the dataset, says nothing of them, and the next export does not bring them back', async () => {
    const ds = path.join(dir, 'ds-parquet');
    const report = path.join(dir, 'forget-report.json');
    const built = await runCli(['export', '--from', 'dashly', '--input', SAMPLE, '--dataset', ds, '--format', 'parquet', '--quiet']);
    expect(built.code, built.stderr).toBe(0);
    await expectThere(ds, [...theirs, CUSTOMER]);

    const r = await runCli(['forget', '--dataset', ds, '--customer', CUSTOMER, '--json', '--report', report]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { rows: number; tables: Record<string, number>; ids: string[]; files: unknown[]; conversations: number };
    expect(result).toMatchObject({ conversations: 1, tables: { conversations: 1 } });
    expect(result.tables.messages).toBeGreaterThanOrEqual(theirs.length);
    expect(result.ids).toHaveLength(1);
    expect(result.ids[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(r.stderr).toMatch(/^forgot 1 person in .*: \d+ rows cleared in 2 files \(1 conversation found theirs\), version 2\n/);
    const said = r.stdout + r.stderr + (await readFile(report, 'utf8'));
    for (const t of [CUSTOMER, ...theirs]) expect(said).not.toContain(t);
    await expectGone(ds, [CUSTOMER, ...theirs]);
    await expectThere(ds, others);

    // the next night brings the same records again, without --forget: the dataset remembers
    const again = await runCli(['export', '--from', 'dashly', '--input', SAMPLE, '--dataset', ds, '--format', 'parquet']);
    expect(again.code, again.stderr).toBe(0);
    for (const t of [CUSTOMER, ...theirs]) expect(again.stderr).not.toContain(t);
    await expectGone(ds, [CUSTOMER, ...theirs]);
    await expectThere(ds, others);
  }, 120_000);

  it('--drop drops the rows instead; forgetting again changes nothing', async () => {
    const ds = path.join(dir, 'ds-drop');
    expect((await runCli(['export', '--from', 'dashly', '--input', SAMPLE, '--dataset', ds, '--format', 'csv', '--quiet'])).code).toBe(0);
    const r = await runCli(['forget', '--dataset', ds, '--customer', CUSTOMER, '--drop', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ mode: 'drop', conversations: 1 });
    await expectGone(ds, [CUSTOMER, ...theirs]);
    const csv = (await readdir(path.join(ds, 'messages'), { recursive: true })).filter((f) => f.endsWith('.csv'));
    let text = '';
    for (const f of csv) text += await readFile(path.join(ds, 'messages', f), 'utf8');
    expect(text).not.toContain(THEIR_CONVERSATION);
    const second = await runCli(['forget', '--dataset', ds, '--customer', CUSTOMER, '--json']);
    expect(JSON.parse(second.stdout)).toMatchObject({ rows: 0, files: [] });
  }, 120_000);

  it('finds the customer in a pseudonymized dataset only with its key', async () => {
    const ds = path.join(dir, 'ds-pseudonymized');
    const env = { FORGET_KEY: KEY };
    const built = await runCli(['export', '--from', 'dashly', '--input', SAMPLE, '--dataset', ds, '--pseudonym-key-env', 'FORGET_KEY', '--quiet'], { env });
    expect(built.code, built.stderr).toBe(0);
    const without = await runCli(['forget', '--dataset', ds, '--customer', CUSTOMER, '--json']);
    expect(without.code, without.stderr).toBe(0);
    expect(JSON.parse(without.stdout)).toMatchObject({ rows: 0 });
    await expectThere(ds, theirs);
    const r = await runCli(['forget', '--dataset', ds, '--customer', CUSTOMER, '--pseudonym-key-env', 'FORGET_KEY', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ conversations: 1 });
    expect(r.stdout + r.stderr).not.toContain(KEY);
    await expectGone(ds, [KEY, ...theirs]);
    await expectThere(ds, others);
  }, 120_000);

  it('fails with one line without a person, or on a directory that holds no dataset', async () => {
    const none = await runCli(['forget', '--dataset', path.join(dir, 'ds-none')]);
    expect(none.code).toBe(64);
    expect(none.stderr).toMatch(/^chatport: CONFIG_BAD_OPTION: forget needs at least one person/);
    const empty = await runCli(['forget', '--dataset', path.join(dir, 'ds-empty'), '--customer', CUSTOMER]);
    expect(empty.code).not.toBe(0);
    expect(empty.stderr.trim().split('\n')).toHaveLength(1);
    expect(empty.stderr).toContain('holds no dataset yet');
    expect(empty.stderr).not.toContain(CUSTOMER);
  }, 60_000);
});

describe('--forget FILE', () => {
  it('export --out and validate forget the listed people as they run', async () => {
    const list = path.join(dir, 'forget.txt');
    await writeFile(list, `# erasure requests\n${CUSTOMER}\n\nemail:nobody@example.com\n`);
    const out = path.join(dir, 'out-forget');
    const r = await runCli(['export', '--from', 'dashly', '--input', SAMPLE, '--out', out, '--forget', list]);
    expect(r.code, r.stderr).toBe(0);
    await expectGone(out, [CUSTOMER, ...theirs]);
    await expectThere(out, others);
    const v = await runCli(['validate', '--from', 'dashly', '--input', SAMPLE, '--forget', list]);
    expect(v.code, v.stderr).toBe(0);
    for (const t of [CUSTOMER, ...theirs]) expect(v.stdout + v.stderr).not.toContain(t);
  }, 120_000);

  it('export --dataset --forget remembers the people for the runs after it', async () => {
    const list = path.join(dir, 'forget-ds.txt');
    await writeFile(list, `${CUSTOMER}\n`);
    const ds = path.join(dir, 'ds-forget-option');
    expect((await runCli(['export', '--from', 'dashly', '--input', SAMPLE, '--dataset', ds, '--forget', list, '--quiet'])).code).toBe(0);
    await expectGone(ds, [CUSTOMER, ...theirs]);
    expect((await runCli(['export', '--from', 'dashly', '--input', SAMPLE, '--dataset', ds, '--quiet'])).code).toBe(0);
    await expectGone(ds, [CUSTOMER, ...theirs]);
    await expectThere(ds, others);
  }, 120_000);
});

describe('the forget command lines of README and of forget --help run as shown', () => {
  it('each one exits 0 on a dataset built from the Dashly sample', async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    const lines: string[] = [];
    for (const block of readme.matchAll(/^ *```sh\n([\s\S]*?)^ *```/gm))
      for (const line of block[1]!.replace(/\\\n\s*/g, '').split('\n'))
        if (/\bchatport forget\b/.test(line) && !line.trim().startsWith('#')) lines.push(line.trim());
    expect(lines.length).toBeGreaterThanOrEqual(1);
    const help = await runCli(['forget', '--help']);
    expect(help.code).toBe(0);
    for (const [example] of FORGET_EXAMPLES) {
      expect(help.stdout).toContain(example.replace('$0', 'chatport'));
      lines.push(example.replace('$0', 'chatport'));
    }
    const bin = path.join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    await writeFile(path.join(bin, 'chatport'), `#!/bin/sh\nexec "${process.execPath}" "${path.join(ROOT, 'dist/cli/bin.js')}" "$@"\n`, { mode: 0o755 });
    for (const line of lines) {
      const cwd = await tempDir();
      try {
        await symlink(path.join(ROOT, 'samples'), path.join(cwd, 'samples'));
        await writeFile(path.join(cwd, 'erasure-requests.txt'), `${CUSTOMER}\n`);
        await writeFile(path.join(cwd, 'emails.txt'), 'nobody@example.com\n');
        const built = await runCli(['export', '--from', 'dashly', '--input', SAMPLE, '--dataset', 'warehouse', '--format', 'parquet', '--quiet'], { cwd });
        expect(built.code, built.stderr).toBe(0);
        const shell = line.replace(/\bnpx chatport\b/g, 'chatport').replace(/\b([A-Z_]+)=\.\.\.(?=\s)/g, `$1=${KEY}`);
        const r = await exec('bash', ['-c', shell], { cwd, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
        expect(r.stderr, line).toMatch(/forgot \d+ (person|people) in warehouse/);
      } finally {
        await rm(cwd, { recursive: true, force: true });
      }
    }
  }, 240_000);
});
