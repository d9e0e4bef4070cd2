// Every chatport command line shown in README.md and in the examples of `chatport --help` and each command's
// --help runs, verbatim, through the built CLI in a shell, and does what it promises (issue 10, item 19: the
// README's stdin example failed with "Unknown argument: -"). The lines are read from the README and from the
// help output at test time, so a command added to either later is run too.
//
// Only what cannot run here is substituted: `npx chatport` runs the built dist/cli/bin.js through a `chatport`
// on PATH (what npx runs in a checkout), a `NAME=...` token placeholder gets a test token, and migrate gets
// `--api-url` of a local Dashly test server. Every file a command reads is made under the name it uses, from
// the shipped sample of its --from vendor (in the format its extension says: .json, .jsonl, .gz), a mapping
// file from the tutorial's, and id maps from the sample's conversation ids.

import { execFile } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMapping } from '../../src/mapping/load-mapping.js';
import { canonicalRows } from '../../src/pipeline/canonical-rows.js';
import { expandInputs } from '../../src/readers/input-sources.js';
import { readRawBatches } from '../../src/readers/record-stream.js';
import { ROOT } from '../helpers/export-helpers.js';
import { runCli } from '../helpers/run-cli.js';
import { DashlyTestServer } from '../migrate/dashly-test-server.js';
import { DashlyApiServer } from '../sync/dashly-api-server.js';
import { OnceHubApiServer } from '../sync/oncehub-api-server.js';

const exec = promisify(execFile);
const TOKEN = 'test-token-7f3a9c1e';

const VENDOR_SAMPLES: Record<string, string> = {
  dashly: 'samples/dashly/parts.json',
  expertflow: 'samples/expertflow/messages.json',
  'expertflow-cx': 'samples/expertflow-cx/cim-messages.json',
  oncehub: 'samples/oncehub/conversations.json',
};
/** A mapping file a command names but that does not exist: the tutorial's, with the tutorial's export. */
const OWN_MAPPING = { mapping: 'samples/tutorial/hootdesk.yaml', sample: 'samples/tutorial/hootdesk-export.json' };

/** Command lines in the README's ```sh blocks (continuations joined) that run chatport. */
function readmeCommands(): string[] {
  const text = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const out: string[] = [];
  for (const block of text.matchAll(/^```sh\n([\s\S]*?)^```/gm)) {
    const joined = block[1]!.replace(/\\\n\s*/g, '');
    for (const line of joined.split('\n'))
      if (!line.trim().startsWith('#') && /\bchatport\s+(export|validate|migrate|sync)\b/.test(line)) out.push(line.trim());
  }
  return out;
}

/** The example command lines of `chatport [command] --help` (help is not wrapped when piped: one line each). */
async function helpExamples(): Promise<string[]> {
  const out: string[] = [];
  for (const args of [[], ['export'], ['validate'], ['migrate'], ['migrate', 'plan'], ['dataset'], ['sync']]) {
    const r = await runCli([...args, '--help']);
    expect(r.code, r.stderr).toBe(0);
    const section = r.stdout.split(/^Examples:\n/m)[1];
    expect(section, `chatport ${args.join(' ')} --help has examples`).toBeDefined();
    for (const line of section!.split('\n')) {
      if (!line.trim()) break;
      out.push(line.trim().split(/\s{2,}/)[0]!);
    }
  }
  return out;
}

/** Shell words of one command line (quotes removed), enough to find what it reads; the shell runs the line itself. */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

function optionValues(ws: string[], name: string): string[] {
  const i = ws.indexOf(name);
  if (i < 0) return [];
  const values: string[] = [];
  for (let j = i + 1; j < ws.length && !ws[j]!.startsWith('--') && ws[j] !== '|'; j++) values.push(ws[j]!);
  return values.length > 1 && name !== '--input' ? values.slice(0, 1) : values;
}

interface Plan {
  readonly line: string;
  readonly command: 'export' | 'validate' | 'migrate' | 'migrate plan' | 'dataset' | 'sync' | 'forget';
  readonly ws: string[];
  readonly from: string;
  readonly sample: string;
}

