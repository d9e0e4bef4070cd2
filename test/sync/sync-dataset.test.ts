// chatport sync --dataset against the Dashly and OnceHub test servers, in this process: the rows go through the
// dataset merge of export --dataset; the cursors are stored in the dataset's current version (state/), in UTC, and
// only with the data they cover; the next run reads back to the stored cursor minus the lookback (and --since then
// does nothing); --full-refresh reads everything and removes what the API no longer returns; a parts_count
// shortfall fails the run with the dataset and its cursor unchanged.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChatportError } from '../../src/errors.js';
import { filesContaining, readTable } from '../datasets/dataset-helpers.js';
import { DashlyApiServer } from './dashly-api-server.js';
import { ExpertflowApiServer } from './expertflow-api-server.js';
import { OnceHubApiServer } from './oncehub-api-server.js';
import { syncDataset, tempDir } from './sync-helpers.js';

const TOKEN = 'dash-9XkQ2mVr7TpL4wZs';
const SECRET = 'removed words 5c1e77';
const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const T0 = 1_800_000_000;

async function dashly(): Promise<DashlyApiServer> {
  const s = await new DashlyApiServer(TOKEN, '4242').start();
  servers.push(s);
  // 60 conversations, one every 10 minutes: the lookback (1 h) spans 6 of them
  for (let i = 0; i < 60; i++) s.add(1 + (i % 4), `${T0 + i * 600}.250000`);
  return s;
}

const night = (s: DashlyApiServer, dataset: string, extra: Record<string, unknown> = {}) =>
  syncDataset({ vendor: 'dashly', apiUrl: s.url, token: TOKEN, params: { app_id: '4242' }, dataset, ...extra });

async function messages(dataset: string): Promise<{ message_id: string; text: string | null; redacted: boolean }[]> {
  return (await readTable(dataset, 'messages', 'jsonl', 'message_id, text, redacted')) as never;
}

/** What the server has now, as the dataset should hold it: one row per part, removed parts redacted. */
function expected(s: DashlyApiServer) {
  return s.conversations
    .flatMap((c) => c.parts.map((p) => ({ message_id: p.id, text: p.removed ? null : p.body, redacted: Boolean(p.removed) })))
    .sort((a, b) => (a.message_id < b.message_id ? -1 : 1));
}

async function stateFiles(dataset: string): Promise<Record<string, unknown>[]> {
  const dir = path.join(dataset, '_chatport', 'current', 'state');
  return Promise.all((await readdir(dir)).map(async (f) => JSON.parse(await readFile(path.join(dir, f), 'utf8')) as Record<string, unknown>));
}

const iso = (unix: number) => new Date(unix * 1000).toISOString();

