// chatport sync against OnceHub's and Expertflow's test servers on 127.0.0.1: OnceHub's Link rel="next" paging
// (limit/after) across page boundaries, a Link to another origin refused before the key could follow it, 403 (a
// plan without API access) and rate_limit_error; Expertflow's page-number paging with metaData.totalMessages at
// and around the page size, the conversations of a day window listed first.
import { afterEach, describe, expect, it } from 'vitest';
import { ChatportError } from '../../src/errors.js';
import { nextLink } from '../../src/sources/http/paginators.js';
import { ExpertflowApiServer } from './expertflow-api-server.js';
import { RecordingServer } from './fault-server.js';
import { OnceHubApiServer } from './oncehub-api-server.js';
import { files, lines, messageIds, sync, tempDir } from './sync-helpers.js';

const KEY = 'ONCEHUB-KEY-a81f44c2d9';
const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function oncehub(n: number): Promise<OnceHubApiServer> {
  const s = await new OnceHubApiServer(KEY).start();
  servers.push(s);
  for (let i = 0; i < n; i++) s.add(i);
  return s;
}

const runOnceHub = (s: { url: string }, extra: Record<string, unknown> = {}) => sync({ vendor: 'oncehub', apiUrl: `${s.url}/v2`, token: KEY, ...extra });

async function conversationIds(outDir: string): Promise<string[]> {
  return (await lines(outDir, 'conversations')).map((l) => /"conversation_id":"([^"]+)"/.exec(l)![1]!);
}

async function failure(p: Promise<unknown>): Promise<ChatportError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ChatportError);
  return e as ChatportError;
}

describe('sync --from oncehub', () => {
  for (const n of [0, 1, 99, 100, 101, 250]) {
    it(`reads ${n} conversations exactly once through Link rel="next" pages of 100`, async () => {
      const s = await oncehub(n);
      const { outDir, source } = await runOnceHub(s);
      const ids = await conversationIds(outDir);
      expect(ids).toEqual(s.conversations.map((c) => c.id));
      const pages = Math.max(1, Math.ceil(n / 100));
      expect(s.requests).toHaveLength(pages);
      expect(s.requests.map((r) => r.query.get('after'))).toEqual([null, ...s.conversations.filter((_, i) => i % 100 === 99 && i < n - 1).map((c) => c.id)]);
      for (const r of s.requests) expect(r.headers['api-key']).toBe(KEY);
      expect(source.counters.pages).toBe(pages);
    });
  }

  it('refuses a next link on another origin before sending anything there', async () => {
    const other = await new RecordingServer().start();
    servers.push(other);
    const s = await oncehub(150);
    s.linkOrigin = other.url;
    const out = await tempDir();
    const e = await failure(runOnceHub(s, { outDir: out }));
    expect(e.code).toBe('SYNC_REDIRECT');
    expect(other.requests).toHaveLength(0);
    expect(await files(out)).toEqual([]);
  });

  it("stops at once on 403 (a plan without API access), with the API's words", async () => {
    const s = await oncehub(3);
    s.planWithoutApi = true;
    const e = await failure(runOnceHub(s));
    expect(e.code).toBe('SYNC_AUTH');
    expect(e.message).toContain('HTTP 403: authentication_error: Your plan does not include API access');
    expect(s.requests).toHaveLength(1);
  });

  it('waits out rate_limit_error answers and reads everything', async () => {
    const s = await oncehub(230);
    s.fault = ({ total }) =>
      total % 2 === 0 && total < 8 ? { kind: 'status', status: 429, retryAfter: '0', body: '{"type":"rate_limit_error","message":"Too many requests"}' } : null;
    const { outDir, source } = await runOnceHub(s);
    expect(await conversationIds(outDir)).toEqual(s.conversations.map((c) => c.id));
    expect(source.counters.rateLimited).toBe(3);
  });

  it('--since stops the walk at the first page that reaches before it', async () => {
    const s = await oncehub(250);
    // minute 120 and newer: the first page (249..150) is all newer, the second (149..50) reaches past it and is
    // written whole; the third is not read
    const { outDir, source } = await runOnceHub(s, { since: Date.UTC(2026, 10, 1) + 120 * 60_000 });
    expect(s.requests).toHaveLength(2);
    expect(await conversationIds(outDir)).toEqual(s.conversations.slice(0, 200).map((c) => c.id));
    expect(source.cursors[0]).toMatchObject({
      stream: 'conversations',
      field: 'last_updated_time',
      before: null,
      read_to: '2026-11-01T02:00:00.000Z',
      after: '2026-11-01T04:09:00.000Z',
    });
  });
});

describe('sync --from expertflow', () => {
  const TOKEN = 'ef-bearer-7Hq2Lw9xZ0';
  const SIZES: [string, number][] = [
    ['ref-empty', 0],
    ['ref-one', 1],
    ['ref-99', 99],
    ['ref-100', 100],
    ['ref-101', 101],
    ['ref-250', 250],
  ];

  it('reads every message once through page-number pages, stopping at metaData.totalMessages', async () => {
    const s = await new ExpertflowApiServer(TOKEN).start();
    servers.push(s);
    for (const [id, n] of SIZES) s.conversations.set(id, { day: '2026-11-02', messages: n });
    s.conversations.set('ref-outside', { day: '2026-10-30', messages: 5 });
    const { outDir } = await sync({ vendor: 'expertflow', apiUrl: s.url, token: TOKEN, since: Date.parse('2026-11-01T00:00:00Z') });
    const ids = await messageIds(outDir);
    const expected = SIZES.flatMap(([id, n]) => Array.from({ length: n }, (_, i) => `${id}-m${i}`));
    expect([...ids].sort()).toEqual([...expected].sort());
    // pages: 1 for 0, 1, 99 and 100 messages (the total says 100 were read), 2 for 101, 3 for 250
    const pages = (ref: string) =>
      s
        .to('/legacy/api/getMessagesByRefId')
        .filter((r) => r.query.get('refId') === ref)
        .map((r) => r.query.get('page'));
    expect(SIZES.map(([id]) => pages(id))).toEqual([['1'], ['1'], ['1'], ['1'], ['1', '2'], ['1', '2', '3']]);
    expect(pages('ref-outside')).toEqual([]);
  });

  it('requires --api-url (every installation has its own), and --since for a first run (the list is by day)', async () => {
    await expect(
      sync({ vendor: 'expertflow', apiUrl: undefined as unknown as string, token: TOKEN, since: Date.parse('2026-11-01T00:00:00Z') }),
    ).rejects.toThrow(/declares no base URL .*--api-url/);
    const s = await new ExpertflowApiServer(TOKEN).start();
    servers.push(s);
    await expect(sync({ vendor: 'expertflow', apiUrl: s.url, token: TOKEN })).rejects.toThrow(
      'the expertflow API lists conversations by day and the dataset has no stored cursor: give --since with the first day to read',
    );
    expect(s.requests).toHaveLength(0);
  });
});

describe('Link headers', () => {
  it('finds rel="next" among other links and parameters', () => {
    expect(nextLink('<https://a/x?after=1>; rel="next"')).toBe('https://a/x?after=1');
    expect(nextLink('<https://a/p>; rel="previous", <https://a/n>; rel="next"')).toBe('https://a/n');
    expect(nextLink('<https://a/n>; title="x"; rel=next')).toBe('https://a/n');
    expect(nextLink('<https://a/n>; rel="prev next"')).toBe('https://a/n');
    expect(nextLink('<https://a/p>; rel="previous"')).toBeNull();
    expect(nextLink(null)).toBeNull();
  });
});
