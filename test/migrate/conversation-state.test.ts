// issue 16: what a conversation carries besides its messages. Its state (tags, the last assignee, closed) goes over
// after its messages through /tag, /assign and /close, each exactly once (journaled, an in-flight one looked for before
// a resend); events keep their details in the note; OnceHub answers become one note; conversations without a customer
// message are started as their customer's (or the plan's) Dashly user; and a conversation without a target fails the
// run before anything is sent (--strict), or is skipped and named (--no-strict).

import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { formatReport } from '../../src/migrate/migrate-report.js';
import { runMigration } from '../../src/migrate/run-migration.js';
import { DashlyTestServer, type TestServerOptions } from './dashly-test-server.js';
import { TOKEN, answer, conversation, iterate, message, redactedMessage, tempDir, testConfig, testDeps } from './migrate-fixtures.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

const T0 = '18446744073709550001';
const T1 = '18446744073709550002';

async function serve(options: Partial<TestServerOptions> = {}, targets = [T0, T1]): Promise<DashlyTestServer> {
  const s = await DashlyTestServer.start({ token: TOKEN, ...options });
  closers.push(() => s.close());
  for (const t of targets) s.addConversation(t);
  return s;
}

function journal(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe('conversation state carried over', () => {
  it('tags, the assignee and closed go over after the messages, each once; a re-run sends nothing', async () => {
    const s = await serve();
    const rows = [
      conversation('c0', { status: 'Closed', assignee_id: 'agent-7', tags: ['vip', 'delivery', 'vip'] }),
      message('c0', 'm1', 1),
      message('c0', 'm2', 2, { role: 'agent', author_id: 'agent-7' }),
      conversation('c1', { status: 'open', assignee_id: 'agent-9', tags: [] }),
      message('c1', 'n1', 1),
    ];
    const config = testConfig(s.url, tempDir(), {
      conversations: new Map([
        ['c0', T0],
        ['c1', T1],
      ]),
      admins: new Map([['agent-7', '8164']]),
    });
    const report = await runMigration(iterate(rows), config, testDeps());
    expect(s.parts(T0).map((p) => p.type)).toEqual(['reply_user', 'reply_admin', 'tag_added', 'tag_added', 'assigned', 'closed']);
    expect(s.state.get(T0)).toMatchObject({ tags: ['vip', 'delivery'], assignee: '8164', closed: true });
    // c1: open, and its assignee has no Dashly admin: not assigned, and the report says why
    expect(s.state.get(T1)).toMatchObject({ tags: [], assignee: null, closed: false });
    expect(report.actions).toEqual({ done: 4, alreadyDone: 0, rejected: 0, pending: 0, notCarried: 1 });
    expect(report.warnings.join('\n')).toContain('conversation c1: not assigned: its assignee agent-9 has no row in --map-admins');
    const c0 = report.perConversation.find((o) => o.conversation === 'c0')!;
    expect(c0).toMatchObject({ target: T0, outcome: 'done', messages: { sent: 2 } });
    expect(c0.actions).toEqual([
      { key: 'tag:vip', outcome: 'done' },
      { key: 'tag:delivery', outcome: 'done' },
      { key: 'assign:8164', outcome: 'done' },
      { key: 'close', outcome: 'done' },
    ]);
    expect(journal(config.statePath!).filter((r) => r.t === 'act' || r.t === 'act-done')).toHaveLength(8);
    const requests = s.requests.length;
    const again = await runMigration(iterate(rows), config, testDeps());
    expect(s.requests.length).toBe(requests);
    expect(again.actions).toMatchObject({ done: 0, alreadyDone: 4 });
    expect(formatReport(again)).toContain('conversation state (tags, assignee, closed): 0 carried over, 4 already');
  });

  it('an action whose answer was lost is found as its system part and not resent; one that never landed is sent once', async () => {
    let drop = true;
    // the first /close stores the part, then drops the connection: its outcome is unknown
    const s = await serve({ fault: ({ path }) => (drop && path.endsWith('/close') ? ((drop = false), { kind: 'drop-after' }) : null) });
    const rows = [conversation('c0', { status: 'closed', tags: ['vip'] }), message('c0', 'm1', 1)];
    const config = testConfig(s.url, tempDir(), { conversations: new Map([['c0', T0]]) });
    const report = await runMigration(iterate(rows), config, testDeps());
    expect(s.parts(T0).filter((p) => p.type === 'closed')).toHaveLength(1);
    expect(report.requests.foundOnCheck).toBe(1);
    expect(journal(config.statePath!).find((r) => r.t === 'act-done' && r.act === 'close')).toMatchObject({ found: true });

    // a killed run: the journal says `act` for tag:vip without an outcome, and the request never arrived
    const s2 = await serve({}, [T1]);
    const dir = tempDir();
    const config2 = testConfig(s2.url, dir, { conversations: new Map([['c0', T1]]) });
    await runMigration(iterate([message('c0', 'm1', 1)]), config2, testDeps());
    const lines = readFileSync(config2.statePath!, 'utf8');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      config2.statePath!,
      lines + JSON.stringify({ t: 'act', src: 'expertflow', conv: 'c0', act: 'tag:vip', target: T1, at: Date.now() - 60_000 }) + '\n',
    );
    const resumed = await runMigration(iterate([conversation('c0', { tags: ['vip'] }), message('c0', 'm1', 1)]), config2, testDeps());
    expect(
      s2
        .parts(T1)
        .filter((p) => p.type === 'tag_added')
        .map((p) => p.tag),
    ).toEqual(['vip']);
    expect(resumed.requests.checks).toBeGreaterThan(0);
    expect(resumed.actions.done).toBe(1);
  });

  it('a halted conversation carries no state over (closing before every message is in would be wrong)', async () => {
    const s = await serve({ fault: ({ form }) => (form.external_id === 'm2' ? { kind: 'status', status: 500 } : null) });
    const rows = [conversation('c0', { status: 'closed', tags: ['vip'] }), message('c0', 'm1', 1), message('c0', 'm2', 2)];
    const config = testConfig(s.url, tempDir(), { conversations: new Map([['c0', T0]]), retry: { maxRetries: 1, baseMs: 1, capMs: 2 } });
    const report = await runMigration(iterate(rows), config, testDeps());
    expect(s.parts(T0).map((p) => p.type)).toEqual(['reply_user']);
    expect(report.actions).toMatchObject({ done: 0, pending: 2 });
    expect(report.perConversation[0]).toMatchObject({ outcome: 'halted' });
  });
});