describe('sync --dataset (Dashly)', () => {
  it('nights: new conversations, new and edited parts, a removal; cursor stored with the data; lookback; --since ignored', async () => {
    const s = await dashly();
    const dataset = path.join(await tempDir(), 'warehouse');
    const n1 = await night(s, dataset, { since: (T0 + 10 * 600) * 1000 });
    // a first run: --since bounds it (conversations 10..59, and the rest of the page that reached past it)
    expect(n1.source.cursors).toEqual([
      { stream: 'conversations', field: 'last_update', before: null, read_to: iso(T0 + 6000), after: iso(T0 + 59 * 600 + 0.25) },
    ]);
    expect(n1.dataset!.version).toBe(1);
    expect(await stateFiles(dataset)).toEqual([
      {
        chatport_sync_state: 1,
        vendor: 'dashly',
        stream: 'conversations',
        params: { app_id: '4242' },
        field: 'last_update',
        cursor: iso(T0 + 59 * 600 + 0.25),
        lookback_seconds: 3600,
      },
    ]);

    // night 2: a new conversation, a new part and an edit in old ones (their last_update moves), a GDPR removal
    const fresh = s.add(3, `${T0 + 70 * 600}.000000`);
    const grown = s.conversations[20]!;
    s.addPart(grown, 'a new part');
    grown.last_update = `${T0 + 71 * 600}.000000`;
    const edited = s.conversations[30]!;
    edited.parts[0]!.body = 'edited text';
    edited.last_update = `${T0 + 72 * 600}.000000`;
    const removedIn = s.conversations[58]!;
    removedIn.parts[0]!.body = SECRET;
    s.requests.length = 0;
    const n1b = await night(s, dataset); // picks up the secret (conversation 58 is inside the lookback)
    expect(n1b.source.cursors[0]).toMatchObject({ before: iso(T0 + 59 * 600 + 0.25), read_to: iso(T0 + 59 * 600 + 0.25 - 3600) });
    removedIn.parts[0]!.removed = String(T0 + 73 * 600);
    removedIn.last_update = `${T0 + 73 * 600}.000000`;
    s.requests.length = 0;
    const n2 = await night(s, dataset, { since: 0 });
    // the cursor after the run before: the edited conversation's last_update
    const before = iso(T0 + 72 * 600);
    expect(n2.source.cursors).toEqual([
      { stream: 'conversations', field: 'last_update', before, read_to: iso(T0 + 72 * 600 - 3600), after: iso(T0 + 73 * 600) },
    ]);
    // only conversations updated since the cursor minus the lookback had their parts read (--since 0 did nothing)
    const read = s.to(/\/parts$/).map((r) => r.path.split('/')[2]);
    const within = s.conversations.filter((c) => Number(c.last_update) >= T0 + 72 * 600 - 3600).map((c) => c.id);
    expect(read.sort()).toEqual(within.sort());
    expect(read).toContain(fresh.id);
    // the dataset: one row per part the server has conversations 10.. of, the removed one redacted, the secret gone
    const want = expected({ conversations: s.conversations.slice(10) } as DashlyApiServer);
    expect(await messages(dataset)).toEqual(want);
    expect(await filesContaining(dataset, SECRET)).toEqual([]);
    expect((await stateFiles(dataset))[0]).toMatchObject({ cursor: iso(T0 + 73 * 600) });
  });

  it('--full-refresh reads everything, removes parts the API no longer returns, counts them, keeps the cursor moving', async () => {
    const s = await dashly();
    const dataset = path.join(await tempDir(), 'warehouse');
    await night(s, dataset);
    // deleted at the vendor without moving last_update: an incremental run cannot see it
    const gone = s.conversations[5]!.parts.pop()!;
    s.conversations[6]!.parts[0]!.body = SECRET;
    await night(s, dataset);
    expect((await messages(dataset)).map((m) => m.message_id)).toContain(gone.id);
    s.conversations[6]!.parts[0]!.removed = String(T0);
    const wholeConversation = s.conversations.splice(7, 1)[0]!;
    const full = await night(s, dataset, { fullRefresh: true });
    expect(full.source.cursors[0]).toMatchObject({ read_to: null, before: iso(T0 + 59 * 600 + 0.25), after: iso(T0 + 59 * 600 + 0.25) });
    expect(await messages(dataset)).toEqual(expected(s));
    expect(await filesContaining(dataset, SECRET)).toEqual([]);
    expect(await filesContaining(dataset, gone.body)).toEqual([]);
    expect(full.dataset!.tables.messages).toMatchObject({ absent: 1 + wholeConversation.parts.length, erased: 1 });
    const convs = await readTable(dataset, 'conversations', 'jsonl', 'conversation_id');
    expect(convs.map((c) => c.conversation_id)).not.toContain(wholeConversation.id);
    expect(convs).toHaveLength(59);
    const manifest = JSON.parse(
      await readFile(path.join(dataset, '_chatport', 'current', 'manifests', `${String(full.dataset!.version).padStart(8, '0')}.json`), 'utf8'),
    ) as { command: string; tables: { messages: { absent: number } } };
    expect(manifest).toMatchObject({ command: 'sync --full-refresh', tables: { messages: { absent: 1 + wholeConversation.parts.length } } });
  });

  it('a parts_count shortfall fails the run (SYNC_INCOMPLETE, naming the conversation): dataset and cursor unchanged', async () => {
    const s = await dashly();
    const dataset = path.join(await tempDir(), 'warehouse');
    await night(s, dataset);
    const state1 = await stateFiles(dataset);
    const short = s.add(2, `${T0 + 80 * 600}.000000`);
    short.reportedCount = 5;
    const e = await night(s, dataset).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(ChatportError);
    expect((e as ChatportError).code).toBe('SYNC_INCOMPLETE');
    expect((e as ChatportError).message).toContain(`${short.id}: 2 of 5`);
    expect(await stateFiles(dataset)).toEqual(state1);
    expect(await readdir(path.join(dataset, '_chatport', 'versions'))).toEqual(['00000001']);
    // the API fixed: the next run reads it
    short.reportedCount = undefined;
    await night(s, dataset);
    expect(await messages(dataset)).toEqual(expected(s));
  });

  it('two apps in one dataset keep two cursors', async () => {
    const a = await dashly();
    const b = await new DashlyApiServer(TOKEN, '777').start();
    servers.push(b);
    for (let i = 0; i < 1000; i++) b.newId(); // ids apart from the first app's (both servers count from the same base)
    b.add(2, `${T0 + 99 * 600}.000000`);
    const dataset = path.join(await tempDir(), 'warehouse');
    await night(a, dataset);
    await syncDataset({ vendor: 'dashly', apiUrl: b.url, token: TOKEN, params: { app_id: '777' }, dataset });
    const states = (await stateFiles(dataset)).map((x) => [x.params, x.cursor]);
    expect(states).toHaveLength(2);
    expect(states).toContainEqual([{ app_id: '4242' }, iso(T0 + 59 * 600 + 0.25)]);
    expect(states).toContainEqual([{ app_id: '777' }, iso(T0 + 99 * 600)]);
    // a full refresh of one app would remove the other's rows: refused before any request
    b.requests.length = 0;
    const e = await syncDataset({ vendor: 'dashly', apiUrl: b.url, token: TOKEN, params: { app_id: '777' }, dataset, fullRefresh: true }).then(
      () => null,
      (x: unknown) => x,
    );
    expect((e as ChatportError).message).toContain('the dataset is also synced from dashly with --param app_id=4242; --full-refresh would remove those rows');
    expect(b.requests).toHaveLength(0);
    expect((await messages(dataset)).length).toBe(expected(a).length + 2);
  });
});

