// What a Dashly answer means, beyond its HTTP status (issue 10, items 8, 9, 10 and 12): an error envelope inside a
// 200 is an error, a success must carry the created id, a redirect is never followed (and the token never goes to
// another origin), two source conversations that share message ids and a target stay two messages, and a
// Retry-After beyond --max-wait stops the run cleanly instead of overflowing a timer.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Row } from '../../src/model/canonical-schema.js';
import { migrateCommand } from '../../src/migrate/migrate-command.js';
import { formatReport } from '../../src/migrate/migrate-report.js';
import { systemClock, type Clock } from '../../src/migrate/request-pacer.js';
import { runMigration } from '../../src/migrate/run-migration.js';
import { DashlyTestServer, RecordingServer, type TestServerOptions } from './dashly-test-server.js';
import { TOKEN, iterate, message, tempDir, testConfig, testDeps } from './migrate-fixtures.js';

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

/** Every (external_id, random_id) once, and every `sent` record names a part that exists. */
function expectExactlyOnce(s: DashlyTestServer, statePath: string, targets = [T0, T1]): void {
  const ids = new Set<string>();
  for (const t of targets) {
    const keys = s.parts(t).map((p) => `${p.external_id}#${p.random_id}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const p of s.parts(t)) ids.add(p.id);
  }
  for (const r of journal(statePath).filter((r) => r.t === 'sent')) expect(ids.has(r.part_id as string), JSON.stringify(r)).toBe(true);
}

describe('a 2xx is not success by itself (item 8)', () => {
  it('HTTP 200 carrying {"meta":{"status":400,"error":"ReplyTooBig"}} splits the body; nothing is journaled sent without a part id', async () => {
    const s = await serve({ errorsAs200: true, maxBody: 200 });
    const long = 'word '.repeat(100);
    const rows = [message('c0', 'm1', 1, { text: long }), message('c0', 'm2', 2), message('c0', 'm3', 3, { text: long })];
    const dir = tempDir();
    const config = testConfig(s.url, dir, { conversations: new Map([['c0', T0]]) });
    const report = await runMigration(iterate(rows), config, testDeps());
    expect(report.messages).toMatchObject({ sent: 3, pending: 0, rejected: 0 });
    const parts = s.parts(T0);
    expect(parts.filter((p) => p.external_id === 'm1').length).toBeGreaterThan(1);
    for (const id of ['m1', 'm3']) {
      const joined = parts
        .filter((p) => p.external_id === id)
        .map((p) => p.body.replace(/^\[part \d+\/\d+\]\n/, ''))
        .join('');
      expect(joined).toBe(`Customer c0 (customer), 1970-01-01T00:00:00.00000${id === 'm1' ? 1 : 3}Z:\n${long}`);
    }
    expect(journal(config.statePath!).filter((r) => r.t === 'sent' && r.part_id === null)).toEqual([]);
    expectExactlyOnce(s, config.statePath!, [T0]);
  });

  it('HTTP 200 with a 4xx envelope rejects the message; with a 5xx envelope it is retried; a success without data.id is checked, not counted', async () => {
    const s = await serve({
      fault: ({ method, form, n }) => {
        if (method !== 'POST') return null;
        if (form.external_id === 'bad') return { kind: 'error-in-200', status: 400, error: 'ValidationError', message: 'from_admin is not an admin' };
        if (form.external_id === 'flaky' && n < 6) return { kind: 'error-in-200', status: 503, error: 'ServiceUnavailable' };
        if (form.external_id === 'noid' && s.parts(T0).every((p) => p.external_id !== 'noid')) return { kind: 'no-id' };
        return null;
      },
    });
    const rows = [message('c0', 'bad', 1), message('c0', 'flaky', 2), message('c0', 'noid', 3), message('c0', 'last', 4)];
    const config = testConfig(s.url, tempDir(), { conversations: new Map([['c0', T0]]) });
    const report = await runMigration(iterate(rows), config, testDeps());
    expect(report.messages).toMatchObject({ sent: 3, rejected: 1, pending: 0 });
    expect(report.rejections).toEqual([{ status: 400, error: 'ValidationError', reason: 'from_admin is not an admin', count: 1, examples: ['c0/bad'] }]);
    expect(s.parts(T0).map((p) => p.external_id)).toEqual(['flaky', 'noid', 'last']);
    expect(report.requests.retriedBy.server_error).toBeGreaterThanOrEqual(2);
    expect(report.requests.foundOnCheck).toBe(1); // the part stored behind the id-less answer was found, not resent
    expectExactlyOnce(s, config.statePath!, [T0]);
  });

  it('a parts listing whose envelope says 5xx inside HTTP 200 is retried, not read as an empty conversation', async () => {
    let listed = 0;
    const s = await serve({
      fault: ({ method, form, n }) => {
        if (method === 'GET') return listed++ < 2 ? { kind: 'error-in-200', status: 502, error: 'BadGateway' } : null;
        return form.external_id === 'm1' && n === 0 ? { kind: 'drop-after' } : null; // stored, answer lost: must be checked
      },
    });
    const config = testConfig(s.url, tempDir(), { conversations: new Map([['c0', T0]]) });
    const report = await runMigration(iterate([message('c0', 'm1', 1), message('c0', 'm2', 2)]), config, testDeps());
    expect(s.parts(T0).map((p) => p.external_id)).toEqual(['m1', 'm2']);
    expect(report.requests.foundOnCheck).toBe(1);
    expect(report.requests.checks).toBeGreaterThanOrEqual(3);
  });
});

describe('redirects are never followed (item 9)', () => {
  for (const status of [307, 302, 301] as const) {
    it(`a ${status} to another origin stops the run: nothing reaches that origin, nothing is counted sent, a resume delivers once`, async () => {
      const elsewhere = await RecordingServer.start();
      closers.push(() => elsewhere.close());
      let redirecting = true;
      const s = await serve({
        fault: ({ method, form }) =>
          redirecting && method === 'POST' && form.external_id === 'm2'
            ? { kind: 'redirect', status, location: `${elsewhere.url}/steal/conversations/1/reply?auth=${TOKEN}` }
            : null,
      });
      const rows = [message('c0', 'm1', 1), message('c0', 'm2', 2), message('c0', 'm3', 3), message('c1', 'n1', 1)];
      const dir = tempDir();
      const config = testConfig(s.url, dir, {
        conversations: new Map([
          ['c0', T0],
          ['c1', T1],
        ]),
        concurrency: 1,
      });
      const report = await runMigration(iterate(rows), config, testDeps());
      expect(elsewhere.received).toEqual([]);
      expect(report.stoppedCode).toBe('MIGRATE_REDIRECT');
      expect(report.stopped).toContain(`${status}`);
      expect(report.stopped).toContain(elsewhere.url);
      expect(report.stopped).not.toContain('steal');
      expect(report.stopped).not.toContain(TOKEN);
      expect(report.messages).toMatchObject({ sent: 1, pending: 3 });
      expect(s.parts(T0).map((p) => p.external_id)).toEqual(['m1']);
      // the begin of m2 stays open: the resume checks before it sends
      redirecting = false;
      const resumed = await runMigration(iterate(rows), config, testDeps());
      expect(resumed.messages).toMatchObject({ alreadySent: 1, sent: 3, pending: 0 });
      expect(s.parts(T0).map((p) => p.external_id)).toEqual(['m1', 'm2', 'm3']);
      expect(elsewhere.received).toEqual([]);
      expectExactlyOnce(s, config.statePath!);
    });
  }

  it('a redirect while checking a lost answer (GET) is not followed either', async () => {
    const elsewhere = await RecordingServer.start();
    closers.push(() => elsewhere.close());
    const s = await serve({
      fault: ({ method }) =>
        method === 'GET' ? { kind: 'redirect', status: 308, location: `${elsewhere.url}/conversations/1/parts` } : { kind: 'drop-after' },
    });
    const config = testConfig(s.url, tempDir(), { conversations: new Map([['c0', T0]]) });
    const report = await runMigration(iterate([message('c0', 'm1', 1)]), config, testDeps());
    expect(report.stoppedCode).toBe('MIGRATE_REDIRECT');
    expect(elsewhere.received).toEqual([]);
  });

  it('chatport migrate exits 76 with one line naming the status and the origin only', async () => {
    const elsewhere = await RecordingServer.start();
    closers.push(() => elsewhere.close());
    const s = await serve({ fault: () => ({ kind: 'redirect', status: 307, location: `${elsewhere.url}/x?token=${TOKEN}` }) });
    const dir = tempDir();
    writeFileSync(join(dir, 'map.csv'), `source_id,target_id\nc0,${T0}\n`);
    const err: string[] = [];
    const code = await migrateCommand(
      { from: 'expertflow', input: [], apiUrl: s.url, tokenEnv: 'T', mapConversations: join(dir, 'map.csv'), state: join(dir, 's.jsonl'), rps: 1000 },
      {
        env: { T: TOKEN },
        rows: () => iterate([message('c0', 'm1', 1)]),
        stdout: () => {},
        stderr: (t) => void err.push(t),
        isTTY: false,
        signal: new AbortController().signal,
      },
    );
    expect(code).toBe(76);
    const line = err
      .join('')
      .split('\n')
      .find((l) => l.startsWith('chatport: MIGRATE_REDIRECT'))!;
    expect(line).toContain(`307, a redirect to ${elsewhere.url};`);
    expect(err.join('')).not.toContain(TOKEN);
    expect(elsewhere.received).toEqual([]);
  });
});

describe('one message per (source, conversation, message) (item 10)', () => {
  const shared = new Map([
    ['A', T0],
    ['B', T0],
  ]);
  const rows = (): Row[] => [message('A', 'm1', 1, { text: 'same', author_name: 'X' }), message('B', 'm1', 1, { text: 'same', author_name: 'X' })];

  for (const listRandomId of [true, false]) {
    it(`two source conversations sharing a target and a message id: a lost answer is checked against the right one (random_id ${listRandomId ? 'listed' : 'not listed'})`, async () => {
      // B's m1 loses its connection before it is stored: the check must not take A's m1 for it.
      const s = await serve({ listRandomId, fault: ({ method, n }) => (method === 'POST' && n === 1 ? { kind: 'drop-before' } : null) }, [T0]);
      const config = testConfig(s.url, tempDir(), { conversations: shared, allowSharedTargets: true, concurrency: 1, template: '{text}' });
      const report = await runMigration(iterate(rows()), config, testDeps());
      expect(report.messages).toMatchObject({ sent: 2, pending: 0, duplicates: 0 });
      expect(s.parts(T0)).toHaveLength(2);
      expect(report.requests.foundOnCheck).toBe(0);
      expect(new Set(s.parts(T0).map((p) => p.random_id)).size).toBe(2);
      expect(report.conversations.sharedTargets).toBe(1);
      expect(formatReport(report)).toMatch(/WARNING: 1 Dashly conversations receive several source conversations/);
      expect(report.warnings.join('\n')).toContain(`Dashly conversation ${T0} receives 2 source conversations (A, B)`);
    });
  }

  it('refuses a many-to-one --map-conversations unless --allow-shared-targets, before anything is read or sent', async () => {
    const s = await serve({}, [T0]);
    const config = testConfig(s.url, tempDir(), {
      conversations: new Map([
        ['A', T0],
        ['B', T0],
        ['C', T1],
      ]),
    });
    await expect(runMigration(iterate(rows()), config, testDeps())).rejects.toMatchObject({
      code: 'CONFIG_BAD_OPTION',
      message: expect.stringContaining(`--map-conversations sends 2 source conversations (A, B) into Dashly conversation ${T0}`),
    });
    expect(s.requests).toEqual([]);
  });

  it('the same conversation and message ids from two sources are two messages', async () => {
    const s = await serve({}, [T0]);
    const config = testConfig(s.url, tempDir(), { conversations: new Map([['c0', T0]]) });
    const both = [message('c0', 'm1', 1, { source: 'oncehub' }), message('c0', 'm1', 2, { source: 'expertflow' })];
    const report = await runMigration(iterate(both), config, testDeps());
    expect(report.messages).toMatchObject({ sent: 2, duplicates: 0 });
    const again = await runMigration(iterate(both), config, testDeps());
    expect(again.messages).toMatchObject({ alreadySent: 2 });
    expect(s.parts(T0)).toHaveLength(2);
  });

  it('a state written by an earlier journal version is refused with a clear line', async () => {
    for (const v of [1, 2]) {
      const s = await serve({}, [T0]);
      const dir = tempDir();
      const config = testConfig(s.url, dir, { conversations: new Map([['c0', T0]]) });
      writeFileSync(config.statePath!, `{"t":"run","v":${v},"fingerprint":"x","at":1}\n{"t":"target","src":"expertflow","conv":"c0","target":"1"}\n`);
      await expect(runMigration(iterate([message('c0', 'm1', 1)]), config, testDeps())).rejects.toMatchObject({
        code: 'MIGRATE_STATE_MISMATCH',
        message: expect.stringMatching(new RegExp(`^this state was written by an older chatport \\(journal version ${v}; this one writes version 3`)),
      });
      expect(s.requests).toEqual([]);
    }
  });
});

/** Virtual time: sleeping advances it at once, so a test can wait for days in a millisecond. */
class FakeClock implements Clock {
  t = 1_700_000_000_000;
  readonly sleeps: number[] = [];
  now(): number {
    return this.t;
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.sleeps.push(ms);
    this.t += Math.max(0, ms);
    await new Promise((r) => setImmediate(r));
  }
}

describe('Retry-After (item 12)', () => {
  it('honours a long Retry-After below --max-wait (injected clock): the retry starts no earlier than asked', async () => {
    const clock = new FakeClock();
    const s = await serve({ fault: ({ method, n }) => (method === 'POST' && n === 1 ? { kind: 'status', status: 429, retryAfter: '600' } : null) }, [T0]);
    const at: number[] = [];
    const deps = { ...testDeps(), clock, fetch: ((url: string, init: never) => (at.push(clock.now()), fetch(url, init))) as typeof fetch };
    const config = testConfig(s.url, tempDir(), { conversations: new Map([['c0', T0]]), maxWaitMs: 900_000 });
    const report = await runMigration(iterate([message('c0', 'm1', 1), message('c0', 'm2', 2), message('c0', 'm3', 3)]), config, deps);
    expect(report.messages).toMatchObject({ sent: 3, pending: 0 });
    expect(at).toHaveLength(4);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(600_000);
    expect(at[2]! - at[1]!).toBeLessThanOrEqual(601_000);
    expect(Math.max(...clock.sleeps)).toBeLessThanOrEqual(601_000);
  });

  it('Retry-After: 3000000 (34 days) stops the run resumable after one request, the journal intact (injected clock)', async () => {
    const clock = new FakeClock();
    let limited = true;
    const s = await serve({ fault: ({ method }) => (limited && method === 'POST' ? { kind: 'status', status: 429, retryAfter: '3000000' } : null) }, [T0, T1]);
    const config = testConfig(s.url, tempDir(), {
      conversations: new Map([
        ['c0', T0],
        ['c1', T1],
      ]),
      maxWaitMs: 900_000,
      concurrency: 1,
    });
    const rows = [message('c0', 'm1', 1), message('c0', 'm2', 2), message('c1', 'n1', 1)];
    const report = await runMigration(iterate(rows), config, { ...testDeps(), clock });
    expect(s.requests).toHaveLength(1);
    expect(report.stoppedCode).toBe('MIGRATE_INCOMPLETE');
    expect(report.stopped).toMatch(/^Dashly asked to wait 34 days 17 h \(Retry-After\) before the next request, longer than --max-wait 15 min/);
    expect(report.messages).toMatchObject({ sent: 0, pending: 3 });
    expect(clock.sleeps.every((ms) => ms <= 900_000)).toBe(true);
    limited = false;
    const resumed = await runMigration(iterate(rows), config, { ...testDeps(), clock });
    expect(resumed.messages).toMatchObject({ sent: 3, pending: 0 });
    expectExactlyOnce(s, config.statePath!, [T0, T1]);
  });

  it('chatport migrate with the real clock: exit 75 and one line saying how long Dashly asked to wait, not 289 requests', async () => {
    const s = await serve({ fault: () => ({ kind: 'status', status: 429, retryAfter: '3000000' }) }, [T0]);
    const dir = tempDir();
    writeFileSync(join(dir, 'map.csv'), `source_id,target_id\nc0,${T0}\n`);
    const err: string[] = [];
    const started = Date.now();
    const code = await migrateCommand(
      { from: 'expertflow', input: [], apiUrl: s.url, tokenEnv: 'T', mapConversations: join(dir, 'map.csv'), state: join(dir, 's.jsonl'), rps: 5 },
      {
        env: { T: TOKEN },
        rows: () => iterate([message('c0', 'm1', 1), message('c0', 'm2', 2)]),
        stdout: () => {},
        stderr: (t) => void err.push(t),
        isTTY: false,
        signal: new AbortController().signal,
      },
    );
    expect(code).toBe(75);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(s.requests).toHaveLength(1);
    expect(err.join('')).toMatch(/chatport: MIGRATE_INCOMPLETE: Dashly asked to wait 34 days 17 h \(Retry-After\)/);
  });

  it('the real clock never wakes early, even past the 2^31 ms timer limit', async () => {
    const abort = new AbortController();
    let woke = false;
    const sleeping = systemClock.sleep(2 ** 31 + 10_000, abort.signal).then(() => (woke = true));
    sleeping.catch(() => {});
    await new Promise((r) => setTimeout(r, 300));
    expect(woke).toBe(false);
    abort.abort(new Error('done'));
    await expect(sleeping).rejects.toThrow('done');
    // and a short sleep lasts at least as long as asked
    const t = performance.now();
    await systemClock.sleep(30);
    expect(performance.now() - t).toBeGreaterThanOrEqual(30);
  });
});