describe('events and chatbot answers', () => {
  it('an event note keeps its details: the tag, the assignee, the vote, the channel', async () => {
    const s = await serve();
    const ev = (id: string, t: number, event_type: string, payload: unknown) =>
      message('c0', id, t, { kind: 'event', event_type, role: 'system', author_id: '30542', author_name: 'Test', text: '', payload });
    const rows = [
      ev('e1', 1, 'tag_added', { tag: 'delivery' }),
      ev('e2', 2, 'assigned', { assignee: { id: 30542, name: 'Test', avatar: 'https://files.example/a.png', type: 'admin' } }),
      ev('e3', 3, 'vote', { meta_data: { vote: 5 } }),
      ev('e4', 4, 'channel_changed', { channel: 0 }),
      ev('e5', 5, 'state_changed', '{"details":{"from":"open","to":"solved"}}'),
    ];
    await runMigration(iterate(rows), testConfig(s.url, tempDir(), { conversations: new Map([['c0', T0]]) }), testDeps());
    expect(s.parts(T0).map((p) => p.body.replace(/, 1970-[^ ]+Z/, ''))).toEqual([
      '[event] tag_added by Test: tag: delivery',
      '[event] assigned by Test: assignee: Test (admin 30542)',
      '[event] vote by Test: vote: 5',
      '[event] channel_changed by Test: channel: 0',
      '[event] state_changed by Test: from: open, to: solved',
    ]);
  });

  it('OnceHub answers become one readable note, in a conversation started as its contact (no message at all)', async () => {
    const s = await serve({}, []);
    const rows = [
      conversation('CVR-1', { source: 'oncehub', customer_id: 'CTC-1', status: 'closed' }),
      answer('CVR-1', 1, 'Email address', 'carrie@example.com'),
      answer('CVR-1', 0, 'Full name', 'Carrie Customer'),
      conversation('CVR-2', { source: 'oncehub', customer_id: 'CTC-2', status: 'abandoned' }),
      answer('CVR-2', 0, 'Full name', 'Bob'),
    ];
    const config = testConfig(s.url, tempDir(), {
      startConversations: true,
      users: new Map([
        ['CTC-1', '501'],
        ['CTC-2', '502'],
      ]),
    });
    const report = await runMigration(iterate(rows), config, testDeps());
    expect(report.answers).toMatchObject({ total: 3, sent: 3 });
    expect(report.conversations.started).toBe(2);
    const c1 = report.started.find((x) => x.conversation === 'CVR-1')!.target;
    expect(s.state.get(c1)).toMatchObject({ user: '501', closed: true });
    expect(s.parts(c1).map((p) => [p.type, p.body])).toEqual([
      ['reply_user', 'Conversation CVR-1 imported from oncehub by chatport.'],
      ['note', 'Chatbot answers (oncehub):\nFull name: Carrie Customer\nEmail address: carrie@example.com'],
      ['closed', ''],
    ]);
    // "abandoned" is not a closed status by default
    const c2 = report.started.find((x) => x.conversation === 'CVR-2')!.target;
    expect(s.state.get(c2)).toMatchObject({ user: '502', closed: false });
    const again = await runMigration(iterate(rows), config, testDeps());
    expect(again.answers).toMatchObject({ total: 3, sent: 0, alreadySent: 3 });
    expect(s.parts(c1)).toHaveLength(3);
  });
});