describe('sync --dataset (OnceHub)', () => {
  it('a second night reads back to the cursor minus the lookback: new conversations only, one row each', async () => {
    const s = await new OnceHubApiServer('key-1234567890').start();
    servers.push(s);
    for (let m = 0; m < 250; m++) s.add(m * 10);
    const dataset = path.join(await tempDir(), 'warehouse');
    const run = () => syncDataset({ vendor: 'oncehub', apiUrl: `${s.url}/v2`, token: 'key-1234567890', dataset });
    await run();
    for (let m = 250; m < 260; m++) s.add(m * 10);
    s.requests.length = 0;
    const n2 = await run();
    // 260 conversations, newest first, 100 a page: the first page reaches past the cursor minus 1 h
    expect(s.requests).toHaveLength(1);
    expect(n2.source.cursors[0]).toMatchObject({ before: '2026-11-02T17:30:00.000Z', read_to: '2026-11-02T16:30:00.000Z', after: '2026-11-02T19:10:00.000Z' });
    const rows = await readTable(dataset, 'conversations', 'jsonl', 'conversation_id');
    expect(rows.map((r) => r.conversation_id)).toEqual(s.conversations.map((c) => c.id).sort());
  });
});

describe('sync --dataset (Expertflow day windows)', () => {
  const TOKEN_EF = 'ef-bearer-7Hq2Lw9xZ0';
  const DAY = 86_400_000;
  const day = (offset: number) => new Date(Math.floor(Date.now() / DAY) * DAY + offset * DAY).toISOString().slice(0, 10);

  it('walks one window per UTC day from --since, then from the stored cursor minus lookback_days, to today', async () => {
    const s = await new ExpertflowApiServer(TOKEN_EF).start();
    servers.push(s);
    s.conversations.set('ref-old', { day: day(-9), messages: 3 });
    s.conversations.set('ref-a', { day: day(-5), messages: 120 });
    s.conversations.set('ref-b', { day: day(-1), messages: 2 });
    const dataset = path.join(await tempDir(), 'warehouse');
    const run = (extra: Record<string, unknown> = {}) =>
      syncDataset({ vendor: 'expertflow', apiUrl: s.url, token: TOKEN_EF, dataset, concurrency: 2, ...extra });
    const windows = () => s.to('/conversations/getAllConversations').map((r) => `${r.query.get('start_time')}..${r.query.get('end_time')}`);
    const n1 = await run({ since: Date.parse(`${day(-6)}T12:00:00Z`) });
    expect(windows()).toEqual([-6, -5, -4, -3, -2, -1, 0].map((d) => `${day(d)}..${day(d)}`));
    expect(n1.source.cursors).toEqual([
      { stream: 'conversations', field: 'window', before: null, read_to: `${day(-6)}T12:00:00.000Z`, after: `${day(0)}T00:00:00.000Z` },
    ]);
    const ids = async () => (await readTable(dataset, 'messages', 'jsonl', 'message_id')).map((r) => r.message_id as string);
    expect(await ids()).toHaveLength(122);

    // the next night: a conversation of yesterday goes on, one begins today; ref-a (5 days back) is not read again
    s.conversations.set('ref-b', { day: day(-1), messages: 7 });
    s.conversations.set('ref-c', { day: day(0), messages: 4 });
    s.requests.length = 0;
    const n2 = await run({ since: Date.parse(`${day(-9)}T00:00:00Z`) });
    expect(windows()).toEqual([-2, -1, 0].map((d) => `${day(d)}..${day(d)}`));
    expect(n2.source.cursors[0]).toMatchObject({ before: `${day(0)}T00:00:00.000Z`, read_to: `${day(-2)}T00:00:00.000Z` });
    expect(s.to('/legacy/api/getMessagesByRefId').map((r) => r.query.get('refId'))).not.toContain('ref-a');
    expect(await ids()).toHaveLength(120 + 7 + 4);
    expect(await stateFiles(dataset)).toEqual([
      expect.objectContaining({ vendor: 'expertflow', stream: 'conversations', field: 'window', cursor: `${day(0)}T00:00:00.000Z`, lookback_seconds: 172800 }),
    ]);
  });
});

