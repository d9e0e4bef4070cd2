// The journey of docs/migrate.md, scripted for each shipped vendor's sample, through the built CLI (dist/) into the
// Dashly test server (issue 16, "Done when"): `chatport migrate plan` writes the plan, the test fills it as a person
// would (half the conversations into existing Dashly conversations, half `start`; every user and admin mapped),
// `migrate plan` again keeps what was filled, then `chatport migrate --plan` is SIGKILLed three times at points of its
// progress read from the journal (every other one while a request is open), resumed, and run to its end. Then, per
// source conversation, the Dashly conversation must hold exactly what the export holds, each once and in order: the
// chatbot answers note, every message (events as notes) and every attachment (uploaded as a file with the source's
// bytes, or its link where the source refused it), each tag, the assignee and the closed state; nothing redacted.
// A last run sends nothing. The attachment links of the sample are pointed at a local file server (the only
// substitution: the sample's hosts are not reachable from a test).

import { spawn } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMapping } from '../../src/mapping/load-mapping.js';
import { toMigrateItem, type MigrateAnswer, type MigrateConversation, type MigrateMessage } from '../../src/migrate/migrate-message.js';
import { encodeCell, readPlanFile } from '../../src/migrate/plan-files.js';
import { MIGRATION_DEFAULTS } from '../../src/migrate/run-migration.js';
import { canonicalRows } from '../../src/pipeline/canonical-rows.js';
import { expandInputs } from '../../src/readers/input-sources.js';
import { ROOT } from '../helpers/export-helpers.js';
import { DashlyTestServer, type Fault, type ServerPart } from './dashly-test-server.js';
import { JournalWatcher, openRequests } from './journal-watcher.js';
import { TOKEN, seeded, tempDir } from './migrate-fixtures.js';

const VENDOR_SAMPLES: Record<string, string> = {
  dashly: 'samples/dashly/parts.json',
  expertflow: 'samples/expertflow/messages.json',
  'expertflow-cx': 'samples/expertflow-cx/cim-messages.json',
  oncehub: 'samples/oncehub/conversations.json',
  intercom: 'samples/intercom/conversations.json',
  livechat: 'samples/livechat/chats.json',
  'zendesk-chat': 'samples/zendesk-chat/chats.json',
};
const BIN = path.join(ROOT, 'dist/cli/bin.js');
const LEASE_MS = 3000;
const KILLS = 3;
const SYSTEM_PARTS = new Set(['tag_added', 'assigned', 'closed']);

/** The attachment source: serves every path with bytes of its own; refuses videos (403), so that their link stays. */
let files: Server;
let filesUrl = '';
const fileBytes = (pathname: string): Buffer => Buffer.from(`chatport end-to-end file ${pathname}\n`.repeat(4));
const refusedBySource = (url: string): boolean => /\.mp4$/i.test(url);

