// Exactly-once across kill -9: a child process runs the built migration against the local Dashly double (slow
// answers, drops, 429s, 5xx, ReplyTooBig), is SIGKILLed at random moments and restarted on the same state until
// it finishes by itself. Then every message part must be in Dashly exactly once, in order, and nothing redacted.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Row } from '../../src/model/canonical-schema.js';
import { DashlyTestServer, type Fault } from './dashly-test-server.js';
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

/** Each restart waits for the killed run's lease to expire (10 s by default) before it takes the state over. */
const LEASE_MS = 2000;

function runChild(jobPath: string, killAfterMs: number | null): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, MIGRATE_TEST_TOKEN: TOKEN, CHATPORT_LOCK_LEASE_MS: String(LEASE_MS) };
    const p = spawn(process.execPath, [child, jobPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = killAfterMs === null ? null : setTimeout(() => p.kill('SIGKILL'), killAfterMs);
    p.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
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
        else if (m % 11 === 3) rows.push(message(`c${c}`, `c${c}-m${m}`, micros, { text: `long ${m} `.repeat(90) })); // ~800 chars: split
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

    let kills = 0;
    let killedInFlight = 0;
    let finished: { stdout: string } | null = null;
    for (let round = 0; round < 60 && !finished; round++) {
      // node start-up takes ~100-200 ms, then the run waits up to a lease for the killed one's lock
      const killAfter = round < 30 ? LEASE_MS + 200 + Math.floor(rnd() * 700) : null;
      const result = await runChild(jobPath, killAfter);
      if (result.signal === 'SIGKILL') {
        kills++;
        if (openBegins(statePath) > 0) killedInFlight++;
        continue;
      }
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      finished = result;
    }
    expect(finished).not.toBeNull();
    expect(kills).toBeGreaterThanOrEqual(5);
    expect(killedInFlight).toBeGreaterThanOrEqual(3); // kills that left a request with no recorded outcome

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
    console.log(`kill -9: ${kills} kills (${killedInFlight} with a request in flight), last run: ${JSON.stringify(report.messages)}, found on check ${report.requests.foundOnCheck}`);
  }, 240_000);
});

/** Messages whose last journal record is a begin (or an unknown retry): in flight when the process died. */
function openBegins(statePath: string): number {
  if (!existsSync(statePath)) return 0;
  const last = new Map<string, string>();
  for (const line of readFileSync(statePath, 'utf8').split('\n')) {
    try {
      const r = JSON.parse(line);
      if (r.msg) last.set(`${r.conv}/${r.msg}`, r.t === 'retry' && r.landed === 'unknown' ? 'begin' : r.t);
    } catch {
      // the torn last line of a killed run
    }
  }
  return [...last.values()].filter((t) => t === 'begin').length;
}
