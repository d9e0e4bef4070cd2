// runMigration against the local Dashly test server: request fields and texts, order under concurrency,
// retries (429 with Retry-After, 5xx, dropped connections), rejections, ReplyTooBig splitting, redaction,
// idempotent re-runs, in-flight checks, dry run, 401, started conversations, and the request-rate cap.

import { readFileSync, writeFileSync } from 'node:fs';

import { afterEach, describe, expect, it } from 'vitest';
import type { Row } from '../../src/model/canonical-schema.js';
import { formatReport } from '../../src/migrate/migrate-report.js';
import { randomIdFor } from '../../src/migrate/message-plan.js';
import { runMigration, stateFingerprint } from '../../src/migrate/run-migration.js';
import { DashlyTestServer, type Fault, type TestServerOptions } from './dashly-test-server.js';
import { REDACTED_TEXT, TOKEN, expectedOrder, iterate, message, redactedMessage, seeded, tempDir, testConfig, testDeps } from './migrate-fixtures.js';

let server: DashlyTestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

const BIG = (n: number): string => String(18446744073709551000n + BigInt(n)); // Dashly ids beyond 2^53

async function serve(options: Partial<TestServerOptions> = {}, conversations = 0): Promise<DashlyTestServer> {
  server = await DashlyTestServer.start({ token: TOKEN, ...options });
  for (let i = 0; i < conversations; i++) server.addConversation(BIG(i));
  return server;
}

function mapping(n: number, prefix = 'c'): Map<string, string> {
  return new Map(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, BIG(i)]));
}

/** Message ids in the order Dashly stored them, per target conversation. */
function storedOrder(s: DashlyTestServer, n: number): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < n; i++)
    out.set(
      `c${i}`,
      s.parts(BIG(i)).map((p) => p.external_id ?? '?'),
    );
  return out;
}

