// Nights of `chatport sync --dataset` through the built CLI against the Dashly and OnceHub test servers (issue 14's
// "Done when"), mirroring test/datasets/kill-nights.test.ts: night 1 syncs; night 2 brings new conversations, new
// parts, an edited part, a part removed at the vendor (GDPR), a conversation spanning both nights, and faults on
// every run (429 storms with and without Retry-After, 5xx, connection resets, HTTP 200 error envelopes). Night 2 is
// killed with SIGKILL at moments spread over its run, and run again: after every kill DuckDB reads night 1's state or
// night 2's, the cursor always the one of the rows it sits with (never ahead of them), and every rerun ends in
// night 2's state: one row per part the server has, the removed text in no byte under DIR, no manual step. Night 3
// (Dashly) is a --full-refresh after a part was deleted at the vendor without moving its conversation.

import { execFileSync, spawn } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { ROOT } from '../helpers/export-helpers.js';
import { filesContaining, readTable } from '../datasets/dataset-helpers.js';
import { DashlyApiServer } from './dashly-api-server.js';
import type { FaultChooser, FaultServer } from './fault-server.js';
import { OnceHubApiServer } from './oncehub-api-server.js';
import { tempDir } from './sync-helpers.js';

const TOKEN = 'night-TOKEN-8e2d5a9c1b7f';
const SECRET = 'the removed words 91b2e4';
const ENV = { CHATPORT_LOCK_LEASE_MS: '2000', NIGHT_TOKEN: TOKEN };
const T0 = 1_790_000_000;

const servers: FaultServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
let dir = '';
afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

/** Faults by the server's request count: short 429 storms (half without Retry-After), 5xx, resets, 200 envelopes. */
const FAULTS: FaultChooser = ({ total }) => {
  const k = total % 37;
  if (k === 3 || k === 4) return { kind: 'status', status: 429, body: '{"meta":{"status":429,"error":"Throttled"}}', ...(k === 3 ? { retryAfter: '1' } : {}) };
  if (k === 11) return { kind: 'status', status: 503, body: '<html>busy</html>' };
  if (k === 19) return { kind: 'reset' };
  if (k === 27) return { kind: 'raw200', body: '{"meta":{"status":500,"error":"InternalError","error_message":"try again"},"data":{}}' };
  if (k === 31) return { kind: 'truncate' };
  return null;
};

