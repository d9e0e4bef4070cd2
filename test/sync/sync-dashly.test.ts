// chatport sync against a Dashly test server on 127.0.0.1 (dashly-api-server.ts): every part read exactly once
// across page boundaries of both the conversation list and the parts lists, ids past 2^53 and microsecond
// positions exact, faults retried into the same output bytes as a clean run, the rate held through a 429 storm,
// permanent errors at once, no redirect followed, parts_count shortfalls named, --since, --max-requests,
// --concurrency, and output independent of timing.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChatportError } from '../../src/errors.js';
import { DashlyApiServer, error } from './dashly-api-server.js';
import { RecordingServer, type Fault } from './fault-server.js';
import { files, lines, messageIds, sync, tempDir } from './sync-helpers.js';

const TOKEN = 'dash-9XkQ2mVr7TpL4wZs';
const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** Part counts around the page size (50): empty, one, one short, exactly one page, one over, two pages, two and one. */
const PART_COUNTS = [0, 1, 49, 50, 51, 100, 101, 3];

async function dashly(conversations = 57, options: { ignoreIdAsString?: boolean } = {}): Promise<DashlyApiServer> {
  const s = await new DashlyApiServer(TOKEN, '4242', options).start();
  servers.push(s);
  // 57 conversations: a full list page of 50 and a short one; microsecond last_update values, some equal (ties broken by id)
  for (let i = 0; i < conversations; i++)
    s.add(PART_COUNTS[i % PART_COUNTS.length]!, `1700000${String(100 + (i >> 1)).padStart(3, '0')}.${String((i * 7919) % 1000000).padStart(6, '0')}`);
  return s;
}

const run = (s: { url: string }, extra: Record<string, unknown> = {}) =>
  sync({ vendor: 'dashly', apiUrl: s.url, token: TOKEN, params: { app_id: '4242' }, ...extra });

function allPartIds(s: DashlyApiServer): string[] {
  return s.conversations.flatMap((c) => c.parts.map((p) => p.id)).sort();
}

async function failure(p: Promise<unknown>): Promise<ChatportError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ChatportError);
  return e as ChatportError;
}

