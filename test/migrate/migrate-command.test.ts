// `chatport migrate` as a command: the real export pipeline on a shipped sample into the Dashly double, the
// token read only from the named variable and never printed, dry-run output, exit codes, and argv parsing.

import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { migrateCommand, type MigrateCommandOptions } from '../../src/migrate/migrate-command.js';
import { main } from '../../src/cli/main.js';
import { DashlyTestServer } from './dashly-test-server.js';
import { TOKEN, iterate, message, tempDir } from './migrate-fixtures.js';

let server: DashlyTestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

const SAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'samples', 'expertflow', 'messages.json');
const CONV_A = '62769f0e5c1f2a0012a4f001';
const CONV_B = '6276a3b75c1f2a0012a4f0c2';

async function setup(): Promise<{ s: DashlyTestServer; dir: string; base: MigrateCommandOptions }> {
  const s = await DashlyTestServer.start({ token: TOKEN });
  server = s;
  s.addConversation('18446744073709551601');
  s.addConversation('18446744073709551602');
  const dir = tempDir();
  writeFileSync(join(dir, 'conversations.csv'), `source_id,target_id\n${CONV_A},18446744073709551601\n${CONV_B},18446744073709551602\n`);
  const base: MigrateCommandOptions = {
    from: 'expertflow',
    input: [SAMPLE],
    to: 'dashly',
    apiUrl: s.url,
    tokenEnv: 'DASHLY_TEST_TOKEN',
    mapConversations: join(dir, 'conversations.csv'),
    state: join(dir, 'state.jsonl'),
    settle: 0.01,
    rps: 1000,
  };
  return { s, dir, base };
}

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    deps: {
      env: { DASHLY_TEST_TOKEN: TOKEN },
      stdout: (t: string) => void out.push(t),
      stderr: (t: string) => void err.push(t),
      isTTY: false,
      signal: new AbortController().signal,
    },
  };
}

describe('migrateCommand', () => {
  it('migrates the Expertflow sample through the export pipeline, then a re-run sends nothing', async () => {
    const { s, base } = await setup();
    const { err, deps } = io();
    expect(await migrateCommand(base, deps)).toBe(0);
    expect(s.parts('18446744073709551601').map((p) => p.type)).toEqual(['reply_user', 'note', 'reply_admin']);
    expect(s.parts('18446744073709551602').map((p) => p.type)).toEqual(['reply_user', 'reply_admin']);
    expect(s.parts('18446744073709551601')[0]!.body).toContain('مرحبا');
    expect(err.join('')).toMatch(/sent\s+5/);
    const again = io();
    expect(await migrateCommand(base, again.deps)).toBe(0);
    expect(again.err.join('')).toMatch(/already sent\s+5/);
    expect(s.replies()).toHaveLength(5);
  });

  it('dry run: zero requests, the plan on stdout, the token masked and never printed', async () => {
    const { s, base } = await setup();
    const { out, err, deps } = io();
    expect(await migrateCommand({ ...base, dryRun: true, state: undefined }, deps)).toBe(0);
    expect(s.requests).toHaveLength(0);
    const text = out.join('');
    expect(text).toContain(`plan: conversation ${CONV_A} -> 18446744073709551601: 3 requests for 3 messages`);
    expect(text).toContain('Authorization: Token ****');
    expect(text + err.join('')).not.toContain(TOKEN);
  });

  it('reads the token only from the named variable and says which one is missing, exit 77', async () => {
    const { s, base } = await setup();
    const { err, deps } = io();
    expect(await migrateCommand(base, { ...deps, env: { OTHER: TOKEN } })).toBe(77);
    expect(err.join('')).toContain('MIGRATE_AUTH: environment variable DASHLY_TEST_TOKEN (named by --token-env) is not set');
    expect(s.requests).toHaveLength(0);
  });

  it('exit codes: 65 when Dashly rejected some, 75 when some are pending, 64 for a bad option', async () => {
    const { s, base } = await setup();
    s.options.reject = (f) => (f.external_id === 'm2' ? { error: 'ValidationError', message: 'nope' } : null);
    const rows = () => iterate([message(CONV_A, 'm1', 1), message(CONV_A, 'm2', 2)]);
    const a = io();
    expect(await migrateCommand(base, { ...a.deps, rows })).toBe(65);
    expect(a.err.join('')).toContain('MIGRATE_REJECTED');
    s.options.reject = undefined;
    s.options.fault = () => ({ kind: 'status', status: 503 });
    const b = io();
    expect(await migrateCommand({ ...base, state: join(tempDir(), 's.jsonl'), maxRetries: 1 }, { ...b.deps, rows })).toBe(75);
    expect(b.err.join('')).toContain('MIGRATE_INCOMPLETE');
    const c = io();
    expect(await migrateCommand({ ...base, to: 'intercom' }, c.deps)).toBe(64);
    expect(await migrateCommand({ ...base, mapConversations: undefined }, c.deps)).toBe(64);
    expect(await migrateCommand({ ...base, state: undefined }, c.deps)).toBe(64);
  });

  it('parses chatport migrate arguments (kebab-case options, template escapes)', async () => {
    const { s, base } = await setup();
    process.env.DASHLY_TEST_TOKEN = TOKEN;
    const writes: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((t: string) => (writes.push(String(t)), true)) as typeof process.stderr.write;
    try {
      const code = await main([
        'migrate',
        '--from',
        'expertflow',
        '--input',
        SAMPLE,
        '--to',
        'dashly',
        '--api-url',
        s.url,
        '--token-env',
        'DASHLY_TEST_TOKEN',
        '--map-conversations',
        base.mapConversations!,
        '--state',
        base.state!,
        '--concurrency',
        '2',
        '--rps',
        '500',
        '--template',
        '{text}\\n-- {author}',
        '--events',
        'skip',
        '--settle',
        '0.01',
      ]);
      expect(code).toBe(0);
    } finally {
      process.stderr.write = write;
      delete process.env.DASHLY_TEST_TOKEN;
    }
    expect(s.parts('18446744073709551602')[0]!.body).toMatch(/^STOP\n-- /);
    expect(s.replies()).toHaveLength(4); // the event was skipped
    expect(writes.join('')).not.toContain(TOKEN);
  });
});