function syncNight(args: string[]): Promise<{ code: number | null; signal: string | null; stderr: string; kill: (ms: number) => void }> & {
  kill: (ms: number) => void;
} {
  const p = spawn(process.execPath, [path.join(ROOT, 'dist/cli/bin.js'), 'sync', ...args, '--token-env', 'NIGHT_TOKEN', '--rps', '200', '--quiet'], {
    env: { ...process.env, ...ENV },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  p.stderr.on('data', (d) => (stderr += d));
  const kill = (ms: number) => setTimeout(() => p.kill('SIGKILL'), ms);
  const done = new Promise<{ code: number | null; signal: string | null; stderr: string; kill: typeof kill }>((resolve) =>
    p.on('close', (code, signal) => resolve({ code, signal, stderr, kill })),
  );
  return Object.assign(done, { kill });
}

async function cursors(dataset: string): Promise<unknown[]> {
  const state = path.join(dataset, '_chatport', 'current', 'state');
  const names = await readdir(state).catch(() => []);
  return Promise.all(names.sort().map(async (f) => JSON.parse(await readFile(path.join(state, f), 'utf8')) as unknown));
}

interface Vendor {
  readonly name: string;
  readonly kills: number;
  readonly args: (dataset: string) => string[];
  /** DuckDB's rows and the stored cursors, as one comparable text. */
  readonly state: (dataset: string) => Promise<string>;
  /** What the server has now, in the same form as state's rows. */
  readonly expected: () => unknown;
  readonly rows: (dataset: string) => Promise<unknown>;
}

async function killNights(v: Vendor, server: FaultServer, night2: () => void): Promise<{ dataset: string; seen: { night1: number; night2: number } }> {
  const base = await tempDir();
  dir ||= base;
  const pristine = path.join(base, 'after-night-1');
  server.fault = FAULTS;
  const n1 = await syncNight(v.args(pristine));
  expect(n1.stderr).toBe('');
  expect(n1.code).toBe(0);
  expect(await v.rows(pristine)).toEqual(v.expected());
  const s1 = await v.state(pristine);

  night2();
  const reference = path.join(base, 'reference');
  execFileSync('cp', ['-a', pristine, reference]);
  const t0 = Date.now();
  expect((await syncNight(v.args(reference))).code).toBe(0);
  let runMs = Date.now() - t0;
  const s2 = await v.state(reference);
  expect(s2).not.toBe(s1);
  expect(await v.rows(reference)).toEqual(v.expected());
  expect(await filesContaining(reference, SECRET)).toEqual([]);

  const dataset = path.join(base, 'warehouse');
  const seen = { night1: 0, night2: 0 };
  for (let k = 0; k < v.kills + 8; k++) {
    if (k >= v.kills && seen.night1 > 0 && seen.night2 > 0) break;
    await rm(dataset, { recursive: true, force: true });
    execFileSync('cp', ['-a', pristine, dataset]);
    // spread over the whole run, the later part (merge, commit) a little denser; then aimed at an outcome not seen
    const delay = k < v.kills ? Math.round(runMs * Math.sqrt((k + 0.5) / v.kills) * 1.05) : Math.round(runMs * (seen.night1 === 0 ? 0.3 : 1.2));
    const run = syncNight(v.args(dataset));
    run.kill(delay);
    await run;
    const after = await v.state(dataset);
    // data and cursor move together: night 1's rows with night 1's cursor, or night 2's with night 2's
    expect([s1, s2]).toContain(after);
    if (after === s1) seen.night1++;
    else seen.night2++;
    const r0 = Date.now();
    const rerun = await syncNight(v.args(dataset));
    runMs = Date.now() - r0;
    expect(rerun.stderr).toBe('');
    expect(rerun.code).toBe(0);
    expect(await v.state(dataset)).toBe(s2);
  }
  expect(await filesContaining(dataset, SECRET)).toEqual([]);
  expect(seen.night1).toBeGreaterThan(0);
  expect(seen.night2).toBeGreaterThan(0);
  return { dataset, seen };
}

it('Dashly: nights with changes, faults and kill -9 in night 2, then a --full-refresh night', { timeout: 900_000 }, async () => {
  const s = await new DashlyApiServer(TOKEN, '4242').start();
  servers.push(s);
  for (let i = 0; i < 120; i++) s.add(1 + (i % 7), `${T0 + i * 600}.${String(i * 4099).padStart(6, '0')}`);
  // a night-1 part whose text is removed at the vendor in night 2
  const victim = s.conversations[117]!;
  victim.parts[0]!.body = SECRET;
  const messages = async (dataset: string) =>
    (await readTable(dataset, 'messages', 'parquet', "message_id, text, redacted, filename NOT LIKE '%.chatport-tmp%' AS clean")).map((r) => {
      expect(r.clean).toBe(true);
      return { message_id: r.message_id, text: r.text, redacted: r.redacted };
    });
  const expected = () =>
    s.conversations
      .flatMap((c) => c.parts.map((p) => ({ message_id: p.id, text: p.removed ? null : p.body, redacted: Boolean(p.removed) })))
      .sort((a, b) => (a.message_id < b.message_id ? -1 : 1));
  const v: Vendor = {
    name: 'dashly',
    kills: 14,
    args: (dataset) => ['--from', 'dashly', '--param', 'app_id=4242', '--api-url', s.url, '--dataset', dataset, '--format', 'parquet', '--concurrency', '4'],
    rows: messages,
    expected,
    state: async (dataset) =>
      JSON.stringify({
        messages: await messages(dataset),
        conversations: await readTable(dataset, 'conversations', 'parquet', 'conversation_id, message_count'),
        cursors: await cursors(dataset),
      }),
  };
  const { dataset } = await killNights(v, s, () => {
    // new conversations
    for (let i = 0; i < 6; i++) s.add(2 + i, `${T0 + (130 + i) * 600}.000000`);
    // a conversation spanning both nights: new parts in an old conversation
    const spanning = s.conversations[40]!;
    for (let i = 0; i < 3; i++) s.addPart(spanning, `night two reply ${i}`);
    spanning.last_update = `${T0 + 140 * 600}.000000`;
    // an edited part
    const edited = s.conversations[60]!;
    edited.parts[0]!.body = 'edited in night two';
    edited.last_update = `${T0 + 141 * 600}.000000`;
    // removed at the vendor (GDPR)
    victim.parts[0]!.removed = String(T0 + 142 * 600);
    victim.last_update = `${T0 + 142 * 600}.000000`;
  });
  expect((await cursors(dataset))[0]).toMatchObject({ cursor: new Date((T0 + 142 * 600) * 1000).toISOString() });

  // night 3: a part deleted at the vendor without moving its conversation, a whole conversation gone: only a full
  // refresh can see it
  s.fault = FAULTS;
  const deleted = s.conversations[10]!.parts.shift()!;
  s.conversations.splice(20, 1);
  const incremental = await syncNight(v.args(dataset));
  expect(incremental.code).toBe(0);
  expect((await messages(dataset)).map((m) => m.message_id)).toContain(deleted.id);
  const full = await syncNight([...v.args(dataset), '--full-refresh']);
  expect(full.stderr).toBe('');
  expect(full.code).toBe(0);
  expect(await messages(dataset)).toEqual(expected());
  expect(await filesContaining(dataset, deleted.body)).toEqual([]);
});

it('OnceHub: nights with new and updated conversations, faults and kill -9 in night 2', { timeout: 900_000 }, async () => {
  const s = await new OnceHubApiServer(TOKEN).start();
  servers.push(s);
  for (let m = 0; m < 300; m++) s.add(m * 7);
  const conversations = async (dataset: string) => readTable(dataset, 'conversations', 'parquet', 'conversation_id, status, updated_at::VARCHAR AS u');
  const v: Vendor = {
    name: 'oncehub',
    kills: 8,
    args: (dataset) => ['--from', 'oncehub', '--api-url', `${s.url}/v2`, '--dataset', dataset, '--format', 'parquet'],
    rows: async (dataset) => (await conversations(dataset)).map((r) => [r.conversation_id, r.status]),
    expected: () => s.conversations.map((c) => [c.id, c.status]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    state: async (dataset) => JSON.stringify({ conversations: await conversations(dataset), cursors: await cursors(dataset) }),
  };
  await killNights(v, s, () => {
    for (let m = 300; m < 340; m++) s.add(m * 7);
    // updated within the lookback: the run reads it again and replaces its row
    const updated = s.conversations.find((c) => c.id === `CVR-${String(299 * 7).padStart(10, '0')}`)!;
    updated.status = 'cancelled';
    updated.last_updated_time = new Date(Date.UTC(2026, 10, 1) + 340 * 7 * 60_000).toISOString().replace('.000Z', 'Z');
  });
});
