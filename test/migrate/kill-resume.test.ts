// Exactly-once across kill -9: a child process runs the built migration against the local Dashly double (slow
// answers, drops, 429s, 5xx, ReplyTooBig), is SIGKILLed at random points of its progress and restarted on the same
// state until it finishes by itself. Then every message part must be in Dashly exactly once, in order, and nothing
// redacted.
//
// The kills are placed by what the child has done, not by the clock: the parent watches the state journal and kills
// once the child has written a random number of new records (and, for every other kill, only while a request is
// in flight: a begin without its outcome). A slow machine (CI on 2 cores) then kills at the same points of the
// work as a fast one, instead of too late (the run finished first) or too early (still waiting for the lease).

import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Row } from '../../src/model/canonical-schema.js';
import { DashlyTestServer, type Fault } from './dashly-test-server.js';
import { JournalWatcher, openRequests } from './journal-watcher.js';
import { REDACTED_TEXT, TOKEN, expectedOrder, message, redactedMessage, seeded, tempDir } from './migrate-fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const child = join(here, 'migrate-child.mjs');

/** The child runs dist/: refuse to test a build older than the sources instead of passing on stale code. */
function assertFreshBuild(): void {
  const src = join(root, 'src', 'migrate');
  for (const f of readdirSync(src).filter((f) => f.endsWith('.ts'))) {
    const built = join(root, 'dist', 'migrate', f.replace(/\.ts$/, '.js'));
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(src, f)).mtimeMs) {
      throw new Error(`${built} is missing or older than src/migrate/${f}: run npm run build (npm test does it first)`);
    }
  }
}

/**
 * Each restart waits for the killed run's lease to expire (10 s by default) before it takes the state over. A run
 * whose heartbeat is late by most of a lease stops (RUN_LOCK_LOST): 4 s leaves room for a starved CI machine.
 */
const LEASE_MS = 4000;

/** When to kill a run: after it wrote `records` new journal records, and then (if `inFlight`) once a request is open. */
interface KillPoint {
  readonly records: number;
  readonly inFlight: boolean;
}