function planFor(line: string): Plan {
  const ws = words(line);
  const at = ws.indexOf('chatport');
  const command = (ws[at + 1] === 'migrate' && ws[at + 2] === 'plan' ? 'migrate plan' : ws[at + 1]) as Plan['command'];
  // `dataset show DIR` reads a dataset that an export of the Dashly sample builds first
  const from = optionValues(ws, '--from')[0] ?? 'dashly';
  const sample = VENDOR_SAMPLES[from] ?? OWN_MAPPING.sample;
  return { line, command, ws, from, sample };
}

/** The sample's records, each as its exact text on one line (JSON strings hold no raw newline). */
async function sampleLines(plan: Plan): Promise<string> {
  const mapping = await loadMapping(VENDOR_SAMPLES[plan.from] ? plan.from : path.join(ROOT, OWN_MAPPING.mapping));
  let text = '';
  for await (const batch of readRawBatches({ name: plan.sample, path: path.join(ROOT, plan.sample) }, { envelopeKeys: mapping.envelopeKeys })) {
    for (const r of batch) text += r.bytes.toString('utf8').replace(/\r?\n\s*/g, ' ') + '\n';
  }
  return text;
}

/** Makes `file` (relative to cwd) from the sample, in the format its name says. */
async function makeInput(cwd: string, file: string, plan: Plan): Promise<void> {
  const target = path.join(cwd, file.replace(/\*\*?/g, 'sample').replace(/\?/g, 'x'));
  await mkdir(path.dirname(target), { recursive: true });
  const inner = file.replace(/\.gz$/i, '');
  const body = /\.(jsonl|ndjson)$/i.test(inner) ? Buffer.from(await sampleLines(plan)) : await readFile(path.join(ROOT, plan.sample));
  await writeFile(target, /\.gz$/i.test(file) ? gzipSync(body) : body);
}

async function sampleConversations(plan: Plan): Promise<string[]> {
  const ids = new Set<string>();
  const from = VENDOR_SAMPLES[plan.from] ? plan.from : path.join(ROOT, OWN_MAPPING.mapping);
  for await (const { table, row } of canonicalRows({
    mapping: await loadMapping(from),
    sources: await expandInputs([path.join(ROOT, plan.sample)]),
    onError: 'fail',
  }))
    if (table === 'messages') ids.add(String(row.conversation_id));
  return [...ids];
}

let shimDir: string;
const scratch: string[] = [];
beforeAll(async () => {
  shimDir = await mkdtemp(path.join(tmpdir(), 'chatport-shim-'));
  scratch.push(shimDir);
  const shim = path.join(shimDir, 'chatport');
  await writeFile(shim, `#!/bin/sh\nexec "${process.execPath}" "${path.join(ROOT, 'dist/cli/bin.js')}" "$@"\n`);
  chmodSync(shim, 0o755);
});
afterAll(async () => {
  await Promise.all(scratch.map((d) => rm(d, { recursive: true, force: true })));
});

