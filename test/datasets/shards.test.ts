// Sharded runs (issue 13, docs/scale-out.md): N pods simulated as N processes of the built CLI, started together.
// Into one dataset (they take turns only to merge and commit) and into N --out directories, the union DuckDB reads
// has exactly the rows of the single-process run; every file a shard added holds only its own conversations; the
// manifest records each shard; a second night run with another N merges as a single process would. The shard of an
// id is checked against DuckDB's own sha256, the definition docs/scale-out.md gives.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { shardFrom, shardOfId } from '../../src/pipeline/shard-filter.js';
import { LeaseLock } from '../../src/fs/lease-lock.js';
import { ChatportError } from '../../src/errors.js';
import { duck, ROOT, tempDir } from '../helpers/export-helpers.js';
import { runCli, type CliResult } from '../helpers/run-cli.js';
import { partsJsonl, readTable, type Part } from './dataset-helpers.js';

const DAY = 86_400;
const START = Date.UTC(2023, 4, 1) / 1000;

function nights(): { n1: Part[]; n2: Part[] } {
  const n1: Part[] = [];
  const n2: Part[] = [];
  for (let i = 0; i < 600; i++) {
    n1.push({ id: String(10_000 + i), conversation: String(1 + (i % 90)), created: START + (i % 6) * DAY + i, body: `night one part ${i}` });
  }
  for (let i = 0; i < 300; i++) {
    n2.push({ id: String(20_000 + i), conversation: String(40 + (i % 80)), created: START + 5 * DAY + (i % 3) * DAY + i, body: `night two part ${i}` });
  }
  n2.push({ ...n1[77]!, removed: START + 9 * DAY });
  for (let i = 0; i < 600; i += 41) n2.push({ ...n1[i]!, body: `edited ${i}`, edited: START + 9 * DAY });
  return { n1, n2 };
}

async function messagesOf(glob: string): Promise<Record<string, unknown>[]> {
  return duck(`SELECT * FROM read_parquet('${glob}') ORDER BY conversation_id, message_id`);
}

function ok(r: CliResult): void {
  expect(r.stderr).not.toMatch(/error|Error/);
  expect(r.code, r.stderr).toBe(0);
}