beforeAll(async () => {
  files = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (refusedBySource(u.href)) {
      res.writeHead(403).end('no');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(fileBytes(u.pathname + u.search));
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
});
afterAll(async () => {
  files.closeAllConnections();
  await new Promise((resolve) => files.close(resolve));
});

function run(
  args: string[],
  opts: { statePath?: string; kill?: { records: number; inFlight: boolean } | undefined } = {},
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const journal = opts.statePath ? new JournalWatcher(opts.statePath) : null;
    const before = journal?.poll() ?? 0;
    const env = { ...process.env, DASHLY_TOKEN: TOKEN, CHATPORT_LOCK_LEASE_MS: String(LEASE_MS) };
    const p = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const kill = opts.kill;
    const watch =
      kill && journal
        ? setInterval(() => {
            if (journal.poll() - before >= kill.records && (!kill.inFlight || journal.open() > 0)) p.kill('SIGKILL');
          }, 5)
        : null;
    p.on('exit', (code, signal) => {
      if (watch) clearInterval(watch);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** What the export holds, per source conversation, read through the same mapping (the expectation, not the run). */
interface Expected {
  info: MigrateConversation | null;
  messages: MigrateMessage[];
  answers: MigrateAnswer[];
}

async function readExport(vendor: string, file: string): Promise<Map<string, Expected>> {
  const out = new Map<string, Expected>();
  const of = (id: string): Expected => {
    let e = out.get(id);
    if (!e) out.set(id, (e = { info: null, messages: [], answers: [] }));
    return e;
  };
  let seq = 0;
  for await (const { table, row } of canonicalRows({ mapping: await loadMapping(vendor), sources: await expandInputs([file]), onError: 'fail' })) {
    const item = toMigrateItem(table, row, seq++);
    if (item === null) continue;
    const e = of(item.conversation_id);
    if (item.table === 'messages') e.messages.push(item);
    else if (item.table === 'answers') e.answers.push(item);
    else e.info ??= item;
  }
  return out;
}

/** The external_id of each reply part a conversation must hold, in order: answers note, then each message's units. */
function expectedReplies(e: Expected): { ids: string[]; attachments: { id: string; name: string | null; url: string | null }[] } {
  const ids: string[] = [];
  const attachments: { id: string; name: string | null; url: string | null }[] = [];
  if (e.answers.length) ids.push('answers');
  const sorted = [...e.messages].sort((a, b) => (a.created_at ?? -Infinity) - (b.created_at ?? -Infinity) || a.seq - b.seq);
  const seen = new Set<string>();
  for (const m of sorted) {
    if (seen.has(m.message_id)) continue; // a duplicate id: only the first is sent
    seen.add(m.message_id);
    if (m.redacted) continue;
    const event = m.kind === 'event';
    if (event || (m.text ?? '') !== '' || m.attachments.length === 0) ids.push(m.message_id);
    if (!event) {
      for (const a of m.attachments) {
        ids.push(m.message_id);
        attachments.push({ id: m.message_id, name: a.name, url: a.url });
      }
    }
  }
  return { ids, attachments };
}

async function writeCsv(file: string, columns: string[], rows: Record<string, string>[]): Promise<void> {
  writeFileSync(file, [columns, ...rows.map((r) => columns.map((c) => r[c] ?? ''))].map((cells) => cells.map(encodeCell).join(',')).join('\r\n') + '\r\n');
}

const totals = {
  conversations: 0,
  started: 0,
  replies: 0,
  uploaded: 0,
  links: 0,
  tags: 0,
  assigned: 0,
  closed: 0,
  answerNotes: 0,
  redacted: 0,
  orphans: 0,
  kills: 0,
  killedInFlight: 0,
};

describe('end to end: plan, fill, run, kill -9 three times, resume, verify (each shipped vendor sample)', () => {
  for (const [vendor, sample] of Object.entries(VENDOR_SAMPLES)) {
    it(
      vendor,
      async () => {
        const rnd = seeded(1600 + vendor.length);
        const dir = tempDir();
        // the export, its attachment links pointed at the local file server
        const input = path.join(dir, path.basename(sample));
        cpSync(path.join(ROOT, sample), input);
        writeFileSync(
          input,
          readFileSync(input, 'utf8').replace(/https?:\/\/([A-Za-z0-9.-]+)\//g, (_m, host: string) => `${filesUrl}/${host}/`),
        );
        const expected = await readExport(vendor, input);

        // 1. plan
        const planDir = path.join(dir, 'plan');
        const planned = await run(['migrate', 'plan', '--from', vendor, '--input', input, '--out', planDir]);
        expect(planned.code, planned.stderr).toBe(0);
        expect(planned.stderr).toContain('chatport migrate plan: ');
        const conversations = (await readPlanFile(path.join(planDir, 'conversations.csv')))!.rows;
        expect(conversations.map((r) => r.source_id).sort()).toEqual([...expected.keys()].sort());

        // 2. fill, as a person would: even rows into existing Dashly conversations, odd rows `start`; all users and admins
        const server = await DashlyTestServer.start({
          token: TOKEN,
          fault: ({ method, path: p }): Fault | null => {
            if (method !== 'POST' || p.endsWith('/startconversation')) return null;
            const x = rnd();
            if (x < 0.06 && p.endsWith('/reply')) return { kind: 'drop-after' };
            return { kind: 'slow', beforeMs: Math.floor(rnd() * 15), afterMs: Math.floor(rnd() * 15) };
          },
        });
        try {
          const filled = conversations.map((r, i): Record<string, string> => {
            if (i % 2 === 0) {
              const target = String(18446744073709551000n + BigInt(i));
              server.addConversation(target);
              return { ...r, target_id: target };
            }
            return { ...r, target_id: 'start', start_as: r.customer_id ? '' : '999' };
          });
          await writeCsv(path.join(planDir, 'conversations.csv'), Object.keys(conversations[0]!), filled);
          const users = (await readPlanFile(path.join(planDir, 'users.csv')))!.rows.map((r, i): Record<string, string> => ({
            ...r,
            target_id: String(5000 + i),
          }));
          const admins = (await readPlanFile(path.join(planDir, 'admins.csv')))!.rows.map((r, i): Record<string, string> => ({
            ...r,
            target_id: String(8000 + i),
          }));
          if (users.length) await writeCsv(path.join(planDir, 'users.csv'), Object.keys(users[0]!), users);
          if (admins.length) await writeCsv(path.join(planDir, 'admins.csv'), Object.keys(admins[0]!), admins);
          const userIds = new Map(users.map((u) => [u.source_id!, u.target_id]));
          const adminIds = new Map(admins.map((a) => [a.source_id!, a.target_id]));

          // planning again on the same export keeps every filled cell
          const again = await run(['migrate', 'plan', '--from', vendor, '--input', input, '--out', planDir, '--quiet']);
          expect(again.code, again.stderr).toBe(0);
          const replanned = (await readPlanFile(path.join(planDir, 'conversations.csv')))!.rows;
          expect(replanned.map((r) => [r.source_id, r.target_id, r.start_as])).toEqual(filled.map((r) => [r.source_id, r.target_id, r.start_as]));
          expect((await readPlanFile(path.join(planDir, 'users.csv')))!.rows.map((r) => r.target_id)).toEqual(users.map((u) => u.target_id));

          // 3. run, killed three times at points of its progress, resumed until it ends by itself
          const statePath = path.join(dir, 'state.jsonl');
          const reportPath = path.join(dir, 'report.json');
          const args = [
            'migrate',
            '--from',
            vendor,
            '--input',
            input,
            '--plan',
            planDir,
            '--state',
            statePath,
            '--api-url',
            server.url,
            '--attachment-hosts',
            '127.0.0.1',
            '--rps',
            '1000',
            '--settle',
            '0.2',
            '--timeout',
            '5',
            '--quiet',
            '--report',
            reportPath,
          ];
          let kills = 0;
          let last: Awaited<ReturnType<typeof run>> | null = null;
          for (let round = 0; round < 10; round++) {
            const kill = kills < KILLS ? { records: 1 + Math.floor(rnd() * 4), inFlight: kills % 2 === 0 } : undefined;
            last = await run(args, { statePath, kill });
            if (last.signal === 'SIGKILL') {
              kills++;
              if (openRequests(statePath) > 0) totals.killedInFlight++;
              continue;
            }
            break;
          }
          expect(kills, 'the run ended before every kill point was reached').toBe(KILLS);
          totals.kills += kills;
          expect(last!.stderr).toBe('');
          expect(last!.code).toBe(0);

          // 4. verify, per source conversation
          const journal = readFileSync(statePath, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Record<string, string>);
          const startedTargets = new Map(journal.filter((r) => r.t === 'target').map((r) => [r.conv!, r.target!]));
          const report = JSON.parse(readFileSync(reportPath, 'utf8')) as {
            ok: boolean;
            messages: { pending: number };
            per_conversation: { conversation: string; target: string; outcome: string; messages: { sent: number; already_sent: number } }[];
          };
          expect(report.ok).toBe(true);
          expect(report.messages.pending).toBe(0);
          const used = new Set<string>();
          for (const row of filled) {
            const id = row.source_id!;
            const e = expected.get(id)!;
            const start = row.target_id === 'start';
            const target = start ? startedTargets.get(id)! : row.target_id!;
            expect(target, `${id} has its Dashly conversation`).toBeDefined();
            used.add(target);
            let parts: ServerPart[] = server.parts(target);
            if (start) {
              expect(parts[0]!.body).toBe(`Conversation ${id} imported from ${vendor} by chatport.`);
              expect(server.state.get(target)!.user).toBe(row.start_as || userIds.get(row.customer_id!));
              parts = parts.slice(1);
              totals.started++;
            }
            const replies = parts.filter((p) => !SYSTEM_PARTS.has(p.type));
            const { ids, attachments } = expectedReplies(e);
            // every message, attachment and answers note exactly once, in order
            expect(
              replies.map((p) => p.external_id),
              `conversation ${id}`,
            ).toEqual(ids);
            expect(new Set(replies.map((p) => `${p.external_id}#${p.random_id}`)).size).toBe(replies.length);
            totals.replies += replies.length;
            for (const m of e.messages.filter((x) => x.redacted)) {
              expect(replies.some((p) => p.external_id === m.message_id)).toBe(false);
              totals.redacted++;
            }
            if (e.answers.length) {
              const note = replies.find((p) => p.external_id === 'answers')!;
              expect(note.type).toBe('note');
              expect(note.body.startsWith(`Chatbot answers (${vendor}):\n`)).toBe(true);
              totals.answerNotes++;
            }
            // attachments: the file with the source's bytes, or (refused by the source, or no link) the link in the text
            const withFile = replies.filter((p) => p.attachments?.length);
            let fileAt = 0;
            for (const a of attachments) {
              const own = replies.filter((p) => p.external_id === a.id);
              if (a.url !== null && a.url.startsWith(filesUrl) && !refusedBySource(a.url)) {
                const p = withFile[fileAt++]!;
                expect(p.external_id).toBe(a.id);
                expect(p.attachments![0]!.bytes.equals(fileBytes(new URL(a.url).pathname + new URL(a.url).search))).toBe(true);
                if (a.name) expect(p.attachments![0]!.filename).toBe(a.name);
                totals.uploaded++;
              } else {
                expect(
                  own.filter((p) => !p.attachments && (a.url === null || p.body.includes(a.url))),
                  JSON.stringify({ a, own: own.map((p) => [p.body, p.attachments?.length]) }),
                ).not.toHaveLength(0);
                totals.links++;
              }
            }
            expect(fileAt).toBe(withFile.length);
            // the conversation's state: each tag once, the last assignee once, closed once
            const info = e.info;
            const tags = [...new Set(info?.tags ?? [])];
            const assignee = info?.assignee_id != null ? (adminIds.get(info.assignee_id) ?? null) : null;
            const closed = info?.status != null && (MIGRATION_DEFAULTS.closedStatuses as readonly string[]).includes(info.status.toLowerCase());
            expect(server.state.get(target)).toMatchObject({ tags, assignee, closed });
            expect(parts.filter((p) => p.type === 'tag_added').map((p) => p.tag)).toEqual(tags);
            expect(parts.filter((p) => p.type === 'assigned')).toHaveLength(assignee === null ? 0 : 1);
            expect(parts.filter((p) => p.type === 'closed')).toHaveLength(closed ? 1 : 0);
            totals.tags += tags.length;
            totals.assigned += assignee === null ? 0 : 1;
            totals.closed += closed ? 1 : 0;
            // the report says, per conversation, where it went and what was sent
            const outcome = report.per_conversation.find((o) => o.conversation === id)!;
            expect(outcome).toMatchObject({ target, outcome: 'done' });
            totals.conversations++;
          }
          // a start whose answer a kill lost is made again (docs/migrate.md: not covered); what it left holds only its start text
          for (const [id, parts] of server.conversations) {
            if (used.has(id)) continue;
            expect(parts.map((p) => p.type)).toEqual(['reply_user']);
            totals.orphans++;
          }

          // 5. a run on the finished state sends nothing
          const posts = server.requests.filter((r) => r.method === 'POST').length;
          const rerun = await run(args);
          expect(rerun.code, rerun.stderr).toBe(0);
          expect(server.requests.filter((r) => r.method === 'POST')).toHaveLength(posts);
        } finally {
          await server.close();
        }
      },
      120_000,
    );
  }

  it('the samples together exercise every piece: starts, uploads, links, tags, assignments, closes, answer notes, redactions', () => {
    console.log(`end to end: ${JSON.stringify(totals)}`);
    for (const [k, n] of Object.entries(totals)) if (k !== 'orphans') expect(n, k).toBeGreaterThan(0);
  });
});