async function runLine(plan: Plan): Promise<{ code: number; stdout: string; stderr: string; cwd: string; server: DashlyTestServer | null; targets: string[] }> {
  const cwd = await mkdtemp(path.join(tmpdir(), 'chatport-line-'));
  scratch.push(cwd);
  await symlink(path.join(ROOT, 'samples'), path.join(cwd, 'samples'));
  const { ws } = plan;
  if (!VENDOR_SAMPLES[plan.from] && !plan.from.startsWith('samples/'))
    await writeFile(path.join(cwd, plan.from), await readFile(path.join(ROOT, OWN_MAPPING.mapping)));
  const piped = ws.indexOf('|') > 0 ? ws.slice(1, ws.indexOf('|')) : [];
  for (const f of [...optionValues(ws, '--input').filter((v) => v !== '-'), ...piped]) if (!f.startsWith('samples/')) await makeInput(cwd, f, plan);

  let line = plan.line.replace(/\bnpx chatport\b/g, 'chatport').replace(/\b([A-Z_]+)=\.\.\.(?=\s)/g, `$1=${TOKEN}`);
  let server: DashlyTestServer | null = null;
  const targets: string[] = [];
  if (plan.command === 'dataset' || plan.command === 'forget') {
    const dataset = plan.command === 'dataset' ? ws[ws.indexOf('show') + 1]! : optionValues(ws, '--dataset')[0]!;
    const built = await runCli(['export', '--from', 'dashly', '--input', path.join(ROOT, plan.sample), '--dataset', dataset, '--quiet'], {
      cwd,
    });
    expect(built.code, built.stderr).toBe(0);
    // the lists forget's examples name
    for (const f of [...optionValues(ws, '--ids-file'), ...optionValues(ws, '--emails-file')])
      await writeFile(path.join(cwd, f), f.includes('email') ? 'nobody@example.com\n' : '5113\n');
  }
  if (plan.command === 'migrate') {
    server = await DashlyTestServer.start({ token: TOKEN });
    const conversations = await sampleConversations(plan);
    const rows = conversations.map((c, i) => {
      const target = String(18446744073709551000n + BigInt(i));
      server!.addConversation(target);
      targets.push(target);
      return `${c},${target}`;
    });
    for (const f of optionValues(ws, '--map-conversations')) await writeFile(path.join(cwd, f), `source_id,target_id\n${rows.join('\n')}\n`);
    // a filled plan: every conversation of the sample has its target (users.csv and admins.csv may be missing)
    for (const d of optionValues(ws, '--plan')) {
      await mkdir(path.join(cwd, d), { recursive: true });
      await writeFile(path.join(cwd, d, 'conversations.csv'), `source_id,target_id\n${rows.join('\n')}\n`);
    }
    if (!ws.includes('--api-url')) line += ` --api-url ${server.url}`;
  }
  // sync reads the API of a local test server of its vendor, with a few conversations
  let api: DashlyApiServer | OnceHubApiServer | null = null;
  if (plan.command === 'sync') {
    if (plan.from === 'dashly') {
      const d = (api = await new DashlyApiServer(TOKEN, /app_id=(\d+)/.exec(line)![1]!).start());
      for (let i = 0; i < 3; i++) d.add(2 + i, `180000000${i}.5`);
      line += ` --api-url ${d.url}`;
    } else {
      const o = (api = await new OnceHubApiServer(TOKEN).start());
      // after --since in the examples (2026-11-01)
      for (let i = 0; i < 3; i++) o.add(60 * 24 * 10 + i);
      line += ` --api-url ${o.url}/v2`;
    }
  }
  try {
    const r = await exec('bash', ['-c', line], {
      cwd,
      env: { ...process.env, PATH: `${shimDir}:${process.env.PATH}`, DASHLY_TOKEN: TOKEN },
      maxBuffer: 64 << 20,
    }).then(
      (x) => ({ code: 0, ...x }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
    return { ...r, cwd, server, targets };
  } finally {
    await server?.close();
    await api?.close();
  }
}

async function expectPromises(plan: Plan, r: Awaited<ReturnType<typeof runLine>>): Promise<void> {
  const { ws } = plan;
  const quiet = ws.includes('--quiet') || ws.includes('-q');
  const reportPath = optionValues(ws, '--report')[0];
  const report = reportPath ? (JSON.parse(await readFile(path.join(r.cwd, reportPath), 'utf8')) as Record<string, unknown>) : null;
  if (report) expect(report).toMatchObject({ command: plan.command, ok: true, error: null });
  if (plan.command === 'export') {
    const format = optionValues(ws, '--format')[0] ?? 'jsonl';
    const out = path.join(r.cwd, optionValues(ws, '--out')[0]!);
    expect((await readdir(out)).sort()).toEqual([`conversations.${format}`, `messages.${format}`]);
    if (quiet) expect(r.stderr).toBe('');
    else expect(r.stderr).toMatch(/^Read \d+ records .* All records accounted for\.\n$/);
    if (report) expect(report.records_read).toBeGreaterThan(0);
  } else if (plan.command === 'dataset') {
    const dir = ws[ws.indexOf('show') + 1]!;
    if (ws.includes('--json'))
      expect(JSON.parse(r.stdout)).toMatchObject({ dir, settings: { format: 'jsonl', version: 1 }, tables: { messages: { rows: 25 } } });
    else {
      expect(r.stdout).toMatch(new RegExp(`^dataset ${dir}: jsonl \\(compression none\\), version 1, committed `));
      expect(r.stdout).toContain("read_json('warehouse/messages/**/*.jsonl', hive_partitioning = true)");
    }
  } else if (plan.command === 'forget') {
    if (!quiet) expect(r.stderr).toMatch(/^forgot \d+ (person|people) in /);
  } else if (plan.command === 'validate') {
    expect(r.stdout).toMatch(/^Mapping \S+: \d+ records read, \d+ mapped, 0 failed/);
    if (report) expect(report.records_failed).toBe(0);
  } else if (plan.command === 'sync') {
    const format = optionValues(ws, '--format')[0] ?? 'jsonl';
    const dataset = optionValues(ws, '--dataset')[0];
    if (dataset !== undefined) {
      // a dataset: its tables, and the cursor committed with them
      const dir = path.join(r.cwd, dataset);
      expect((await readdir(dir)).sort()).toEqual(plan.from === 'oncehub' ? ['_chatport', 'conversations'] : ['_chatport', 'conversations', 'messages']);
      expect(await readdir(path.join(dir, '_chatport', 'current', 'state'))).toHaveLength(1);
      if (!quiet) expect(r.stderr).toMatch(/^Read \d+ records .* All records accounted for\. API: \d+ requests? .*\ndataset \S+: version 1 committed/);
    } else {
      const out = path.join(r.cwd, optionValues(ws, '--out')[0]!);
      const tables = plan.from === 'oncehub' ? ['answers', 'conversations'] : ['conversations', 'messages'];
      expect((await readdir(out)).sort()).toEqual(tables.map((t) => `${t}.${format}`));
      if (!quiet) expect(r.stderr).toMatch(/^Read \d+ records .* All records accounted for\. API: \d+ requests? .*\n$/);
    }
    expect(r.stderr).not.toContain(TOKEN);
  } else if (plan.command === 'migrate plan') {
    const out = path.join(r.cwd, optionValues(ws, '--out')[0]!);
    expect((await readdir(out)).sort()).toEqual(['admins.csv', 'conversations.csv', 'users.csv']);
    const lines = (await readFile(path.join(out, 'conversations.csv'), 'utf8')).split('\r\n').filter(Boolean);
    expect(lines.length - 1).toBe((await sampleConversations(plan)).length);
    if (!quiet) expect(r.stderr).toContain('chatport migrate plan: ');
  } else {
    expect(r.stderr).toContain('chatport migrate -> dashly');
    if (ws.includes('--dry-run')) {
      expect(r.server!.requests).toHaveLength(0);
      expect(r.stdout).toMatch(/^plan: conversation \S+ -> \d+: \d+ requests? for \d+ messages?$/m);
    } else {
      const sent = Number(/^ {2}sent +(\d+)/m.exec(r.stderr)![1]);
      expect(sent).toBeGreaterThan(0);
      expect(r.server!.replies()).toHaveLength(sent);
      expect(r.stderr).not.toContain(TOKEN);
    }
  }
}

describe('every command line in README.md and in --help examples runs as shown', () => {
  it('finds the README commands and the help examples (and they include the stdin examples)', async () => {
    const readme = readmeCommands();
    expect(readme.length).toBeGreaterThanOrEqual(5);
    expect(readme.some((l) => /\| npx chatport export .*--input - /.test(l))).toBe(true);
    const help = await helpExamples();
    expect(help.length).toBeGreaterThanOrEqual(8);
    expect(help.some((l) => /\| chatport export .*--input - /.test(l))).toBe(true);
  });

  it('runs each one: exit 0 and the outputs it promises', async () => {
    const lines = [...new Set([...readmeCommands(), ...(await helpExamples())])];
    for (const line of lines) {
      const plan = planFor(line);
      const r = await runLine(plan);
      expect(r.code, `${line}\n${r.stderr}`).toBe(0);
      await expectPromises(plan, r);
    }
  }, 180_000);

  it("what the README's first command writes (out/) is ignored by git", async () => {
    const first = planFor(readmeCommands()[0]!);
    const out = optionValues(first.ws, '--out')[0]!;
    const { stdout } = await exec('git', ['check-ignore', '--no-index', '-v', path.join(out, 'messages.parquet')], { cwd: ROOT });
    expect(stdout).toContain('.gitignore');
  });
});