describe('sharded runs', () => {
  let dir = '';
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('N processes into one dataset and into N outs give exactly the rows of one process; another N on night 2 merges the same', async () => {
    dir = await tempDir('chatport-shards-');
    const { n1, n2 } = nights();
    const in1 = path.join(dir, 'n1.jsonl');
    const in2 = path.join(dir, 'n2.jsonl');
    await writeFile(in1, partsJsonl(n1));
    await writeFile(in2, partsJsonl(n2));
    const base = ['export', '--from', 'dashly', '--format', 'parquet', '--threads', '1'];
    const single = path.join(dir, 'single');
    const shared = path.join(dir, 'shared');
    const N = 3;

    ok(await runCli([...base, '--input', in1, '--dataset', single, '--quiet']));
    ok(await runCli([...base, '--input', in1, '--out', path.join(dir, 'single-out'), '--quiet']));
    // pod 0 finds its index as a Kubernetes Indexed Job gives it, pod 1 as an AWS Batch array job, pod 2 by flag
    const podEnv = (i: number): NodeJS.ProcessEnv =>
      i === 0 ? { JOB_COMPLETION_INDEX: '0' } : i === 1 ? { AWS_BATCH_JOB_ARRAY_INDEX: '1', AWS_BATCH_JOB_ARRAY_SIZE: String(N) } : {};
    const podArgs = (i: number): string[] => (i === 0 ? ['--shards', String(N)] : i === 1 ? [] : ['--shard', `${i}/${N}`]);
    const pods = await Promise.all(
      Array.from({ length: N }, (_, i) => [
        runCli([...base, '--input', in1, '--dataset', shared, ...podArgs(i), '--report', path.join(dir, `report-${i}.json`)], { env: podEnv(i) }),
        runCli([...base, '--input', in1, '--out', path.join(dir, `out-${i}`), ...podArgs(i), '--quiet'], { env: podEnv(i) }),
      ]).flat(),
    );
    for (const r of pods) ok(r);

    // every shard took some conversations, and together all records once
    let taken = 0;
    for (let i = 0; i < N; i++) {
      const report = JSON.parse(await readFile(path.join(dir, `report-${i}.json`), 'utf8')) as Record<string, number | string>;
      expect(report.shard).toBe(`${i}/${N}`);
      expect(report.records_read).toBe(n1.length);
      const mine = (report.records_read as number) - (report.records_other_shards as number);
      expect(mine).toBeGreaterThan(0);
      taken += mine;
    }
    expect(taken).toBe(n1.length);

    const columns = '* EXCLUDE (dt), dt::VARCHAR AS dt';
    const conversationColumns = columns;
    const want1 = await readTable(single, 'messages', 'parquet', columns);
    expect(want1).toHaveLength(n1.length);
    expect(await readTable(shared, 'messages', 'parquet', columns)).toEqual(want1);
    expect(await readTable(shared, 'conversations', 'parquet', conversationColumns)).toEqual(
      await readTable(single, 'conversations', 'parquet', conversationColumns),
    );
    // N outs: the union of their files, every column
    expect(await messagesOf(path.join(dir, 'out-*/messages.parquet'))).toEqual(await messagesOf(path.join(dir, 'single-out/messages.parquet')));
    const union = await duck(`SELECT * FROM read_parquet('${path.join(dir, 'out-*/conversations.parquet')}') ORDER BY conversation_id`);
    expect(union).toEqual(await duck(`SELECT * FROM read_parquet('${path.join(dir, 'single-out/conversations.parquet')}') ORDER BY conversation_id`));

    // the manifest records each shard, and every file a shard added holds only its own conversations
    const show = JSON.parse((await runCli(['dataset', 'show', shared, '--json'])).stdout) as {
      manifests: { shard: string | null; added: { path: string }[] }[];
    };
    expect(show.manifests.map((m) => m.shard).sort()).toEqual(Array.from({ length: N }, (_, i) => `${i}/${N}`));
    for (const m of show.manifests) {
      const [index] = m.shard!.split('/').map(Number);
      for (const f of m.added.filter((a) => a.path.startsWith('messages/'))) {
        const ids = await duck(`SELECT DISTINCT conversation_id FROM read_parquet('${path.join(shared, '_chatport', 'current', f.path)}')`);
        for (const { conversation_id } of ids) expect(shardOfId(String(conversation_id), N), `${f.path} of shard ${m.shard}`).toBe(index);
      }
    }

    // night 2 with another number of shards: nothing to redo, merge by key holds whatever N wrote the earlier rows
    ok(await runCli([...base, '--input', in2, '--dataset', single, '--quiet']));
    const M = 2;
    for (const r of await Promise.all(
      Array.from({ length: M }, (_, i) => runCli([...base, '--input', in2, '--dataset', shared, '--shard', `${i}/${M}`, '--quiet'])),
    ))
      ok(r);
    const want2 = await readTable(single, 'messages', 'parquet', columns);
    expect(want2.length).toBeGreaterThan(want1.length);
    expect(await readTable(shared, 'messages', 'parquet', columns)).toEqual(want2);
    expect(await readTable(shared, 'conversations', 'parquet', conversationColumns)).toEqual(
      await readTable(single, 'conversations', 'parquet', conversationColumns),
    );
    // the part removed on night 2 is erased in the sharded dataset too
    const removed = await duck(`SELECT text, redacted FROM read_parquet('${shared}/messages/**/*.parquet') WHERE message_id = '10077'`);
    expect(removed).toEqual([{ text: null, redacted: true }]);
  }, 240_000);
});