/** Runs the child; with a kill point, watches the journal and SIGKILLs the child as soon as the point is reached. */
function runChild(
  jobPath: string,
  statePath: string,
  kill: KillPoint | null,
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, MIGRATE_TEST_TOKEN: TOKEN, CHATPORT_LOCK_LEASE_MS: String(LEASE_MS) };
    const journal = new JournalWatcher(statePath);
    const before = journal.poll();
    const p = spawn(process.execPath, [child, jobPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const watch =
      kill === null
        ? null
        : setInterval(() => {
            if (journal.poll() - before >= kill.records && (!kill.inFlight || journal.open() > 0)) p.kill('SIGKILL');
          }, 5);
    p.on('exit', (code, signal) => {
      if (watch) clearInterval(watch);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

let server: DashlyTestServer | null = null;
afterAll(async () => server?.close());

describe('kill -9 and resume', () => {
  it('delivers every part exactly once, in order, however often the run is killed', async () => {
    assertFreshBuild();
    const rnd = seeded(Number(process.env.MIGRATE_KILL_SEED ?? 42));
    const fault = ({ method }: { method: string }): Fault | null => {
      const x = rnd();
      if (method === 'GET') return x < 0.1 ? { kind: 'status', status: 503 } : null;
      if (x < 0.05) return { kind: 'status', status: 429, retryAfter: '0' };
      if (x < 0.1) return { kind: 'status', status: 500 };
      if (x < 0.15) return { kind: 'drop-after' };
      if (x < 0.2) return { kind: 'drop-before' };
      // slow before storing (the part lands after the client may be gone) and after (the answer is late)
      return { kind: 'slow', beforeMs: Math.floor(rnd() * 25), afterMs: Math.floor(rnd() * 25) };
    };
    server = await DashlyTestServer.start({ token: TOKEN, fault, maxBody: 400 });
    const conversations: [string, string][] = [];
    const rows: Row[] = [];
    for (let c = 0; c < 8; c++) {
      const target = String(18446744073709550000n + BigInt(c));
      server.addConversation(target);
      conversations.push([`c${c}`, target]);
      for (let m = 0; m < 30; m++) {
        const micros = 1_700_000_000_000_000 + Math.floor(rnd() * 40) * 1_000_000;
        if (m % 13 === 5) rows.push(redactedMessage(`c${c}`, `c${c}-r${m}`, micros));
        else if (m % 11 === 3)
          rows.push(message(`c${c}`, `c${c}-m${m}`, micros, { text: `long ${m} `.repeat(90) })); // ~800 chars: split
        else rows.push(message(`c${c}`, `c${c}-m${m}`, micros));
      }
    }
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [rows[i], rows[j]] = [rows[j]!, rows[i]!];
    }
    const dir = tempDir();
    const rowsPath = join(dir, 'rows.jsonl');
    writeFileSync(rowsPath, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const statePath = join(dir, 'state.jsonl');
    const jobPath = join(dir, 'job.json');
    writeFileSync(jobPath, JSON.stringify({ apiUrl: server.url, rowsPath, statePath, conversations, concurrency: 4, rps: 400, settleMs: 120 }));

    // 10 kills at random points of the progress: after 1-24 new journal records (about 1-12 messages of 240), every
    // other one while a request is in flight; the run after the last kill goes on to the end
    const KILLS = 10;
    let kills = 0;
    let killedInFlight = 0;
    let finished: { stdout: string } | null = null;
    for (let round = 0; round < 60 && !finished; round++) {
      const kill = kills < KILLS ? { records: 1 + Math.floor(rnd() * 24), inFlight: kills % 2 === 0 } : null;
      const result = await runChild(jobPath, statePath, kill);
      if (result.signal === 'SIGKILL') {
        kills++;
        if (openRequests(statePath) > 0) killedInFlight++;
        continue;
      }
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      finished = result;
    }
    expect(finished).not.toBeNull();
    expect(kills).toBe(KILLS); // every kill point was reached before the run could finish
    expect(killedInFlight).toBeGreaterThanOrEqual(KILLS / 2); // kills that left a request with no recorded outcome

    // Exactly once: each (message, part) once; per conversation, messages in order; parts of a split message
    // numbered 1..n in a row; nothing of the redacted rows.
    const expected = expectedOrder(rows);
    for (const [source, target] of conversations) {
      const parts = server.parts(target);
      const seen = new Set<string>();
      for (const p of parts) {
        const key = `${p.external_id}#${p.random_id}`;
        expect(seen.has(key), `duplicate ${key} in ${source}`).toBe(false);
        seen.add(key);
        expect(p.body).not.toContain(REDACTED_TEXT);
      }
      const order = parts.map((p) => p.external_id!).filter((id, i, all) => i === 0 || all[i - 1] !== id);
      expect(order).toEqual(expected.get(source)!.filter((id) => !id.includes('-r')));
      for (const id of new Set(order)) {
        const mine = parts.filter((p) => p.external_id === id);
        if (mine.length === 1) continue;
        // a split message: labels count up to the number of parts of its final plan
        mine.forEach((p, i) => expect(p.body.startsWith(`[part ${i + 1}/`)).toBe(true));
        expect(mine[mine.length - 1]!.body.startsWith(`[part ${mine.length}/${mine.length}]`)).toBe(true);
      }
    }
    const report = JSON.parse(finished!.stdout.trim().split('\n').pop()!);
    expect(report.messages.pending).toBe(0);
    console.log(
      `kill -9: ${kills} kills (${killedInFlight} with a request in flight), last run: ${JSON.stringify(report.messages)}, found on check ${report.requests.foundOnCheck}`,
    );
  }, 240_000);
});