describe('targets decided before any request', () => {
  const rows = [
    conversation('c0', { customer_id: null }),
    message('c0', 'm1', 1, { role: 'agent', author_id: 'a1' }),
    message('c1', 'n1', 1),
    message('c2', 'x1', 1),
    redactedMessage('c2', 'x2', 2),
  ];

  it('--strict (the default): one conversation without a target stops the run before anything is sent, naming each', async () => {
    const s = await serve({}, [T0]);
    const config = testConfig(s.url, tempDir(), { conversations: new Map([['c2', T0]]), startConversations: true, users: new Map() });
    const report = await runMigration(iterate(rows), config, testDeps());
    expect(s.requests).toEqual([]);
    expect(report.stoppedCode).toBe('MIGRATE_NO_TARGET');
    expect(report.stopped).toMatch(/^2 conversations have no target \(c0, c1\); nothing was sent/);
    expect(report.skipped).toEqual([
      {
        conversation: 'c0',
        reason: expect.stringContaining(
          'cannot start it: Dashly starts a conversation only as a user (POST /users/{id}/startconversation), and it has no customer',
        ),
      },
      { conversation: 'c1', reason: 'cannot start it: its customer cust-c1 has no row in --map-users' },
    ]);
    expect(report.messages).toMatchObject({ total: 4, noTarget: 2, pending: 2, sent: 0 });
    expect(report.perConversation.map((o) => [o.conversation, o.outcome])).toEqual([
      ['c0', 'skipped'],
      ['c1', 'skipped'],
      ['c2', 'stopped'],
    ]);
  });

  it('--no-strict skips them, names them in the report, and sends the rest', async () => {
    const s = await serve({}, [T0]);
    const config = testConfig(s.url, tempDir(), { conversations: new Map([['c2', T0]]), startConversations: true, strict: false });
    const report = await runMigration(iterate(rows), config, testDeps());
    expect(s.parts(T0).map((p) => p.external_id)).toEqual(['x1']);
    expect(report.messages).toMatchObject({ sent: 1, redacted: 1, noTarget: 2 });
    expect(report.skipped.map((x) => x.conversation)).toEqual(['c0', 'c1']);
    expect(formatReport(report)).toContain('conversations without a target:\n  c0: cannot start it');
  });

  it('a plan starts a conversation without a customer as its start_as user, and skips those marked skip', async () => {
    const s = await serve({}, []);
    const config = testConfig(s.url, tempDir(), {
      planned: true,
      startTargets: new Map([
        ['c0', '777'],
        ['c1', null],
      ]),
      skipConversations: new Set(['c2']),
      users: new Map([['cust-c1', '501']]),
    });
    const report = await runMigration(iterate(rows), config, testDeps());
    expect(report.conversations).toMatchObject({ started: 2, skippedByPlan: 1, skippedNoTarget: 0 });
    expect(report.messages).toMatchObject({ sent: 2, skipped: 1, redacted: 1 });
    expect(
      s.requests
        .filter((r) => r.path.endsWith('/startconversation'))
        .map((r) => r.path)
        .sort(),
    ).toEqual(['/users/501/startconversation', '/users/777/startconversation']);
  });
});