describe('a shard waiting for the dataset lock', () => {
  it('waits while another run holds it, and stops on SIGTERM as interrupted, committing nothing', async () => {
    const dir = await tempDir('chatport-shard-wait-');
    const dataset = path.join(dir, 'warehouse');
    const lock = await LeaseLock.acquire(path.join(dataset, '_chatport', 'lock'), {
      what: 'the test',
      stage: 'write',
      heldError: () => new ChatportError('WRITE_OUTPUT_LOCKED', 'held', 'write'),
    });
    try {
      const child = spawn(
        process.execPath,
        [
          path.join(ROOT, 'dist/cli/bin.js'),
          'export',
          '--from',
          'dashly',
          '--input',
          path.join(ROOT, 'samples/dashly/parts.json'),
          '--dataset',
          dataset,
          '--shard',
          '0/1',
          '--quiet',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      // its rows are written in its run folder before it asks for the lock; then it waits
      const meta = path.join(dataset, '_chatport');
      const deadline = Date.now() + 60_000;
      const runDirs = async () => (await readdir(meta)).filter((n) => n.startsWith('.chatport-tmp-run-'));
      while (Date.now() < deadline && !(await runDirs().then((d) => d.some((n) => existsSync(path.join(meta, n, 'version', 'messages'))))))
        await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 3_000));
      expect(child.exitCode, stderr).toBeNull(); // still waiting, not failed
      const sent = Date.now();
      child.kill('SIGTERM');
      const code = await exited;
      expect(code).toBe(143);
      expect(Date.now() - sent).toBeLessThan(15_000);
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).toContain('RUN_INTERRUPTED');
      expect(existsSync(path.join(meta, 'current'))).toBe(false);
      expect(await runDirs()).toEqual([]);
    } finally {
      await lock.release();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('the Indexed Job of docs/scale-out.md', () => {
  it('runs as written, one process per completion index at once, and gives the dataset of a single run', async () => {
    const doc = await readFile(path.join(ROOT, 'docs/scale-out.md'), 'utf8');
    const job = parseYaml(/```yaml\n([\s\S]*?)```/.exec(doc)![1]!) as {
      kind: string;
      spec: { completionMode: string; completions: number; parallelism: number; template: { spec: { containers: { command: string[]; args: string[] }[] } } };
    };
    expect(job.kind).toBe('Job');
    expect(job.spec.completionMode).toBe('Indexed');
    const { command, args } = job.spec.template.spec.containers[0]!;
    expect(command).toEqual(['chatport']);
    expect(Number(args[args.indexOf('--shards') + 1])).toBe(job.spec.completions);
    expect(job.spec.parallelism).toBe(job.spec.completions);
    const volume = await tempDir('chatport-job-');
    try {
      const { n1 } = nights();
      await mkdir(path.join(volume, 'drop'));
      await writeFile(path.join(volume, 'drop', 'a.jsonl.gz'), gzipSync(partsJsonl(n1.slice(0, 300))));
      await writeFile(path.join(volume, 'drop', 'b.jsonl.gz'), gzipSync(partsJsonl(n1.slice(300))));
      const pods = await Promise.all(
        Array.from({ length: job.spec.completions }, (_, i) => runCli(args, { cwd: volume, env: { JOB_COMPLETION_INDEX: String(i) } })),
      );
      for (const r of pods) ok(r);
      const single = path.join(volume, 'single');
      ok(await runCli([...args.slice(0, args.indexOf('--dataset')), '--dataset', single, '--quiet'], { cwd: volume }));
      const columns = '* EXCLUDE (dt), dt::VARCHAR AS dt';
      const dataset = path.join(volume, args[args.indexOf('--dataset') + 1]!);
      expect(await readTable(dataset, 'messages', 'parquet', columns)).toEqual(await readTable(single, 'messages', 'parquet', columns));
      expect(await readTable(dataset, 'conversations', 'parquet', columns)).toEqual(await readTable(single, 'conversations', 'parquet', columns));
    } finally {
      await rm(volume, { recursive: true, force: true });
    }
  }, 240_000);
});

describe('the shard of a conversation', () => {
  it('is the first 4 bytes of the sha256 of the id text, big-endian, modulo N (checked with DuckDB)', async () => {
    const ids = ['1', '42', '18446744073709551615', '6401a3c2-8b1e-4b0e-9a57-2f5a1c7e9d10', 'ü-ñ', ''];
    for (const n of [1, 2, 3, 7, 64]) {
      const rows = await duck(
        `SELECT id, (('0x' || substr(sha256(id), 1, 8))::UBIGINT % ${n})::INTEGER AS shard FROM (VALUES ${ids.map((i) => `('${i}')`).join(', ')}) t(id) ORDER BY id`,
      );
      for (const r of rows) expect(shardOfId(String(r.id), n), `${String(r.id)} of ${n}`).toBe(r.shard);
    }
  });

  it('spreads ids over the shards', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[shardOfId(String(100_000 + i), 4)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(850);
  });
});

describe('--shard, --shards and the environment', () => {
  const refused = (o: { shard?: string; shards?: number }, env: NodeJS.ProcessEnv, msg: RegExp) => {
    let error: unknown;
    try {
      shardFrom(o, env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ChatportError);
    expect((error as ChatportError).code).toBe('CONFIG_BAD_OPTION');
    expect((error as ChatportError).message).toMatch(msg);
    expect((error as ChatportError).message).not.toContain('\n');
  };

  it('takes I/N, then JOB_COMPLETION_INDEX or the AWS Batch index with --shards, then both AWS variables', () => {
    expect(shardFrom({}, {})).toBeNull();
    expect(shardFrom({ shard: '2/5' }, { JOB_COMPLETION_INDEX: '1' })).toEqual({ index: 2, count: 5 });
    expect(shardFrom({ shards: 4 }, { JOB_COMPLETION_INDEX: '3' })).toEqual({ index: 3, count: 4 });
    expect(shardFrom({ shards: 4 }, { AWS_BATCH_JOB_ARRAY_INDEX: '1' })).toEqual({ index: 1, count: 4 });
    expect(shardFrom({}, { AWS_BATCH_JOB_ARRAY_INDEX: '0', AWS_BATCH_JOB_ARRAY_SIZE: '2' })).toEqual({ index: 0, count: 2 });
    // a Kubernetes index alone says nothing of N: not sharded
    expect(shardFrom({}, { JOB_COMPLETION_INDEX: '3' })).toBeNull();
  });

  it('refuses bad values with one line', () => {
    refused({ shard: '3/3' }, {}, /index must be 0 to 2 \(got 3\)/);
    refused({ shard: '0/0' }, {}, /number of shards must be 1 to/);
    refused({ shard: '1' }, {}, /--shard takes I\/N/);
    refused({ shard: '-1/2' }, {}, /--shard takes I\/N/);
    refused({ shard: '0/2', shards: 2 }, {}, /not both/);
    refused({ shards: 4 }, {}, /neither is set/);
    refused({ shards: 4 }, { JOB_COMPLETION_INDEX: '4' }, /index must be 0 to 3 \(got 4\)/);
    refused({ shards: 4 }, { JOB_COMPLETION_INDEX: 'x' }, /JOB_COMPLETION_INDEX must be a whole number/);
    refused({ shards: 4 }, { AWS_BATCH_JOB_ARRAY_INDEX: '1', AWS_BATCH_JOB_ARRAY_SIZE: '3' }, /must agree/);
    refused({}, { AWS_BATCH_JOB_ARRAY_INDEX: '1' }, /AWS_BATCH_JOB_ARRAY_SIZE is not set/);
    refused({}, { AWS_BATCH_JOB_ARRAY_SIZE: '4' }, /AWS_BATCH_JOB_ARRAY_INDEX is not set/);
  });

  it('the CLI stops before any work with one line and exit 64', async () => {
    const dir = await tempDir('chatport-shard-cli-');
    try {
      const r = await runCli(['export', '--from', 'dashly', '--input', 'samples/dashly/parts.json', '--out', path.join(dir, 'o'), '--shard', '4/4']);
      expect(r.code).toBe(64);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('the shard index must be 0 to 3 (got 4)');
      const half = await runCli(['export', '--from', 'dashly', '--input', 'samples/dashly/parts.json', '--out', path.join(dir, 'o')], {
        env: { AWS_BATCH_JOB_ARRAY_INDEX: '2' },
      });
      expect(half.code).toBe(64);
      expect(half.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
