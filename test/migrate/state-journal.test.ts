// The --state journal: replay, a torn last record after a kill, corruption in the middle, option changes, the lock.

import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TextGuard, type ServerText } from '../../src/http/untrusted-text.js';
import { JOURNAL_VERSION, StateJournal, type JournalRecord } from '../../src/migrate/state-journal.js';
import { tempDir } from './migrate-fixtures.js';

const guard = new TextGuard(['tok-SECRET-9f8e7d6c5b4a']);
const opts = { readOnly: false, durable: false, now: () => 1000, sanitize: (t: unknown) => guard.text(t) };
const st = (t: string): ServerText => guard.text(t);
const begin = (msg: string, part = 1, of = 1, from = 0, to = 10): JournalRecord => ({
  t: 'begin',
  src: 'v',
  conv: 'c',
  msg,
  ext: msg,
  part,
  of,
  from,
  to,
  limit: of > 1 ? 50 : null,
  target: 'T',
  random_id: 7,
  len: to - from,
  at: 5,
});

describe('StateJournal', () => {
  it('replays sent, partial, in-flight and rejected messages', async () => {
    const path = join(tempDir(), 's.jsonl');
    const j = await StateJournal.open(path, 'fp', opts);
    j.append(begin('a'));
    j.append({ t: 'sent', src: 'v', conv: 'c', msg: 'a', part: 1, part_id: '18446744073709551615' });
    j.append(begin('b', 1, 3, 0, 40));
    j.append({ t: 'sent', src: 'v', conv: 'c', msg: 'b', part: 1, part_id: 'p2' });
    j.append(begin('b', 2, 3, 40, 80));
    j.append(begin('r'));
    j.append({ t: 'rejected', src: 'v', conv: 'c', msg: 'r', part: 1, status: 400, error: st('ValidationError'), reason: st('no') });
    j.append({ t: 'too-big', src: 'v', conv: 'c', msg: 'x', part: 1, len: 900, limit: 450 });
    j.close();
    const again = await StateJournal.open(path, 'fp', opts);
    const c = again.conversation('v', 'c')!;
    expect(c.target).toBe('T');
    expect(c.lastPartId).toBe('p2');
    expect(c.messages.get('a')).toEqual({ status: 'sent' });
    expect(c.messages.get('b')).toMatchObject({ status: 'open', sentParts: 1, offset: 40, of: 3, inflight: { part: 2, from: 40, to: 80 } });
    expect(c.messages.get('r')).toMatchObject({ status: 'rejected', error: 'ValidationError' });
    expect(again.learnedLimit).toBe(450);
    again.close();
  });

  it('a retry that cannot have landed clears the in-flight mark; one that may have landed keeps it', async () => {
    const path = join(tempDir(), 's.jsonl');
    const j = await StateJournal.open(path, 'fp', opts);
    j.append(begin('a'));
    j.append({ t: 'retry', src: 'v', conv: 'c', msg: 'a', part: 1, cause: 'rate_limited', landed: 'no' });
    j.append(begin('b'));
    j.append({ t: 'retry', src: 'v', conv: 'c', msg: 'b', part: 1, cause: 'server_error', landed: 'unknown' });
    expect(j.conversation('v', 'c')!.messages.get('a')).toMatchObject({ inflight: null });
    expect(j.conversation('v', 'c')!.messages.get('b')).toMatchObject({ inflight: { part: 1 } });
    j.close();
  });

  it('tolerates a record torn by a kill at the end, and starts the next record on a new line', async () => {
    const path = join(tempDir(), 's.jsonl');
    const j = await StateJournal.open(path, 'fp', opts);
    j.append(begin('a'));
    j.close();
    appendFileSync(path, '{"t":"sent","src":"v","conv":"c","ms');
    const again = await StateJournal.open(path, 'fp', opts);
    again.append({ t: 'sent', src: 'v', conv: 'c', msg: 'a', part: 1, part_id: 'p' });
    again.close();
    const third = await StateJournal.open(path, 'fp', opts);
    expect(third.conversation('v', 'c')!.messages.get('a')).toEqual({ status: 'sent' });
    third.close();
    expect(readFileSync(path, 'utf8')).not.toContain('"ms\n');
    // a complete record that only lost its newline counts, and the next one starts on its own line
    writeFileSync(path, readFileSync(path, 'utf8') + JSON.stringify(begin('b')));
    const fourth = await StateJournal.open(path, 'fp', opts);
    expect(fourth.conversation('v', 'c')!.messages.get('b')).toMatchObject({ status: 'open', inflight: { part: 1 } });
    fourth.close();
    expect(
      readFileSync(path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .every((l) => JSON.parse(l)),
    ).toBe(true);
  });

  it('refuses a corrupt record that is not the last one, and a state written with other options', async () => {
    const path = join(tempDir(), 's.jsonl');
    writeFileSync(path, `{"t":"run","v":${JOURNAL_VERSION},"fingerprint":"fp","at":1}\nnot json\n{"t":"target","src":"v","conv":"c","target":"1"}\n`);
    await expect(StateJournal.open(path, 'fp', opts)).rejects.toMatchObject({ code: 'MIGRATE_STATE_CORRUPT', position: { line: 2 } });
    const other = join(tempDir(), 's.jsonl');
    writeFileSync(other, `{"t":"run","v":${JOURNAL_VERSION},"fingerprint":"fp","at":1}\n`);
    await expect(StateJournal.open(other, 'different', opts)).rejects.toMatchObject({ code: 'MIGRATE_STATE_MISMATCH' });
  });

  it('refuses a second run on the same state; after close the lock is gone (kill -9 and takeover: test/fs/)', async () => {
    const path = join(tempDir(), 's.jsonl');
    const j = await StateJournal.open(path, 'fp', opts);
    await expect(StateJournal.open(path, 'fp', opts)).rejects.toMatchObject({ code: 'MIGRATE_STATE_LOCKED' });
    j.close();
    expect(existsSync(`${path}.lock`)).toBe(false);
    const k = await StateJournal.open(path, 'fp', opts);
    expect(readdirSync(`${path}.lock`)).toEqual(['1.lease']);
    k.close();
  });

  it('a run that lost its lock writes no further record', async () => {
    const path = join(tempDir(), 's.jsonl');
    const j = await StateJournal.open(path, 'fp', { ...opts, lock: { leaseMs: 400 } });
    j.append(begin('a'));
    const until = Date.now() + 350;
    while (Date.now() < until) {
      // stalled: no heartbeat for most of the lease, so another run may take the state over
    }
    const before = readFileSync(path, 'utf8');
    expect(() => j.append(begin('b'))).toThrow(expect.objectContaining({ code: 'RUN_LOCK_LOST' }));
    expect(readFileSync(path, 'utf8')).toBe(before);
    expect(j.conversation('v', 'c')!.messages.has('b')).toBe(false);
    j.close();
  });

  it("keeps spills beside the state in a folder of the run's own, removes a killed run's and its own on close", async () => {
    const dir = tempDir();
    const path = join(dir, 's.jsonl');
    const dead = join(dir, 's.jsonl.chatport-tmp-0123456789ab');
    mkdirSync(join(dead, 'chatport-migrate-x'), { recursive: true });
    writeFileSync(join(dead, 'chatport-migrate-x', 'run-0.jsonl'), '{"text":"a message of a killed run"}\n');
    const j = await StateJournal.open(path, 'fp', opts);
    const own = j.tempDir!;
    expect(own.startsWith(`${path}.chatport-tmp-`)).toBe(true);
    expect(existsSync(own)).toBe(true);
    expect(existsSync(dead)).toBe(false);
    j.close();
    expect(existsSync(own)).toBe(false);
    expect(readdirSync(dir)).toEqual(['s.jsonl']);
  });

  it('a read-only (dry run) journal writes nothing and takes no lock', async () => {
    const path = join(tempDir(), 's.jsonl');
    const j = await StateJournal.open(path, 'fp', { ...opts, readOnly: true });
    j.append(begin('a'));
    j.close();
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });
});