describe('runMigration', () => {
  it('sends each kind with the documented fields, the template text, and an attachment as its own reply (a link: no --attachment-hosts)', async () => {
    const s = await serve({}, 1);
    const t0 = Date.UTC(2024, 4, 1, 12, 0, 0) * 1000;
    const rows: Row[] = [
      message('c0', 'm1', t0, { text: 'Hello, I need help' }),
      message('c0', 'm2', t0 + 1_000_001, { role: 'agent', author_id: 'agent-7', author_name: 'Ann Agent', text: 'Sure' }),
      message('c0', 'm3', t0 + 2_000_000, { role: 'bot', author_id: 'bot-1', author_name: 'Helper', text: 'Bot here' }),
      message('c0', 'm4', t0 + 3_000_000, { kind: 'note', role: 'agent', author_id: 'agent-7', author_name: 'Ann Agent', text: 'whisper: VIP' }),
      message('c0', 'm5', t0 + 4_000_000, {
        kind: 'event',
        event_type: 'participantJoined',
        role: 'system',
        author_id: null,
        author_name: null,
        text: 'Ann joined',
      }),
      message('c0', 'm6', t0 + 5_000_000, {
        text: 'see file',
        attachments: [
          { id: 'a1', name: 'invoice.pdf', mime_type: 'application/pdf', size: 1234, url: 'https://files.example/invoice.pdf', created_at: null, extra: null },
        ],
      }),
      redactedMessage('c0', 'm7', t0 + 6_000_000),
    ];
    const dir = tempDir();
    const config = testConfig(s.url, dir, {
      conversations: new Map([['c0', BIG(0)]]),
      admins: new Map([['agent-7', '8164']]),
      users: new Map([['cust-c0', '424242']]),
    });
    const report = await runMigration(iterate(rows), config, testDeps());
    const parts = s.parts(BIG(0));
    expect(parts.map((p) => [p.external_id, p.type, p.from])).toEqual([
      ['m1', 'reply_user', '424242'],
      ['m2', 'reply_admin', '8164'],
      ['m3', 'reply_admin', 'default_admin'],
      ['m4', 'note', '8164'],
      ['m5', 'note', 'default_admin'],
      ['m6', 'reply_user', '424242'],
      ['m6', 'reply_user', '424242'],
    ]);
    expect(parts[0]!.body).toBe('Customer c0 (customer), 2024-05-01T12:00:00Z:\nHello, I need help');
    expect(parts[1]!.body).toBe('Ann Agent (agent), 2024-05-01T12:00:01.000001Z:\nSure');
    expect(parts[4]!.body).toBe('[event] participantJoined by system, 2024-05-01T12:00:04Z: Ann joined');
    expect(parts[5]!.body).toBe('Customer c0 (customer), 2024-05-01T12:00:05Z:\nsee file');
    expect(parts[6]!.body).toBe(
      'Customer c0 (customer), 2024-05-01T12:00:05Z:\n[attachment] invoice.pdf (application/pdf, 1234 bytes): https://files.example/invoice.pdf',
    );
    expect(parts[6]!.attachments).toBeUndefined();
    expect(parts.map((p) => p.random_id)).toEqual([
      ...['m1', 'm2', 'm3', 'm4', 'm5', 'm6'].map((m) => String(randomIdFor({ src: 'expertflow', conv: 'c0', msg: m }, 1))),
      String(randomIdFor({ src: 'expertflow', conv: 'c0', msg: 'm6', sub: 'a0' }, 1)),
    ]);
    expect(report.attachments).toEqual({ uploaded: 0, links: 1, linkReasons: { uploads_off: 1 } });
    expect(s.requests.every((r) => r.authorization === `Token ${TOKEN}`)).toBe(true);
    expect(report.messages).toMatchObject({ total: 7, sent: 6, redacted: 1, pending: 0, rejected: 0 });
    expect(report.conversations).toMatchObject({ total: 1, withTarget: 1 });
    // the journal records the created part ids exactly, though they exceed 2^53
    const sent = readFileSync(config.statePath!, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((r) => r.t === 'sent');
    expect(sent.map((r) => r.part_id)).toEqual(parts.map((p) => p.id));
  });

  it('skips events with --events skip and unmapped conversations, and counts them', async () => {
    const s = await serve({}, 1);
    const rows = [message('c0', 'm1', 1), message('c0', 'e1', 2, { kind: 'event', event_type: 'closed' }), message('c9', 'x1', 1), message('c9', 'x2', 2)];
    const report = await runMigration(iterate(rows), testConfig(s.url, tempDir(), { conversations: mapping(1), events: 'skip', strict: false }), testDeps());
    expect(s.parts(BIG(0)).map((p) => p.external_id)).toEqual(['m1']);
    expect(report.messages).toMatchObject({ total: 4, sent: 1, eventsSkipped: 1, noTarget: 2 });
    expect(report.conversations).toMatchObject({ total: 2, withTarget: 1, skippedNoTarget: 1 });
  });

  it('keeps created_at order (ties in input order) inside each conversation while conversations run in parallel', async () => {
    const rnd = seeded(7);
    const s = await serve({ fault: () => ({ kind: 'slow', afterMs: Math.floor(rnd() * 12) }) }, 12);
    const rows: Row[] = [];
    for (let c = 0; c < 12; c++) for (let m = 0; m < 25; m++) rows.push(message(`c${c}`, `c${c}-m${m}`, 1_700_000_000_000_000 + Math.floor(rnd() * 8) * 1000));
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [rows[i], rows[j]] = [rows[j]!, rows[i]!];
    }
    const report = await runMigration(iterate(rows), testConfig(s.url, tempDir(), { conversations: mapping(12), concurrency: 4 }), testDeps());
    expect(storedOrder(s, 12)).toEqual(expectedOrder(rows));
    expect(report.messages.sent).toBe(300);
    expect(s.maxInFlightPerConversation).toBe(1);
    expect(s.maxInFlight).toBeGreaterThan(1);
    expect(s.maxInFlight).toBeLessThanOrEqual(4);
  });

  it('retries 429, 5xx and dropped connections, checks before resending, and delivers each message once', async () => {
    const rnd = seeded(11);
    const fault = ({ method }: { method: string }): Fault | null => {
      if (method !== 'POST') return rnd() < 0.15 ? { kind: 'status', status: 503 } : null;
      const x = rnd();
      if (x < 0.1) return { kind: 'status', status: 429, retryAfter: '0' };
      if (x < 0.2) return { kind: 'status', status: 500 };
      if (x < 0.28) return { kind: 'status', status: 502 };
      if (x < 0.38) return { kind: 'drop-after' };
      if (x < 0.46) return { kind: 'drop-before' };
      if (x < 0.55) return { kind: 'slow', beforeMs: 5, afterMs: 5 };
      return null;
    };
    const s = await serve({ fault }, 6);
    const rows: Row[] = [];
    for (let c = 0; c < 6; c++) for (let m = 0; m < 15; m++) rows.push(message(`c${c}`, `c${c}-m${m}`, 1000 * m));
    const report = await runMigration(iterate(rows), testConfig(s.url, tempDir(), { conversations: mapping(6) }), testDeps(seeded(3)));
    expect(storedOrder(s, 6)).toEqual(expectedOrder(rows));
    expect(report.messages).toMatchObject({ sent: 90, pending: 0, rejected: 0 });
    const by = report.requests.retriedBy;
    expect(by.rate_limited).toBeGreaterThan(0);
    expect(by.server_error).toBeGreaterThan(0);
    expect(by.connection).toBeGreaterThan(0);
    expect(report.requests.foundOnCheck).toBeGreaterThan(0); // a dropped answer whose part had landed was not resent
    expect(report.requests.checks).toBeGreaterThan(0);
  });

  it('honours Retry-After across conversations and caps the request rate', async () => {
    let posts429 = 0;
    const s = await serve({ fault: ({ method }) => (method === 'POST' && posts429++ === 4 ? { kind: 'status', status: 429, retryAfter: '1' } : null) }, 3);
    const rows = [0, 1, 2].flatMap((c) => [0, 1, 2, 3].map((m) => message(`c${c}`, `c${c}-m${m}`, m)));
    const starts: number[] = [];
    const deps = { ...testDeps(), fetch: ((url: string, init: never) => (starts.push(Date.now()), fetch(url, init))) as typeof fetch };
    const report = await runMigration(iterate(rows), testConfig(s.url, tempDir(), { conversations: mapping(3), rps: 20, concurrency: 3 }), deps);
    expect(report.messages.sent).toBe(12);
    // rps 20: starts are scheduled 50 ms apart; local work may delay a start (by more than 25 ms on a loaded
    // machine), never advance it. The documented cap is rps + 1 per window: at most 5 starts in any 200 ms, i.e.
    // any 6 consecutive starts span at least 4 slots, whatever the delay of the first one (up to a slot).
    for (let i = 0; i + 5 < starts.length; i++) expect(starts[i + 5]! - starts[i]!).toBeGreaterThanOrEqual(4 * 50);
    const posts = s.requests.filter((r) => r.method === 'POST');
    const first429 = posts.find((r) => r.status === 429)!;
    // Requests already started when the 429 came back may still arrive (at most one per other conversation);
    // none starts during the pause.
    const early = posts.filter((r) => r.at > first429.at && r.at - first429.at < 990);
    expect(early.length).toBeLessThanOrEqual(2);
    for (const r of early) expect(r.at - first429.at).toBeLessThan(150);
    expect(posts.filter((r) => r.at - first429.at >= 990).length).toBeGreaterThanOrEqual(6);
    const paused = starts.filter((t) => t > starts[4]! + 150 && t < starts[4]! + 990);
    expect(paused).toEqual([]);
    expect(report.requests.retriedBy.rate_limited).toBe(1);
  });

  it('rejects a message Dashly refuses with its reason, and goes on with the conversation', async () => {
    const s = await serve({ reject: (f) => (f.from_admin === '666' ? { error: 'LookupError', message: 'Admin 666 not found' } : null) }, 1);
    const rows = [message('c0', 'm1', 1), message('c0', 'm2', 2, { role: 'agent', author_id: 'ghost' }), message('c0', 'm3', 3)];
    const config = testConfig(s.url, tempDir(), { conversations: mapping(1), admins: new Map([['ghost', '666']]) });
    const report = await runMigration(iterate(rows), config, testDeps());
    expect(s.parts(BIG(0)).map((p) => p.external_id)).toEqual(['m1', 'm3']);
    expect(report.messages).toMatchObject({ sent: 2, rejected: 1 });
    expect(report.rejections).toEqual([{ status: 400, error: 'LookupError', reason: 'Admin 666 not found', count: 1, examples: ['c0/m2'] }]);
    expect(formatReport(report)).toContain('1 x 400 LookupError: Admin 666 not found (e.g. c0/m2)');
    // final: a re-run neither resends it nor forgets it
    const again = await runMigration(iterate(rows), config, testDeps());
    expect(again.messages).toMatchObject({ sent: 0, alreadySent: 2, rejected: 1 });
    expect(s.replies()).toHaveLength(3);
  });

  it('splits a body Dashly finds too big into numbered parts, keeping every character, and learns the limit', async () => {
    const s = await serve({ maxBody: 300 }, 1);
    const long = Array.from({ length: 120 }, (_, i) => `word${i} 😀`).join(' ') + '\nend';
    const rows = [message('c0', 'big1', 1, { text: long }), message('c0', 'big2', 2, { text: long.toUpperCase() }), message('c0', 'small', 3, { text: 'ok' })];
    const report = await runMigration(iterate(rows), testConfig(s.url, tempDir(), { conversations: mapping(1) }), testDeps());
    const parts = s.parts(BIG(0));
    const byMessage = (id: string) => parts.filter((p) => p.external_id === id);
    for (const [id, text] of [
      ['big1', long],
      ['big2', long.toUpperCase()],
    ] as const) {
      const ps = byMessage(id);
      expect(ps.length).toBeGreaterThan(1);
      ps.forEach((p, i) => expect(p.body.startsWith(`[part ${i + 1}/${ps.length}]\n`)).toBe(true));
      const joined = ps.map((p) => p.body.replace(/^\[part \d+\/\d+\]\n/, '')).join('');
      expect(joined).toBe(`Customer c0 (customer), 1970-01-01T00:00:00.000001Z:\n${text}`.replace('00.000001Z', id === 'big1' ? '00.000001Z' : '00.000002Z'));
      for (const p of ps) expect([...p.body].length).toBeLessThanOrEqual(300);
      expect(new Set(ps.map((p) => p.random_id)).size).toBe(ps.length);
    }
    expect(byMessage('small')[0]!.body).not.toContain('[part');
    expect(report.requests.splitMessages).toBe(2);
    // big2 was planned with what big1 taught: fewer refusals the second time
    const refused = s.requests.filter((r) => r.status === 400);
    expect(refused.filter((r) => r.form.external_id === 'big2').length).toBeLessThan(refused.filter((r) => r.form.external_id === 'big1').length);
  });

  it('never sends redacted rows, and no token or redacted text reaches a log, report or the state file', async () => {
    // Dashly may echo a header in an error message: the report must still not show the token.
    const s = await serve(
      {
        reject: (f, r) => (f.external_id === 'm3' ? { error: 'ValidationError', message: `bad request with ${r.authorization}` } : null),
        fault: ({ n }) => (n % 4 === 1 ? { kind: 'drop-after' } : null),
      },
      1,
    );
    const rows = [message('c0', 'm1', 1), redactedMessage('c0', 'm2', 2), message('c0', 'm3', 3), redactedMessage('c0', 'm4', 4), message('c0', 'm5', 5)];
    const dir = tempDir();
    const config = testConfig(s.url, dir, { conversations: mapping(1) });
    const deps = testDeps();
    const report = await runMigration(iterate(rows), config, deps);
    const dry = testDeps();
    const dryReport = await runMigration(iterate(rows), { ...config, dryRun: true }, dry);
    expect(report.messages).toMatchObject({ sent: 2, redacted: 2, rejected: 1 });
    expect(report.rejections[0]!.reason).toBe('bad request with Token ****');
    const everything = [
      ...deps.logs,
      ...dry.logs,
      formatReport(report),
      JSON.stringify(report),
      formatReport(dryReport),
      JSON.stringify(dryReport),
      readFileSync(config.statePath!, 'utf8'),
      ...s.requests.map((r) => JSON.stringify(r.form)),
    ].join('\n');
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain(REDACTED_TEXT);
    expect(s.requests.some((r) => ['m2', 'm4'].includes(r.form.external_id ?? ''))).toBe(false);
  });

  it('a re-run with the same state sends nothing', async () => {
    const s = await serve({}, 3);
    const rows = [0, 1, 2].flatMap((c) => [0, 1, 2].map((m) => message(`c${c}`, `c${c}-m${m}`, m)));
    const config = testConfig(s.url, tempDir(), { conversations: mapping(3) });
    await runMigration(iterate(rows), config, testDeps());
    const before = s.requests.length;
    const again = await runMigration(iterate(rows), config, testDeps());
    expect(s.requests.length).toBe(before);
    expect(again.messages).toMatchObject({ total: 9, sent: 0, alreadySent: 9 });
  });

  it('settles a request left in flight by a killed run: found parts are not resent, missing ones are sent once', async () => {
    for (const listRandomId of [true, false]) {
      const s = await serve({ listRandomId }, 1);
      const rows = [message('c0', 'm1', 1), message('c0', 'm2', 2), message('c0', 'm3', 3)];
      const dir = tempDir();
      const config = testConfig(s.url, dir, { conversations: mapping(1) });
      // A first run that sent m1 and m2, then "was killed" after the begin of m3 (its request never arrived).
      await runMigration(iterate(rows.slice(0, 2)), config, testDeps());
      const body = 'Customer c0 (customer), 1970-01-01T00:00:00.000003Z:\ntext of m3';
      const begin = (msg: string) =>
        JSON.stringify({
          t: 'begin',
          src: 'expertflow',
          conv: 'c0',
          msg,
          ext: msg,
          part: 1,
          of: 1,
          from: 0,
          to: body.length,
          limit: null,
          target: BIG(0),
          random_id: randomIdFor({ src: 'expertflow', conv: 'c0', msg }, 1),
          len: body.length,
          at: Date.now() - 60_000,
        });
      // ...and m2's answer was lost too: its "sent" record is removed, leaving its begin open.
      const lines = readFileSync(config.statePath!, 'utf8').split('\n').filter(Boolean);
      const lastSent = lines.map((l, i) => [JSON.parse(l), i] as const).filter(([r]) => r.t === 'sent' && r.msg === 'm2')[0]![1];
      lines.splice(lastSent, 1);
      writeFileSync(config.statePath!, lines.join('\n') + '\n' + begin('m3') + '\n');
      const report = await runMigration(iterate(rows), config, testDeps());
      expect(s.parts(BIG(0)).map((p) => p.external_id)).toEqual(['m1', 'm2', 'm3']);
      expect(report.messages).toMatchObject({ alreadySent: 1, sent: 2 });
      expect(report.requests.foundOnCheck).toBe(1);
      await s.close();
      server = null;
    }
  });

  it('refuses a state written with other text options', async () => {
    const s = await serve({}, 1);
    const config = testConfig(s.url, tempDir(), { conversations: mapping(1) });
    await runMigration(iterate([message('c0', 'm1', 1)]), config, testDeps());
    const other = { ...config, template: '{text}' };
    expect(stateFingerprint(other)).not.toBe(stateFingerprint(config));
    await expect(runMigration(iterate([message('c0', 'm1', 1)]), other, testDeps())).rejects.toMatchObject({ code: 'MIGRATE_STATE_MISMATCH' });
  });

  it('dry run sends zero requests and prints the plan with the token masked', async () => {
    const s = await serve({}, 2);
    const rows = [message('c0', 'm1', 1), message('c0', 'm2', 2), message('c1', 'n1', 1), message('c7', 'z1', 1)];
    const deps = testDeps();
    const report = await runMigration(
      iterate(rows),
      testConfig(s.url, tempDir(), { conversations: mapping(2), dryRun: true, statePath: null, token: TOKEN, strict: false }),
      deps,
    );
    expect(s.requests).toHaveLength(0);
    expect(report.dryRun).toBe(true);
    expect(report.messages).toMatchObject({ sent: 3, noTarget: 1 });
    expect(deps.logs).toContain(`plan: conversation c0 -> ${BIG(0)}: 2 requests for 2 messages`);
    expect(deps.logs).toContain('plan: conversation c7 -> skipped (no row in --map-conversations): 0 requests for 1 message');
    const previews = deps.logs.filter((l) => l.startsWith('request: '));
    expect(previews).toHaveLength(3);
    expect(previews[0]).toContain(`POST ${s.url}/conversations/${BIG(0)}/reply  Authorization: Token ****`);
    expect(previews[0]).toContain('external_id="m1"');
    expect(deps.logs.join('\n')).not.toContain(TOKEN);
  });

  it('stops the whole run on 401 without marking messages rejected, so a run with the right token sends them all', async () => {
    const s = await serve({}, 2);
    const rows = [0, 1].flatMap((c) => [0, 1, 2].map((m) => message(`c${c}`, `c${c}-m${m}`, m)));
    const config = testConfig(s.url, tempDir(), { conversations: mapping(2), token: 'wrong-token' });
    const report = await runMigration(iterate(rows), config, testDeps());
    expect(report.stopped).toMatch(/401 NotAuthenticated/);
    expect(report.messages).toMatchObject({ sent: 0, rejected: 0, pending: 6 });
    const fixed = await runMigration(iterate(rows), { ...config, token: TOKEN }, testDeps());
    expect(fixed.messages).toMatchObject({ sent: 6, pending: 0 });
    expect(storedOrder(s, 2)).toEqual(expectedOrder(rows));
  });

  it('starts a conversation for a mapped customer when asked, and skips one whose customer is not mapped', async () => {
    const s = await serve({}, 0);
    const rows = [message('c0', 'm1', 1), message('c0', 'm2', 2, { role: 'agent', author_id: 'a' }), message('c1', 'n1', 1)];
    const config = testConfig(s.url, tempDir(), { startConversations: true, users: new Map([['cust-c0', '5551']]), strict: false });
    const report = await runMigration(iterate(rows), config, testDeps());
    expect(report.conversations).toMatchObject({ started: 1, skippedNoTarget: 1 });
    const target = report.started[0]!.target;
    expect(BigInt(target) > 2n ** 53n).toBe(true);
    expect(s.parts(target).map((p) => p.body)).toEqual([
      'Conversation c0 imported from expertflow by chatport.',
      'Customer c0 (customer), 1970-01-01T00:00:00.000001Z:\ntext of m1',
      'cust-c0 (agent), 1970-01-01T00:00:00.000002Z:\ntext of m2'.replace('cust-c0', 'Customer c0'),
    ]);
    expect(s.requests.filter((r) => r.path === '/users/5551/startconversation')).toHaveLength(1);
    // the started conversation is in the state: a re-run does not start another
    const again = await runMigration(iterate(rows), config, testDeps());
    expect(again.conversations.started).toBe(0);
    expect(s.requests.filter((r) => r.path.endsWith('/startconversation'))).toHaveLength(1);
  });

  it('reads ids beyond 2^53 exactly when Dashly answers them as numbers', async () => {
    const s = await serve({ ignoreIdAsString: true, fault: ({ method, n }) => (method === 'POST' && n % 3 === 2 ? { kind: 'drop-after' } : null) }, 1);
    const rows = Array.from({ length: 120 }, (_, m) => message('c0', `m${m}`, m));
    const config = testConfig(s.url, tempDir(), { conversations: mapping(1) });
    const report = await runMigration(iterate(rows), config, testDeps());
    expect(s.parts(BIG(0)).map((p) => p.external_id)).toEqual(rows.map((r) => r.message_id));
    expect(report.requests.foundOnCheck).toBeGreaterThan(0);
    const journal = readFileSync(config.statePath!, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const ids = new Set(s.parts(BIG(0)).map((p) => p.id));
    for (const r of journal.filter((r) => r.t === 'sent')) expect(ids.has(r.part_id)).toBe(true);
  });

  it('gives the same result when the input is spilled to disk and merged', async () => {
    const s = await serve({}, 5);
    const rnd = seeded(5);
    const rows: Row[] = [];
    for (let i = 0; i < 200; i++) {
      const c = Math.floor(rnd() * 5);
      rows.push(message(`c${c}`, `m${i}`, Math.floor(rnd() * 20)));
    }
    const report = await runMigration(iterate(rows), testConfig(s.url, tempDir(), { conversations: mapping(5), maxBufferedChars: 4000 }), testDeps());
    expect(report.messages.sent).toBe(200);
    expect(storedOrder(s, 5)).toEqual(expectedOrder(rows));
  });

  it('halts a conversation whose request keeps failing, keeps later messages pending, and finishes them on resume', async () => {
    let down = true;
    const s = await serve({ fault: ({ form }) => (down && form.external_id === 'm2' ? { kind: 'status', status: 500 } : null) }, 2);
    const rows = [message('c0', 'm1', 1), message('c0', 'm2', 2), message('c0', 'm3', 3), message('c1', 'n1', 1)];
    const config = testConfig(s.url, tempDir(), { conversations: mapping(2), retry: { maxRetries: 2, baseMs: 1, capMs: 2 } });
    const report = await runMigration(iterate(rows), config, testDeps());
    expect(report.messages).toMatchObject({ sent: 2, pending: 2 });
    expect(report.halted[0]).toMatchObject({ conversation: 'c0' });
    down = false;
    const resumed = await runMigration(iterate(rows), config, testDeps());
    expect(resumed.messages).toMatchObject({ sent: 2, alreadySent: 2, pending: 0 });
    expect(storedOrder(s, 2)).toEqual(expectedOrder(rows));
  });
});