describe('sync --dataset with a forget list', () => {
  it("keeps a forgotten customer's content out of the run and, remembered by the dataset, out of the next night", async () => {
    const s = await new DashlyApiServer(TOKEN, '4242').start();
    servers.push(s);
    const theirs = s.add(3, `${T0}.000000`);
    const other = s.add(2, `${T0 + 600}.000000`);
    for (const p of other.parts) p.from = '88';
    for (const p of theirs.parts) p.body = `mine ${p.id} private words`;
    const dataset = path.join(await tempDir(), 'warehouse');
    await night(s, dataset, { forget: { ids: ['77'], emails: [] } });
    const after1 = await messages(dataset);
    expect(after1.filter((m) => m.text !== null).map((m) => m.message_id)).toEqual(other.parts.map((p) => p.id).sort());
    expect(await filesContaining(dataset, 'private words')).toEqual([]);
    // positive control: the other customer's text is there
    expect(await filesContaining(dataset, `part 0 of ${other.id}`)).not.toEqual([]);

    // night 2, no forget list given: their new part stays out because the dataset remembers them
    s.addPart(theirs, 'mine again, private words');
    theirs.last_update = `${T0 + 1200}.000000`;
    await night(s, dataset);
    expect(await filesContaining(dataset, 'private words')).toEqual([]);
    expect((await messages(dataset)).filter((m) => m.text !== null)).toHaveLength(2);
  });
});