describe('sync --from dashly', () => {
  it('reads every part exactly once across page boundaries, ids and positions exact', async () => {
    const s = await dashly();
    const { outDir, stats, source } = await run(s);
    const ids = await messageIds(outDir);
    expect(ids.length).toBe(new Set(ids).size);
    expect([...ids].sort()).toEqual(allPartIds(s));
    // one request per page, none repeated: list pages 2 (50 + 7), parts pages ceil((n+1)/50) each
    const listRequests = s.to('/apps/4242/conversations');
    expect(listRequests).toHaveLength(2);
    const partPages = s.conversations.reduce((n, c) => n + Math.floor(c.parts.length / 50) + 1, 0);
    expect(s.to(/\/parts$/)).toHaveLength(partPages);
    const asked = s.to(/\/parts$/).map((r) => `${r.path}?${r.query.get('paginate_position')}`);
    expect(new Set(asked).size).toBe(asked.length);
    // every request asked for ids as strings and sent the token as the mapping declares
    for (const r of s.requests) {
      expect(r.query.get('id_as_string')).toBe('true');
      expect(r.headers.authorization).toBe(`Token ${TOKEN}`);
    }
    expect(source.counters).toMatchObject({ requests: 2 + partPages, retries: 0, pages: 2 + partPages });
    expect(stats.inputs.map((i) => i.name)).toEqual(['GET /conversations/{parent.id}/parts']);
    expect(source.parents.get('parts')).toBe(57);
    // the parts' conversation ids, past 2^53, survive as written
    const conv = new Set((await lines(outDir, 'messages')).map((l) => /"conversation_id":"(\d+)"/.exec(l)![1]));
    expect([...conv].sort()).toEqual(
      s.conversations
        .filter((c) => c.parts.length)
        .map((c) => c.id)
        .sort(),
    );
  });

  it('reads ids sent as bare numbers (past 2^53) exactly too', async () => {
    const s = await dashly(10, { ignoreIdAsString: true });
    const { outDir } = await run(s);
    expect((await messageIds(outDir)).sort()).toEqual(allPartIds(s));
  });

  it('gives the same bytes whatever faults the server injects (429 with and without Retry-After, 5xx, resets, cut bodies, 200 error envelopes, timeouts)', async () => {
    const clean = await dashly();
    const reference = await run(clean);
    const faults: Fault[] = [
      { kind: 'status', status: 429, retryAfter: '0', body: JSON.stringify({ meta: { status: 429, error: 'TooManyRequests' }, data: {} }) },
      { kind: 'status', status: 429 },
      { kind: 'status', status: 503, body: '<html>Service Unavailable</html>' },
      { kind: 'status', status: 500 },
      { kind: 'reset' },
      { kind: 'truncate' },
      { kind: 'cut-json' },
      { kind: 'raw200', body: JSON.stringify({ meta: { status: 500, error: 'InternalError', error_message: 'try later' }, data: {} }) },
      { kind: 'raw200', body: JSON.stringify({ meta: { status: 429, error: 'TooManyRequests' }, data: {} }) },
      { kind: 'raw200', body: '<html>gateway</html>' },
      { kind: 'hang' },
    ];
    const faulty = await dashly();
    // the first try of every third request fails, cycling through the faults; the retry succeeds
    let i = 0;
    faulty.fault = ({ n }) => (n === 0 && i++ % 3 === 0 ? faults[((i / 3) % faults.length) | 0]! : null);
    const result = await run(faulty, { timeoutMs: 300 });
    expect(result.source.counters.retries).toBeGreaterThanOrEqual(faults.length);
    expect(result.source.counters.rateLimited).toBeGreaterThan(0);
    for (const table of ['messages', 'conversations']) expect(await lines(result.outDir, table)).toEqual(await lines(reference.outDir, table));
    const seen = new Set(faulty.requests.map((r) => String(r.status)));
    for (const kind of ['429', '503', '500', 'reset', 'truncated', 'hung']) expect(seen).toContain(kind);
  });

  it('never starts more requests than --rps, through a 429 storm with and without Retry-After', async () => {
    const s = await dashly(12);
    const rps = 20;
    // the first 30 requests are refused, half of them without Retry-After
    s.fault = ({ total }) => (total < 30 ? { kind: 'status', status: 429, ...(total % 2 ? { retryAfter: '0' } : {}) } : null);
    const { outDir, source } = await run(s, { rps, concurrency: 8, retry: { attempts: 40, baseMs: 1, maxMs: 5 } });
    expect((await messageIds(outDir)).sort()).toEqual(allPartIds(s));
    expect(source.counters.rateLimited).toBe(30);
    const at = s.requests.map((r) => r.at);
    // starts are spaced by 1/rps on the client; arrivals may bunch by a few ms of scheduling
    for (let k = 0; k + rps < at.length; k++) expect(at[k + rps]! - at[k]!).toBeGreaterThan(1000 - 60);
  });

  it('stops at once on 401 and 403, with one line that names the status and never the token', async () => {
    for (const status of [401, 403]) {
      const s = await dashly(5);
      const name = status === 401 ? 'NotAuthenticated' : 'PermissionDeniedError';
      s.fault = () => ({ kind: 'status', status, body: error(status, name, `bad token ${TOKEN}`).body });
      const e = await failure(run(s));
      expect(e.code).toBe('SYNC_AUTH');
      expect(e.message).toContain(`HTTP ${status}`);
      expect(e.message).not.toContain(TOKEN);
      expect(e.message).not.toContain('\n');
      expect(s.requests).toHaveLength(1);
    }
  });

  it('an error envelope with a 4xx inside an HTTP 200 stops the run (SYNC_API_ERROR), the token masked', async () => {
    const s = await dashly(3);
    s.fault = () => ({
      kind: 'raw200',
      body: JSON.stringify({ meta: { status: 400, error: 'BadRequest', error_message: `token ${TOKEN} lacks app` }, data: {} }),
    });
    const out = await tempDir();
    const e = await failure(run(s, { outDir: out }));
    expect(e.code).toBe('SYNC_API_ERROR');
    expect(e.message).toContain('meta.status 400');
    expect(e.message).toContain('BadRequest');
    expect(e.message).not.toContain(TOKEN);
    expect(await files(out)).toEqual([]);
  });

  it('follows no redirect: a 302 to another host stops the run and that host sees no request', async () => {
    const other = await new RecordingServer().start();
    servers.push(other);
    const s = await dashly(3);
    s.fault = ({ path }) => (path.endsWith('/parts') ? { kind: 'redirect', status: 302, location: `${other.url}/steal?x=1` } : null);
    const e = await failure(run(s));
    expect(e.code).toBe('SYNC_REDIRECT');
    expect(e.message).toContain(other.url);
    expect(e.message).not.toContain('steal');
    expect(other.requests).toHaveLength(0);
  });

  it('fails naming the conversations whose parts fall short of parts_count, and writes nothing', async () => {
    const s = await dashly(8);
    s.conversations[2]!.reportedCount = 52;
    s.conversations[6]!.reportedCount = 101; // has 101: not short
    const out = await tempDir();
    const e = await failure(run(s, { outDir: out }));
    expect(e.code).toBe('SYNC_INCOMPLETE');
    expect(e.message).toContain(`${s.conversations[2]!.id}: 49 of 52`);
    expect(e.message).not.toContain(s.conversations[6]!.id);
    expect(await files(out)).toEqual([]);
  });

  it('--since reads the newest-first list only back to the bound, and reports the cursor in UTC', async () => {
    const s = await dashly(0);
    const newest: string[] = [];
    for (let i = 0; i < 120; i++) {
      const c = s.add(1, String(1800000000 - i * 60));
      if (i < 70) newest.push(c.parts[0]!.id);
    }
    // conversations 0..69 are at or after the bound
    const since = (1800000000 - 69 * 60) * 1000;
    const { outDir, source } = await run(s, { since });
    expect((await messageIds(outDir)).sort()).toEqual(newest.sort());
    // the walk stopped on the page that reached the bound: 2 list pages of 50, not 3
    expect(s.to('/apps/4242/conversations')).toHaveLength(2);
    expect(source.cursors).toEqual([
      {
        stream: 'conversations',
        field: 'last_update',
        before: null,
        read_to: new Date(since).toISOString(),
        after: new Date(1800000000 * 1000).toISOString(),
      },
    ]);
  });

  it('--max-requests stops the run (SYNC_GAVE_UP) without writing', async () => {
    const s = await dashly(20);
    const out = await tempDir();
    const e = await failure(run(s, { outDir: out, maxRequests: 10 }));
    expect(e.code).toBe('SYNC_GAVE_UP');
    expect(e.message).toContain('--max-requests 10');
    expect(s.requests.length).toBeLessThanOrEqual(10);
    expect(await files(out)).toEqual([]);
  });

  it('keeps at most --concurrency requests in flight, and the output does not depend on timing', async () => {
    const one = await dashly(40);
    const reference = await run(one, { concurrency: 1 });
    const many = await dashly(40);
    // every fifth request fails once, so sub-streams finish out of their parents' order; answers take 20 ms
    many.latencyMs = 20;
    let k = 0;
    many.fault = ({ n }) => (n === 0 && ++k % 5 === 0 ? { kind: 'status', status: 502 } : null);
    const result = await run(many, { concurrency: 6 });
    expect(many.maxInFlight).toBeLessThanOrEqual(6);
    expect(many.maxInFlight).toBeGreaterThan(1);
    expect(await lines(result.outDir, 'messages')).toEqual(await lines(reference.outDir, 'messages'));
  });

  it('gives up after the retries with one line naming the request and the last answer', async () => {
    const s = await dashly(2);
    s.fault = ({ path }) => (path.endsWith('/parts') ? { kind: 'status', status: 503, body: `{"message":"down, key ${TOKEN}"}` } : null);
    const e = await failure(run(s, { retry: { attempts: 3, baseMs: 1, maxMs: 2 } }));
    expect(e.code).toBe('SYNC_GAVE_UP');
    expect(e.message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/conversations\/\d+\/parts\?.*: no usable answer after 3 tries \(last: HTTP 503/);
    expect(e.message).not.toContain(TOKEN);
  });
});

describe('sync and the engine', () => {
  it('a removed copy of a part that comes after its first copy redoes the run from the spooled pages, not from the API', async () => {
    const s = await dashly(0);
    const c = s.add(51, '1700000500.5');
    const first = c.parts[50]!; // the newest: on the first parts page
    // the second parts page (one part) is answered with a removed copy of that part instead
    s.fault = ({ path, query }) =>
      path.endsWith('/parts') && query.get('paginate_position') !== null
        ? {
            kind: 'raw200',
            body: `{"meta":{"status":200,"next_before_position":null},"data":[{"id":"${first.id}","created":${first.created},"conversation":"${c.id}","body":"secret words","type":"reply_user","from":"77","removed":1700000999}]}`,
          }
        : null;
    // (a second copy of a key is a duplicate: with --on-error skip it goes to the rejects, its text withheld)
    const { outDir, stats } = await run(s, { onError: 'skip' });
    expect(stats.lateRemovals).toBe(1);
    // each page was asked for once: the second attempt read the pages kept in the run's folder
    expect(s.requests).toHaveLength(3);
    const rows = (await lines(outDir, 'messages')).filter((l) => l.includes(`"message_id":"${first.id}"`));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain('"redacted":true');
    expect(rows[0]).not.toContain(first.body);
    for (const f of await files(outDir)) expect(await readFile(path.join(outDir, f), 'utf8')).not.toContain('secret words');
    expect(await files(outDir)).toContain('rejects.jsonl');
  });
});

describe('sync stops cleanly', () => {
  it('a bad record fails the run with its position (the request and its index), and no request starts after that', async () => {
    const s = await dashly(0);
    for (let i = 0; i < 12; i++) s.add(120, String(1700000000 + i));
    s.latencyMs = 40;
    const newest = s.conversations.at(-1)!;
    s.fault = ({ path, n }) =>
      path === `/conversations/${newest.id}/parts` && n === 0
        ? {
            kind: 'raw200',
            body: `{"meta":{"status":200,"next_before_position":null},"data":[{"id":"1","conversation":"${newest.id}","type":"reply_user","created":1},{"conversation":"${newest.id}","type":"reply_user","created":2}]}`,
          }
        : null;
    const e = await failure(run(s, { concurrency: 4 }));
    expect(e.code).toBe('MAP_MISSING_FIELD');
    expect(e.position.file).toMatch(new RegExp(`^GET http://127\\.0\\.0\\.1:\\d+/conversations/${newest.id}/parts\\?id_as_string=true&`));
    expect(e.position.recordIndex).toBe(1);
    const seen = s.requests.length;
    await new Promise((r) => setTimeout(r, 400));
    expect(s.requests.length).toBe(seen);
  });
});
