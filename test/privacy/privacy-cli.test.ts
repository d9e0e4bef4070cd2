// The privacy options from the command line (dist/): a missing, empty or short key is one CONFIG_PSEUDONYM_KEY
// line naming the variable; the key never reaches stdout, stderr, --report or any output, also when a record fails;
// pseudonyms are the same across formats and runs and are the HMAC the docs describe; --help lists the options.

import { createHmac } from 'node:crypto';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/export-helpers.js';
import { runCli } from '../helpers/run-cli.js';

const KEY = 'cli-key-do-not-print-7f3a9c2e51b8';
const PART = (id: number, from: unknown, body: string, created: unknown = 1684923942 + id) => ({
  id,
  created,
  conversation: 7001,
  type: 'reply_user',
  body,
  sent_via: 'web_user',
  removed: null,
  from,
});

let dir: string;
let input: string;
beforeAll(async () => {
  dir = await tempDir();
  input = path.join(dir, 'parts.json');
  await writeFile(
    input,
    JSON.stringify([
      PART(1, 'cust-4711', 'my mail is jo@example.com and card 4111 1111 1111 1111'),
      PART(2, { id: 'agent-7', name: 'Alice Agent', type: 'admin' }, 'we call you at +44 7400 123456'),
      // fails to map: its text would go to rejects.jsonl
      PART(3, 'cust-4711', 'late: jo@example.com', 'yesterday'),
    ]),
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const pseudonym = (v: string) => createHmac('sha256', KEY).update(v, 'utf8').digest().subarray(0, 16).toString('base64url');

async function filesOf(out: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of await readdir(out)) files[name] = await readFile(path.join(out, name), 'utf8');
  return files;
}

describe('--pseudonymize and --mask-pii on the command line', () => {
  it('the key never reaches stdout, stderr, the report or any output; values are pseudonymized and masked', async () => {
    const out = path.join(dir, 'out-jsonl');
    const report = path.join(dir, 'report.json');
    const r = await runCli(
      [
        'export',
        '--from',
        'dashly',
        '--input',
        input,
        '--out',
        out,
        '--on-error',
        'skip',
        '--report',
        report,
        '--pseudonym-key-env',
        'PSEUDO_KEY',
        '--mask-pii',
        'email,phone,card',
        '--threads',
        '1',
      ],
      { env: { PSEUDO_KEY: KEY } },
    );
    expect(r.stderr).not.toMatch(/Error:|at .*\.js:\d+/);
    expect(r.code).toBe(0);
    const files = await filesOf(out);
    const all = r.stdout + r.stderr + (await readFile(report, 'utf8')) + Object.values(files).join('\n');
    expect(all).not.toContain(KEY);
    for (const raw of ['cust-4711', 'agent-7', 'Alice Agent', 'jo@example.com', '4111 1111 1111 1111', '+44 7400 123456']) expect(all).not.toContain(raw);
    // positive control: the pseudonyms (the HMAC of docs/privacy.md) and placeholders are there, the record failed
    expect(files['messages.jsonl']).toContain(`"author_id":"${pseudonym('cust-4711')}"`);
    expect(files['messages.jsonl']).toContain(`"author_name":"${pseudonym('Alice Agent')}"`);
    expect(files['conversations.jsonl']).toContain(`"customer_id":"${pseudonym('cust-4711')}"`);
    expect(files['messages.jsonl']).toContain('my mail is [email] and card [card]');
    expect(files['messages.jsonl']).toContain('we call you at [phone]');
    const reject = JSON.parse(files['rejects.jsonl']!.trim()) as { raw: unknown; raw_withheld: string };
    expect(reject.raw).toBeNull();
    expect(reject.raw_withheld).toMatch(/pseudonymizing, masking or forgetting is on/);
  });

  it('without the options the same search finds every value (the control)', async () => {
    const out = path.join(dir, 'out-plain');
    const r = await runCli(['export', '--from', 'dashly', '--input', input, '--out', out, '--on-error', 'skip', '--threads', '1', '-q'], {
      env: { PSEUDO_KEY: KEY },
    });
    expect(r.code).toBe(0);
    const all = Object.values(await filesOf(out)).join('\n');
    for (const raw of ['cust-4711', 'agent-7', 'Alice Agent', 'jo@example.com', '4111 1111 1111 1111', '+44 7400 123456']) expect(all).toContain(raw);
  });

  it('the same pseudonym in CSV as in JSONL, with the default columns', async () => {
    const out = path.join(dir, 'out-csv');
    const r = await runCli(
      ['export', '--from', 'dashly', '--input', input, '--out', out, '--format', 'csv', '--on-error', 'skip', '--pseudonym-key-env', 'PSEUDO_KEY', '-q'],
      { env: { PSEUDO_KEY: KEY } },
    );
    expect(r.code).toBe(0);
    const csv = await readFile(path.join(out, 'messages.csv'), 'utf8');
    expect(csv).toContain(pseudonym('cust-4711'));
    expect(csv).not.toContain('cust-4711');
  });

  it.each([
    [['--pseudonym-key-env', 'PSEUDO_KEY'], {}, 'environment variable PSEUDO_KEY (named by --pseudonym-key-env) is not set or empty'],
    [['--pseudonym-key-env', 'PSEUDO_KEY'], { PSEUDO_KEY: '' }, 'environment variable PSEUDO_KEY (named by --pseudonym-key-env) is not set or empty'],
    [['--pseudonym-key-env', 'PSEUDO_KEY'], { PSEUDO_KEY: 'short-secret' }, 'the key in PSEUDO_KEY (named by --pseudonym-key-env) is shorter than 16 bytes'],
    [['--pseudonymize', 'author_id'], { PSEUDO_KEY: KEY }, '--pseudonymize needs --pseudonym-key-env NAME'],
  ])('%j with %j: one CONFIG_PSEUDONYM_KEY line, exit 64, nothing written', async (args, env, message) => {
    const out = path.join(dir, `out-bad-${Math.random().toString(36).slice(2)}`);
    const r = await runCli(['export', '--from', 'dashly', '--input', input, '--out', out, ...args], { env: { PSEUDO_KEY: undefined, ...env } });
    expect(r.code).toBe(64);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`CONFIG_PSEUDONYM_KEY`);
    expect(lines[0]).toContain(message);
    expect(r.stderr).not.toContain('short-secret');
    await expect(readdir(out)).rejects.toThrow();
  });

  it.each([
    [['--pseudonym-key-env', 'PSEUDO_KEY', '--pseudonymize', 'text'], '--pseudonymize: "text" is not a column that can be pseudonymized'],
    [['--mask-pii', 'email,ssn'], '--mask-pii: "ssn" is not a kind of PII chatport masks'],
    [['--mask-pii', 'email', '--phone-regions', 'DE'], '--phone-regions applies to --mask-pii phone only'],
    [['--mask-pii', 'phone', '--phone-regions', 'XX'], '--phone-regions: "XX" is not a region code'],
  ])('%j: CONFIG_BAD_OPTION', async (args, message) => {
    const r = await runCli(['export', '--from', 'dashly', '--input', input, '--out', path.join(dir, 'never'), ...args], { env: { PSEUDO_KEY: KEY } });
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('CONFIG_BAD_OPTION');
    expect(r.stderr).toContain(message);
  });

  it('validate takes the same options and fails the same way without the key', async () => {
    const r = await runCli(['validate', '--from', 'dashly', '--input', input, '--pseudonym-key-env', 'PSEUDO_KEY'], { env: { PSEUDO_KEY: undefined } });
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('CONFIG_PSEUDONYM_KEY');
  });

  it('--help lists the options', async () => {
    for (const command of ['export', 'validate']) {
      const r = await runCli([command, '--help']);
      for (const option of ['--pseudonymize', '--pseudonym-key-env', '--mask-pii', '--phone-regions']) expect(r.stdout).toContain(option);
    }
  });
});
