// `export --threads N` (segments parsed, mapped, redacted and encoded in N worker threads) must change nothing but
// speed: the same output bytes in every format, the same rejects.jsonl, the same run report (counts, unknown enums,
// redactions) and the same one-line error for a bad record, as `--threads 1` (everything on the main thread).
// Runs the built CLI (npm test builds first).

import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/export-helpers.js';
import { runCli } from '../helpers/run-cli.js';
// @ts-expect-error plain ESM bench script without types
import { generateFile } from '../../bench/generate.mjs';

let dir: string;
beforeAll(async () => {
  dir = await tempDir('chatport-threads-');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every output file's bytes, and the report without its timing and memory fields. */
async function exportWith(
  threads: number,
  args: string[],
  name: string,
): Promise<{ code: number | null; stderr: string; files: Record<string, Buffer>; report: unknown }> {
  const out = path.join(dir, `${name}-t${threads}`);
  const reportFile = path.join(dir, `${name}-t${threads}.json`);
  const r = await runCli(['export', ...args, '--out', out, '--quiet', '--report', reportFile, '--threads', String(threads)]);
  const files: Record<string, Buffer> = {};
  let names: string[] = [];
  try {
    names = await readdir(out);
  } catch {
    // no output directory: a failed run
  }
  for (const f of names.sort()) files[f] = await readFile(path.join(out, f));
  let report: unknown = null;
  try {
    const json = JSON.parse(await readFile(reportFile, 'utf8')) as Record<string, unknown>;
    for (const k of ['seconds', 'mb_per_s', 'records_per_s', 'peak_rss_mb', 'out', 'started_at', 'ended_at']) delete json[k];
    if (typeof json.rejects_file === 'string') json.rejects_file = path.basename(json.rejects_file);
    if (json.ok === false) {
      // a failed run's report counts the bytes read so far, and workers read ahead of the failing record
      delete json.input_bytes;
      for (const input of json.inputs as Record<string, unknown>[]) delete input.bytes;
    }
    report = json;
  } catch {
    // no report: the run stopped before it could write one (bad options)
  }
  return { code: r.code, stderr: r.stderr, files, report };
}

async function expectSame(args: string[], name: string, threads = 2): Promise<Awaited<ReturnType<typeof exportWith>>> {
  const one = await exportWith(1, args, name);
  const two = await exportWith(threads, args, name);
  expect(two.code).toBe(one.code);
  expect(two.stderr).toBe(one.stderr);
  expect(Object.keys(two.files)).toEqual(Object.keys(one.files));
  for (const f of Object.keys(one.files)) expect(two.files[f]!.equals(one.files[f]!), `${name}: ${f} differs`).toBe(true);
  expect(two.report).toEqual(one.report);
  return one;
}

const SAMPLES: [string, string][] = [
  ['dashly', 'samples/dashly/parts.json'],
  ['expertflow', 'samples/expertflow/messages-by-refid.json'],
  ['expertflow', 'samples/expertflow/messages.json'],
  ['expertflow', 'samples/expertflow/messages.jsonl'],
  ['expertflow-cx', 'samples/expertflow-cx/cim-messages.json'],
  ['expertflow-cx', 'samples/expertflow-cx/cim-messages.jsonl'],
  ['oncehub', 'samples/oncehub/conversations-list.json'],
  ['oncehub', 'samples/oncehub/conversations-page.json'],
  ['oncehub', 'samples/oncehub/conversations.json'],
  ['oncehub', 'samples/oncehub/conversations.jsonl'],
  ['oncehub', 'samples/oncehub/webhook-events.jsonl'],
  ['samples/tutorial/hootdesk.yaml', 'samples/tutorial/hootdesk-export.json'],
];

describe('export with worker threads gives the same bytes as --threads 1', () => {
  for (const format of ['jsonl', 'csv', 'parquet']) {
    it(`vendor samples, ${format}`, async () => {
      for (const [from, input] of SAMPLES) {
        const r = await expectSame(['--from', from, '--input', path.join(ROOT, input), '--format', format], `${path.basename(input)}-${format}`);
        expect(r.code, `${input}: ${r.stderr}`).toBe(0);
      }
      // 24 runs of the CLI: slow on a busy 2-core machine
    }, 240_000);
  }

  it('the Dashly golden sample matches the reviewed files with --threads 2', async () => {
    const out = path.join(dir, 'golden');
    const r = await runCli([
      'export',
      '--from',
      'dashly',
      '--input',
      path.join(ROOT, 'samples/dashly/parts.json'),
      '--format',
      'jsonl',
      '--out',
      out,
      '--quiet',
      '--threads',
      '2',
    ]);
    expect(r.code, r.stderr).toBe(0);
    for (const f of ['messages.jsonl', 'conversations.jsonl']) {
      expect(await readFile(path.join(out, f), 'utf8')).toBe(await readFile(path.join(ROOT, 'test/golden/dashly', f), 'utf8'));
    }
  });

  it('30k generated Dashly parts with long numbers, removed parts and bad records, --on-error skip, every format', async () => {
    const clean = path.join(dir, 'gen.jsonl');
    const gen = (await generateFile({ vendor: 'dashly', shape: 'jsonl', records: 30000, seed: 7, out: clean })) as { removed: number };
    expect(gen.removed).toBeGreaterThan(0);
    const lines = (await readFile(clean, 'utf8')).split('\n').filter((l) => l !== '');
    expect(lines.some((l) => /\d{17,}/.test(l))).toBe(true);
    const removedLine = lines.find((l) => l.includes('GDPR-REMOVED-CONTENT'))!;
    const bad: Buffer[] = [];
    lines.forEach((line, i) => {
      bad.push(Buffer.from(line + '\n'));
      if (i % 2500 === 1000) bad.push(Buffer.from(line.slice(0, line.length >> 1) + '\n')); // broken JSON
      if (i % 2500 === 1500) bad.push(Buffer.from(line + '\n')); // duplicate id
      if (i % 5000 === 2000) bad.push(Buffer.concat([Buffer.from('{"id": "x'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')])); // invalid UTF-8
      if (i % 5000 === 3000) bad.push(Buffer.from('[1, 2, 3]\n')); // not a record
      if (i % 7000 === 4000) bad.push(Buffer.from(removedLine.slice(0, -3) + '\n')); // a broken removed part: its text must stay out of rejects
      if (i % 7000 === 5000) bad.push(Buffer.from(removedLine + '\n')); // a duplicate removed part
      if (i % 9000 === 6000) bad.push(Buffer.from(line.replace(/"created":\d+/, '"created":"yesterday"') + '\n'));
      if (i % 6000 === 5500) bad.push(Buffer.from(lines[i - 5000] + '\n')); // a duplicate of a record segments earlier
    });
    const input = path.join(dir, 'gen-bad.jsonl');
    await writeFile(input, Buffer.concat(bad));
    for (const [format, threads] of [
      ['jsonl', 2],
      ['csv', 3],
      ['parquet', 2],
    ] as const) {
      const r = await expectSame(['--from', 'dashly', '--input', input, '--format', format, '--on-error', 'skip'], `gen-${format}`, threads);
      expect(r.code, r.stderr).toBe(0);
      const report = r.report as { records_rejected: number; records_redacted: number };
      expect(report.records_rejected).toBeGreaterThan(30);
      expect(report.records_redacted).toBeGreaterThan(0);
      expect(r.files['rejects.jsonl']!.toString('utf8')).not.toContain('GDPR-REMOVED-CONTENT');
    }
    // and a bad record in fail mode: the same one line, position included
    const failed = await expectSame(['--from', 'dashly', '--input', input, '--format', 'parquet'], 'gen-fail');
    expect(failed.code).toBe(65);
    expect(failed.stderr).toMatch(/^chatport: READ_INVALID_JSON \S+gen-bad\.jsonl:\d+ \(record \d+, byte \d+\)/);
  }, 240_000);

  it('a bad record inside a JSON array: the same error line in fail and skip mode', async () => {
    // raw record texts (JSON.parse + stringify would round the 19-digit ids)
    const small = path.join(dir, 'small.jsonl');
    await generateFile({ vendor: 'dashly', shape: 'jsonl', records: 40, seed: 3, out: small });
    const parts = (await readFile(small, 'utf8')).split('\n').filter((l) => l !== '');
    const text = '[' + parts.slice(0, 10).join(',') + ',{"id": 1,,},' + parts.slice(10).join(',') + ']';
    const input = path.join(dir, 'broken-array.json');
    await writeFile(input, text);
    for (const onError of ['fail', 'skip']) {
      const r = await expectSame(['--from', 'dashly', '--input', input, '--on-error', onError], `broken-array-${onError}`);
      expect(r.code).toBe(65);
      expect(r.stderr).toMatch(/^chatport: READ_INVALID_JSON/);
    }
    const mapped = path.join(dir, 'bad-time.json');
    await writeFile(mapped, '[' + parts.map((p, i) => (i === 12 ? p.replace(/"created":\d+/, '"created":"soon"') : p)).join(',') + ']');
    const m = await expectSame(['--from', 'dashly', '--input', mapped], 'bad-time');
    expect(m.code).toBe(65);
    expect(m.stderr).toMatch(/record 12/);
  });

  it('rejects --threads that is not a whole number from 1 to 32', async () => {
    for (const n of ['0', '-1', '1.5', 'two', '33']) {
      const r = await runCli([
        'export',
        '--from',
        'dashly',
        '--input',
        path.join(ROOT, 'samples/dashly/parts.json'),
        '--out',
        path.join(dir, 'bad-threads'),
        '--threads',
        n,
      ]);
      expect(r.code).toBe(64);
      expect(r.stderr).toMatch(/CONFIG_BAD_OPTION/);
    }
    const help = await runCli(['export', '--help']);
    expect(help.stdout).toMatch(/--threads/);
  });
});

describe('LosslessNumber across the worker boundary', () => {
  it('partial aggregates keep LosslessNumbers exact through structured clone, and vendor look-alikes stay plain', async () => {
    const { LosslessNumber } = await import('../../src/json/lossless-number.js');
    const { tagLossless, untagLossless } = await import('../../src/pipeline/derive-conversations.js');
    const { deserialize, serialize } = await import('node:v8');
    const lookalike = { raw: '18446744073709551615', $chatportLossless: '1' };
    const partial = {
      ids: ['1', '2'],
      slots: [
        [new LosslessNumber('18446744073709551615'), { time: -Infinity, seq: 3, value: [1, new LosslessNumber('1.00000000000000000001'), lookalike] }, -0, 7],
        [null, [{ time: 1, seq: 2, add: true, value: 'vip' }], 0, 1],
      ],
    };
    tagLossless(partial);
    const copy = deserialize(serialize(partial)) as typeof partial;
    untagLossless(copy);
    const s0 = copy.slots[0]! as any[];
    expect(s0[0]).toBeInstanceOf(LosslessNumber);
    expect(s0[0].raw).toBe('18446744073709551615');
    expect(s0[1].time).toBe(-Infinity);
    expect(s0[1].value[1]).toBeInstanceOf(LosslessNumber);
    expect(s0[1].value[1].raw).toBe('1.00000000000000000001');
    expect(s0[1].value[2]).toEqual(lookalike);
    expect(s0[1].value[2]).not.toBeInstanceOf(LosslessNumber);
    expect(Object.is(s0[2], -0)).toBe(true);
    expect(copy.slots[1]).toEqual([null, [{ time: 1, seq: 2, add: true, value: 'vip' }], 0, 1]);
    expect(copy.ids).toEqual(['1', '2']);
  });
});
