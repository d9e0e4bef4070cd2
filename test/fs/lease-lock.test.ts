// The lease lock (src/fs/lease-lock.ts): a live holder keeps it, a dead one's lease is taken over only after it
// expired and whatever pid the lease names (its own, 1, a live stranger's), a holder killed with kill -9 loses it
// after the lease, a holder whose heartbeat stopped finds out and stops, and a holder checks its token on disk.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ChatportError } from '../../src/errors.js';
import { LEASE_ENV, LeaseLock, defaultLeaseMs, type LeaseLockOptions } from '../../src/fs/lease-lock.js';

const child = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'lock-child.mjs');
const base = mkdtempSync(join(tmpdir(), 'chatport-lease-'));
let n = 0;
const fresh = () => join(base, `l${n++}`);
const children: ChildProcess[] = [];
const locks: LeaseLock[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const l of locks.splice(0)) await l.release();
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

const held = () => new ChatportError('WRITE_OUTPUT_LOCKED', 'held by another run', 'write');

async function acquire(dir: string, options: Partial<LeaseLockOptions> = {}): Promise<LeaseLock> {
  const lock = await LeaseLock.acquire(dir, { what: 'test', stage: 'write', heldError: held, ...options });
  locks.push(lock);
  return lock;
}

/** A lease file as a run that is gone left it: `agoMs` since its last heartbeat. */
function deadLease(dir: string, gen: number, content: object, agoMs: number): void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${gen}.lease`);
  writeFileSync(file, JSON.stringify({ token: 'dead-run', leaseMs: 1000, host: 'h', since: 0, ...content }) + '\n');
  const t = (Date.now() - agoMs) / 1000;
  utimesSync(file, t, t);
}

function startChild(
  args: string[],
  leaseMs: number,
  wrap: string[] = [],
): { proc: ChildProcess; output: () => string; until: (text: string) => Promise<void> } {
  const argv = [...wrap, process.execPath, child, ...args];
  const proc = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, [LEASE_ENV]: String(leaseMs) }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  const until = async (text: string) => {
    const deadline = Date.now() + 20_000;
    while (!out.includes(text)) {
      if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`child never printed "${text}" (got: ${out})`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { proc, output: () => out, until };
}

describe('one holder', () => {
  it('a live holder keeps the lock; release leaves nothing behind, and the next run takes it', async () => {
    const dir = fresh();
    const first = await acquire(dir, { leaseMs: 2000 });
    expect(first.generation).toBe(1);
    expect(JSON.parse(readFileSync(first.path, 'utf8')).token).toBe(first.token);
    const t0 = Date.now();
    await expect(acquire(dir, { leaseMs: 2000 })).rejects.toMatchObject({ code: 'WRITE_OUTPUT_LOCKED' });
    // refused once its heartbeat showed the holder alive: long before the lease could expire
    expect(Date.now() - t0).toBeLessThan(1500);
    await first.release();
    expect(existsSync(dir)).toBe(false);
    const second = await acquire(dir, { leaseMs: 2000 });
    expect(second.generation).toBe(1);
    expect(readdirSync(dir)).toEqual(['1.lease']);
    await second.verify();
  });

  it('waits for a live holder when asked to, and gets the lock when it is released', async () => {
    const dir = fresh();
    const first = await acquire(dir, { leaseMs: 2000 });
    setTimeout(() => void first.release(), 400);
    const second = await acquire(dir, { leaseMs: 2000, waitMs: 10_000 });
    expect(second.generation).toBe(1);
  });

  it('refuses a bad lease from the environment with a configuration error', () => {
    const before = process.env[LEASE_ENV];
    try {
      process.env[LEASE_ENV] = 'abc';
      expect(() => defaultLeaseMs()).toThrow(expect.objectContaining({ code: 'CONFIG_BAD_OPTION' }));
      process.env[LEASE_ENV] = '2500';
      expect(defaultLeaseMs()).toBe(2500);
    } finally {
      if (before === undefined) delete process.env[LEASE_ENV];
      else process.env[LEASE_ENV] = before;
    }
  });
});

describe('a lease whose holder is gone', () => {
  for (const [who, pid] of [
    ['this very process', process.pid],
    ['pid 1', 1],
    ['a live unrelated process', process.ppid],
  ] as const) {
    it(`naming ${who} as its holder: taken over once expired, whatever the pid`, async () => {
      const dir = fresh();
      deadLease(dir, 1, { pid }, 5_000);
      const t0 = Date.now();
      const lock = await acquire(dir, { leaseMs: 1000 });
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(lock.generation).toBe(2);
      expect(readdirSync(dir)).toEqual(['2.lease']);
    });
  }

  it("is taken over only after its lease expired, counted with the holder's lease, not the taker's", async () => {
    const dir = fresh();
    deadLease(dir, 3, { pid: 1, leaseMs: 1500 }, 200); // expires ~1.3 s from now
    const t0 = Date.now();
    const lock = await acquire(dir, { leaseMs: 200 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1200);
    expect(lock.generation).toBe(4);
  });

  it('a holder killed with kill -9 keeps the lock until its lease expired, then loses it', async () => {
    const dir = fresh();
    const holder = startChild(['hold', dir], 3000);
    await holder.until('acquired 1');
    // alive: refused
    await expect(acquire(dir, { leaseMs: 3000 })).rejects.toMatchObject({ code: 'WRITE_OUTPUT_LOCKED' });
    holder.proc.kill('SIGKILL');
    await once(holder.proc, 'exit');
    const killedAt = Date.now();
    const lock = await acquire(dir, { leaseMs: 3000 });
    const waited = Date.now() - killedAt;
    // the last heartbeat was at most 300 ms (a tenth of the lease) before the kill
    expect(waited).toBeGreaterThanOrEqual(2650);
    expect(waited).toBeLessThan(8000);
    expect(lock.generation).toBe(2);
  });

  it('a holder whose heartbeat stopped (frozen past its lease) finds the lock taken over and stops', async () => {
    const dir = fresh();
    const holder = startChild(['hold', dir], 2000);
    await holder.until('acquired 1');
    holder.proc.kill('SIGSTOP');
    const taker = await acquire(dir, { leaseMs: 5000 }); // takes over once the frozen lease expired
    expect(taker.generation).toBe(2);
    holder.proc.kill('SIGCONT');
    const [code] = await once(holder.proc, 'exit');
    expect(code).toBe(3);
    expect(holder.output()).toMatch(/lost RUN_LOCK_LOST/);
    await taker.verify(); // the frozen holder did not disturb the new one
    expect(existsSync(taker.path)).toBe(true);
  });
});

describe('the holder checks itself', () => {
  it('an event loop stalled for most of the lease: assertHeld throws RUN_LOCK_LOST, the signal aborts', async () => {
    const lost: ChatportError[] = [];
    const lock = await acquire(fresh(), { leaseMs: 400, onLost: (e) => lost.push(e) });
    lock.assertHeld();
    const until = Date.now() + 350;
    while (Date.now() < until) {
      // busy: no heartbeat can run
    }
    expect(() => lock.assertHeld()).toThrow(expect.objectContaining({ code: 'RUN_LOCK_LOST' }));
    expect(lock.signal.aborted).toBe(true);
    expect(lost).toHaveLength(1);
    await expect(lock.verify()).rejects.toMatchObject({ code: 'RUN_LOCK_LOST' });
  });

  it('verify and the heartbeat find a later generation: lost, and release leaves the new holder alone', async () => {
    const dir = fresh();
    const lock = await acquire(dir, { leaseMs: 2000 });
    writeFileSync(join(dir, '2.lease'), JSON.stringify({ token: 'other', leaseMs: 2000 }));
    await expect(lock.verify()).rejects.toMatchObject({ code: 'RUN_LOCK_LOST', message: expect.stringMatching(/generation 2/) });
    await lock.release();
    expect(readdirSync(dir).sort()).toEqual(['1.lease', '2.lease']); // the new holder's, and ours left to expire
  });

  it('the heartbeat alone notices a replaced token', async () => {
    const dir = fresh();
    const lock = await acquire(dir, { leaseMs: 1000 });
    writeFileSync(lock.path, JSON.stringify({ token: 'someone else', leaseMs: 1000 }));
    // the next heartbeat (every 100 ms) notices; no call of ours in between
    for (let i = 0; i < 100 && !lock.signal.aborted; i++) await new Promise((r) => setTimeout(r, 30));
    expect(lock.signal.aborted).toBe(true);
    expect(() => lock.assertHeld()).toThrow(/another token/);
  });

  it('the heartbeat keeps a lease alive far past its length', async () => {
    const dir = fresh();
    const lock = await acquire(dir, { leaseMs: 1500 });
    await new Promise((r) => setTimeout(r, 4000));
    await lock.verify();
    await expect(acquire(dir, { leaseMs: 1500 })).rejects.toMatchObject({ code: 'WRITE_OUTPUT_LOCKED' });
  });
});

const canUnshare = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;

describe.skipIf(!canUnshare)('pids in containers (pid namespaces through unshare)', () => {
  // --kill-child: the node inside dies (SIGKILL) when unshare is killed, so killing unshare is a kill -9 of pid 1
  const ns = ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child'];

  it("the state lock of a killed pid 1 does not block the next pid 1 (the new process's own pid)", async () => {
    const state = join(fresh(), 'state.jsonl');
    mkdirSync(dirname(state), { recursive: true });
    const holder = startChild(['journal-hold', state], 1000, ns);
    await holder.until('acquired');
    holder.proc.kill('SIGKILL');
    await once(holder.proc, 'exit');
    const opener = startChild(['journal-open', state], 1000, ns);
    await once(opener.proc, 'exit');
    expect(opener.output()).toBe('acquired\n');
  });

  it('nor does one whose pid now belongs to a live unrelated process', async () => {
    const state = join(fresh(), 'state.jsonl');
    mkdirSync(dirname(state), { recursive: true });
    const holder = startChild(['journal-hold', state], 1000, ns);
    await holder.until('acquired');
    holder.proc.kill('SIGKILL');
    await once(holder.proc, 'exit');
    // in the new namespace pid 1 is a live shell, and the opener is pid 2
    const opener = startChild(['journal-open', state], 1000, [...ns, 'sh', '-c', '"$0" "$@"; true']);
    await once(opener.proc, 'exit');
    expect(opener.output()).toBe('acquired\n');
  });
});
