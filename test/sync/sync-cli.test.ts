// `chatport sync` through the built CLI (dist/), as a user runs it: the token only from the environment and never in
// stderr, the report or any output file, even when the server echoes it back; one coded line for a missing token,
// a missing or undeclared --param and a bad --since; --help says what is not built yet.
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/export-helpers.js';
import { runCli } from '../helpers/run-cli.js';
import { DashlyApiServer } from './dashly-api-server.js';
import { tempDir } from './sync-helpers.js';

const TOKEN = 'cli-TOKEN-4f8a2b9c7d1e';
const servers: DashlyApiServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function allText(dir: string): Promise<string> {
  let text = '';
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) text += await readFile(path.join(entry.parentPath, entry.name), 'utf8');
  }
  return text;
}

describe('chatport sync (CLI)', () => {
  it('writes the tables and a report, and the token appears nowhere even when the server echoes it', async () => {
    const s = await new DashlyApiServer(TOKEN).start();
    servers.push(s);
    for (let i = 0; i < 6; i++) s.add(i * 13, `17000000${i}0.25`);
    // the first answer of two paths is an error that quotes the token in several forms; the retries succeed
    s.fault = ({ n, path: p }) =>
      n === 0 && (p.endsWith('/conversations') || p === `/conversations/${s.conversations[3]!.id}/parts`)
        ? {
            kind: 'status',
            status: 500,
            body: JSON.stringify({
              meta: { status: 500, error: `token ${TOKEN}`, error_message: `Token ${encodeURIComponent(TOKEN)} ${Buffer.from(TOKEN).toString('base64')}` },
            }),
          }
        : null;
    const dir = await tempDir();
    const out = path.join(dir, 'out');
    const report = path.join(dir, 'report.json');
    const r = await runCli(
      [
        'sync',
        '--from',
        'dashly',
        '--param',
        'app_id=4242',
        '--token-env',
        'MY_DASHLY_TOKEN',
        '--api-url',
        s.url,
        '--out',
        out,
        '--report',
        report,
        '--rps',
        '200',
      ],
      {
        env: { MY_DASHLY_TOKEN: TOKEN },
      },
    );
    expect(r.stderr).toMatch(
      /^Read 195 records .* All records accounted for\. API: 11 requests \(2 retries, 0 answered 429\), 9 pages; conversations\.last_update no stored cursor, read back to the start, cursor after 2023-11-14T22:14:10\.250Z\.\n$/,
    );
    expect(r.code).toBe(0);
    const json = JSON.parse(await readFile(report, 'utf8')) as Record<string, any>;
    expect(json).toMatchObject({
      command: 'sync',
      ok: true,
      vendor: 'dashly',
      records_read: 195,
      sync: { requests: 11, retries: 2, rate_limited: 0, pages: 9, parents: { parts: 6 } },
    });
    expect(json.sync.cursors).toEqual([{ stream: 'conversations', field: 'last_update', before: null, read_to: null, after: '2023-11-14T22:14:10.250Z' }]);
    expect((await readdir(out)).sort()).toEqual(['conversations.jsonl', 'messages.jsonl']);
    const everything = r.stdout + r.stderr + (await allText(dir));
    for (const form of [TOKEN, encodeURIComponent(TOKEN), Buffer.from(TOKEN).toString('base64'), TOKEN.slice(0, 10), TOKEN.slice(-10)])
      expect(everything).not.toContain(form);
  });

  it('a refused token: one line, exit 77, the token not in it', async () => {
    const s = await new DashlyApiServer('another-token-entirely').start();
    servers.push(s);
    const r = await runCli(
      ['sync', '--from', 'dashly', '--param', 'app_id=4242', '--token-env', 'T', '--api-url', s.url, '--out', path.join(await tempDir(), 'o')],
      { env: { T: TOKEN } },
    );
    expect(r.code).toBe(77);
    expect(r.stderr).toMatch(/^chatport: SYNC_AUTH[^\n]*HTTP 401: NotAuthenticated[^\n]*\n$/);
    expect(r.stderr).not.toContain(TOKEN);
    expect(s.requests).toHaveLength(1);
  });

  for (const [what, args, env, code, line] of [
    ['an unset token variable', ['--param', 'app_id=1'], {}, 77, /SYNC_AUTH: environment variable NO_SUCH_VAR_X \(named by --token-env\) is not set or empty/],
    ['a missing required parameter', [], { NO_SUCH_VAR_X: TOKEN }, 64, /CONFIG_BAD_OPTION: --param app_id=VALUE is required by the dashly mapping/],
    [
      'an undeclared parameter',
      ['--param', 'app_id=1', '--param', 'appid=2'],
      { NO_SUCH_VAR_X: TOKEN },
      64,
      /--param appid: the dashly mapping declares no such parameter \(declared: app_id\)/,
    ],
    ['a bad --since', ['--param', 'app_id=1', '--since', 'yesterday'], { NO_SUCH_VAR_X: TOKEN }, 64, /--since must be an ISO-8601 date or time with a zone/],
    [
      'a mapping without an api section',
      ['--param', 'app_id=1', '--from', 'intercom'],
      { NO_SUCH_VAR_X: TOKEN },
      64,
      /CONFIG_MAPPING_INVALID .*the intercom mapping has no api section/,
    ],
  ] as const) {
    it(`${what}: one line, exit ${code}, no request`, async () => {
      const from = (args as readonly string[]).includes('--from') ? [] : ['--from', 'dashly'];
      const r = await runCli(
        ['sync', ...from, ...args, '--token-env', 'NO_SUCH_VAR_X', '--api-url', 'http://127.0.0.1:9', '--out', path.join(await tempDir(), 'o')],
        { env: { NO_SUCH_VAR_X: '', ...env } },
      );
      expect(r.code).toBe(code);
      expect(r.stderr).toMatch(line);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    });
  }

  for (const [what, target, line] of [
    ['both --dataset and --out', ['--dataset', 'd', '--out', 'o'], /CONFIG_BAD_OPTION: give either --dataset \(merge, with stored cursors\) or --out/],
    ['neither --dataset nor --out', [], /CONFIG_BAD_OPTION: give either --dataset/],
    ['--full-refresh with --out', ['--out', 'o', '--full-refresh'], /CONFIG_BAD_OPTION: --full-refresh applies to --dataset/],
    ['--full-refresh with --on-error skip', ['--dataset', 'd', '--full-refresh', '--on-error', 'skip'], /--full-refresh removes what the run did not get/],
  ] as const) {
    it(`${what}: one line, exit 64, nothing made`, async () => {
      const dir = await tempDir();
      const r = await runCli(['sync', '--from', 'dashly', '--param', 'app_id=1', '--token-env', 'T', '--api-url', 'http://127.0.0.1:9', ...target], {
        env: { T: TOKEN },
        cwd: dir,
      });
      expect(r.code).toBe(64);
      expect(r.stderr).toMatch(line);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(await readdir(dir)).toEqual([]);
    });
  }

  it('SIGINT while requests hang: exit 130, one line, the report written, earlier outputs untouched, nothing left behind', async () => {
    const s = await new DashlyApiServer(TOKEN).start();
    servers.push(s);
    for (let i = 0; i < 4; i++) s.add(3, `170000000${i}`);
    s.fault = ({ path: p }) => (p.endsWith('/parts') ? { kind: 'hang' } : null);
    const dir = await tempDir();
    const out = path.join(dir, 'out');
    await mkdir(out);
    await writeFile(path.join(out, 'messages.jsonl'), 'earlier\n');
    const report = path.join(dir, 'r.json');
    const child = spawn(
      process.execPath,
      [
        path.join(ROOT, 'dist/cli/bin.js'),
        'sync',
        '--from',
        'dashly',
        '--param',
        'app_id=4242',
        '--token-env',
        'T',
        '--api-url',
        s.url,
        '--out',
        out,
        '--report',
        report,
      ],
      {
        env: { ...process.env, T: TOKEN },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    while (s.to(/\/parts$/).length === 0) await new Promise((r) => setTimeout(r, 20));
    const killedAt = performance.now();
    child.kill('SIGINT');
    expect(await done).toBe(130);
    // the hanging requests are cancelled, not waited out (--timeout is 60 s)
    expect(performance.now() - killedAt).toBeLessThan(5000);
    expect(stderr).toMatch(/^chatport: RUN_INTERRUPTED: SIGINT received; temporary files removed, earlier outputs in \S+ untouched[^\n]*\n$/);
    expect(JSON.parse(await readFile(report, 'utf8'))).toMatchObject({ command: 'sync', ok: false, error: { code: 'RUN_INTERRUPTED', exit_code: 130 } });
    expect(await readdir(out)).toEqual(['messages.jsonl']);
    expect(await readFile(path.join(out, 'messages.jsonl'), 'utf8')).toBe('earlier\n');
  });

  it('--help says what --dataset, --since and --full-refresh do', async () => {
    const r = await runCli(['sync', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('into a dataset, incrementally from the stored cursors');
    expect(r.stdout).toContain('Ignored when the dataset has a stored cursor');
    expect(r.stdout).toContain('remove from the dataset every row the API no longer returns');
  });
});
