// The one lock of chatport: wherever two runs must not work at once (export --out, migrate --state, later
// datasets), the run holds a lease in a lock directory. A lease is a file `<generation>.lease` holding a random
// token; its holder refreshes the file's mtime on a heartbeat, and anyone may take the lock over only after the
// lease expired (no heartbeat for a whole lease). No process id is ever consulted: a pid can be reused, be this very
// process's own, or be 1 in every container.
//
// Taking over is race-free because nothing is ever replaced in place: a taker creates the NEXT generation's file
// with O_EXCL, so of all the processes that saw generation n expire exactly one creates n + 1. A new holder then
// confirms that no higher generation exists and that no live lease sits below its own besides the expired one it
// superseded (a taker that stalled between looking and creating, while the lock changed hands, finds one and backs
// off). Release deletes the lease and the then empty directory, so a finished run leaves nothing behind.
//
// The holder checks its own lease: each heartbeat re-reads the lock (its token, no higher generation) and marks the
// lock lost when it is not its own any more or when the heartbeat itself stalled for most of a lease (a taker may be
// entitled to it by then). Heartbeats run from a timer and from `assertHeld()` when one is due, because a run busy
// with back-to-back work starves timers for seconds; both are synchronous, so two can never interleave. assertHeld
// (between steps, before every journal record) and `verify()` (on disk: right before a commit) throw RUN_LOCK_LOST
// once the lock is lost, so a run that lost its lock stops before it does harm.

import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, rmdirSync, unlinkSync, utimesSync } from 'node:fs';
import { mkdir, open, readFile, readdir, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ChatportError, type Stage } from '../errors.js';
import { errnoCode } from './errno.js';

/** Default lease; a holder whose event loop stalls for most of it gives the lock up. */
export const DEFAULT_LEASE_MS = 10_000;
/** Overrides the default lease (slow network filesystems want longer, tests shorter). */
export const LEASE_ENV = 'CHATPORT_LOCK_LEASE_MS';
const MIN_LEASE_MS = 100;

/** What a lease file says about its holder (for messages; only the token and lease are ever relied on). */
export interface LeaseContent {
  readonly token: string;
  readonly leaseMs: number;
  readonly pid: number;
  readonly host: string;
  readonly since: number;
}

/** A lock held by another run, as seen when acquiring failed. */
export interface LockHolder {
  readonly lockDir: string;
  /** Parsed lease file; null when it was unreadable (being written, or not chatport's). */
  readonly content: LeaseContent | null;
  readonly heartbeatAgoMs: number;
  readonly expiresInMs: number;
}

export interface LeaseLockOptions {
  /** How long a lease lasts without a heartbeat (default: $CHATPORT_LOCK_LEASE_MS or 10 s). */
  readonly leaseMs?: number;
  /** How often the holder refreshes its lease (default: a tenth of the lease). */
  readonly heartbeatMs?: number;
  /**
   * How long to wait for a live holder to let go. 0 (default): fail as soon as the holder's heartbeat shows it is
   * alive. Either way a holder whose heartbeat stopped is waited for until its lease expires, then taken over.
   */
  readonly waitMs?: number;
  /** The error for a lock that a live run holds (each resource has its own code and advice). */
  readonly heldError: (holder: LockHolder) => ChatportError;
  /** Names what is locked in messages, e.g. `--out out/`. */
  readonly what: string;
  /** Stage of the errors this lock raises. */
  readonly stage: Stage;
  /** Called once when the lock is found lost (the heartbeat saw another holder, or stalled). */
  readonly onLost?: (error: ChatportError) => void;
  /** Wall clock in ms (tests). Leases compare it with file mtimes, which holders set from the same clock. */
  readonly now?: () => number;
}

interface Entry {
  readonly gen: number;
  readonly name: string;
}

export function defaultLeaseMs(): number {
  const raw = process.env[LEASE_ENV];
  if (raw === undefined || raw === '') return DEFAULT_LEASE_MS;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < MIN_LEASE_MS) {
    throw new ChatportError('CONFIG_BAD_OPTION', `${LEASE_ENV} must be a whole number of milliseconds >= ${MIN_LEASE_MS} (got ${raw})`, 'config');
  }
  return ms;
}

export class LeaseLock {
  private lastRefresh: number;
  private timer: NodeJS.Timeout | null = null;
  private lost: ChatportError | null = null;
  private released = false;
  private readonly controller = new AbortController();

  private constructor(
    readonly lockDir: string,
    readonly token: string,
    readonly generation: number,
    readonly leaseMs: number,
    private readonly heartbeatMs: number,
    private readonly options: LeaseLockOptions,
    acquiredAt: number,
  ) {
    this.lastRefresh = acquiredAt;
  }

  /** Aborted (with the RUN_LOCK_LOST error as reason) as soon as the lock is found lost. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The lease file this holder owns. */
  get path(): string {
    return join(this.lockDir, leaseName(this.generation));
  }

  /**
   * Takes the lock in `lockDir` (created if missing): at once when it is free, after the lease expired when its
   * holder stopped, never while a live holder keeps it (then `heldError`, or after `waitMs`).
   */
  static async acquire(lockDir: string, options: LeaseLockOptions): Promise<LeaseLock> {
    const now = options.now ?? Date.now;
    const leaseMs = options.leaseMs ?? defaultLeaseMs();
    const heartbeatMs = options.heartbeatMs ?? Math.max(10, Math.floor(leaseMs / 10));
    const waitMs = options.waitMs ?? 0;
    const token = randomBytes(16).toString('hex');
    const io = (action: string, err: unknown) => lockIoError(options, lockDir, action, err);
    const started = now();
    /** The holder's heartbeat as first seen: a change proves it alive. */
    let seen: { gen: number; mtimeMs: number } | null = null;
    for (;;) {
      let entries: Entry[];
      try {
        entries = await listEntries(lockDir);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw io('read', err);
        try {
          await mkdir(lockDir, { recursive: true }); // first use, or released meanwhile
        } catch (mkdirErr) {
          throw io('create', mkdirErr);
        }
        continue;
      }
      const top = entries.reduce<Entry | null>((a, e) => (a === null || e.gen > a.gen ? e : a), null);
      let target = 1;
      let superseded: Entry | null = null;
      if (top !== null) {
        const held = await readLease(lockDir, top.name).catch((err: unknown) => {
          throw io('read', err);
        });
        if (held === null) continue; // released or taken over meanwhile: look again
        const leaseOfHolder = held.content?.leaseMs ?? leaseMs;
        const age = now() - held.mtimeMs;
        if (age <= leaseOfHolder) {
          const alive = seen !== null && (seen.gen !== top.gen || seen.mtimeMs !== held.mtimeMs);
          if (alive && now() - started >= waitMs) {
            throw options.heldError({ lockDir, content: held.content, heartbeatAgoMs: Math.max(0, age), expiresInMs: Math.max(0, leaseOfHolder - age) });
          }
          seen = { gen: top.gen, mtimeMs: held.mtimeMs };
          await sleep(Math.min(heartbeatMs, Math.max(10, leaseOfHolder - age + 1)));
          continue;
        }
        target = top.gen + 1;
        superseded = top;
      }
      const acquiredAt = now();
      const content: LeaseContent = { token, leaseMs, pid: process.pid, host: hostname(), since: acquiredAt };
      const mine = join(lockDir, leaseName(target));
      try {
        await createExclusive(mine, JSON.stringify(content) + '\n', acquiredAt);
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'EEXIST' || code === 'ENOENT') continue; // another taker won this generation, or released the directory
        throw io('create a lease in', err);
      }
      if (!(await confirm(lockDir, target, superseded, leaseMs, now))) {
        await unlink(mine).catch(() => undefined);
        continue;
      }
      for (const e of await listEntries(lockDir).catch(() => [])) if (e.gen < target) await unlink(join(lockDir, e.name)).catch(() => undefined);
      const lock = new LeaseLock(lockDir, token, target, leaseMs, heartbeatMs, options, acquiredAt);
      lock.schedule();
      return lock;
    }
  }

  /**
   * Throws RUN_LOCK_LOST unless the lock is still this run's: the last heartbeat is recent enough that no one can
   * have taken the lease over. Beats itself when a heartbeat is due, so a run whose event loop is too busy for the
   * timer (segments processed back to back) keeps its lease by calling this between steps. No I/O otherwise: it
   * can guard every journal record.
   */
  assertHeld(): void {
    if (this.lost) throw this.lost;
    if (this.released) throw this.lose('it was released');
    if (this.now() - this.lastRefresh >= this.heartbeatMs) this.beat();
    if (this.lost) throw this.lost;
  }

  /** assertHeld, plus the lock directory still names this run as the holder. Call right before a commit. */
  async verify(): Promise<void> {
    this.assertHeld();
    const why = this.checkOnDisk();
    if (why !== null) throw this.lose(why);
  }

  /** Stops the heartbeat and gives the lock up (if it is still ours): the lease, and the directory once empty. */
  async release(): Promise<void> {
    this.releaseSync();
  }

  /** release() for synchronous close paths (the migrate journal's close). */
  releaseSync(): void {
    if (this.released) return;
    this.released = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.lost) return;
    try {
      if (this.checkOnDisk() !== null) return;
      unlinkSync(this.path);
    } catch {
      return; // gone already, or unreadable: the lease expires by itself
    }
    try {
      rmdirSync(this.lockDir);
    } catch {
      // another run's lease is already in it
    }
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private schedule(): void {
    if (this.released || this.lost) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.beat();
      this.schedule();
    }, this.heartbeatMs);
    // a lock never keeps the process alive on its own; a process that exits without release is like a crash
    this.timer.unref();
  }

  /**
   * One heartbeat, synchronous (a few system calls): the lease must still be fresh by our own clock, the lock
   * directory must still name us, then the lease's mtime moves to now. A holder gives up once its last heartbeat is
   * older than three quarters of the lease (takers wait for all of it): refreshing later could revive a lease that
   * someone is already taking over.
   */
  private beat(): void {
    if (this.released || this.lost) return;
    const since = this.now() - this.lastRefresh;
    if (since >= Math.floor(this.leaseMs * 0.75)) {
      this.lose(`its heartbeat stopped for ${seconds(since)} (lease ${seconds(this.leaseMs)}): another run may have taken it over`);
      return;
    }
    try {
      const why = this.checkOnDisk();
      if (why !== null) {
        this.lose(why);
        return;
      }
      const t = this.now();
      utimesSync(this.path, t / 1000, t / 1000);
      this.lastRefresh = t;
    } catch {
      // a passing I/O error: the next beat tries again, and a lease that runs out is caught above
    }
  }

  /** Null when the lock directory still says this run holds the lock, else why not. */
  private checkOnDisk(): string | null {
    let names: string[];
    try {
      names = readdirSync(this.lockDir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return 'the lock directory was removed';
      throw err;
    }
    const higher = parseEntries(names).find((e) => e.gen > this.generation);
    if (higher) return `another run took it over (generation ${higher.gen} after ${this.generation})`;
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return 'its lease file was removed';
      throw err;
    }
    return parseContent(text)?.token === this.token ? null : 'its lease file holds another token';
  }

  private lose(why: string): ChatportError {
    if (this.lost) return this.lost;
    const error = new ChatportError(
      'RUN_LOCK_LOST',
      `lost the lock on ${this.options.what} (${this.lockDir}): ${why}; this run stops without committing anything`,
      this.options.stage,
      {
        file: this.lockDir,
      },
    );
    this.lost = error;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.controller.abort(error);
    try {
      this.options.onLost?.(error);
    } catch {
      // a heartbeat runs from a timer: a throwing callback must not crash the process
    }
    return error;
  }
}

/**
 * Whether anyone holds the lock in `lockDir`, by the rule takers apply: 'live' while its newest lease is fresher than
 * its lease, 'expired' once it is not, 'none' when there is no lease (or no directory). For a run that removes what a
 * dead run's lease protected (a dataset's run folders) without taking that lease itself.
 */
export async function leaseState(lockDir: string, now: number = Date.now()): Promise<'live' | 'expired' | 'none'> {
  let entries: Entry[];
  try {
    entries = await listEntries(lockDir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return 'none';
    throw err;
  }
  const top = entries.reduce<Entry | null>((a, e) => (a === null || e.gen > a.gen ? e : a), null);
  if (top === null) return 'none';
  const held = await readLease(lockDir, top.name);
  if (held === null) return 'none';
  return now - held.mtimeMs <= (held.content?.leaseMs ?? defaultLeaseMs()) ? 'live' : 'expired';
}

function leaseName(gen: number): string {
  return `${gen}.lease`;
}

function parseEntries(names: readonly string[]): Entry[] {
  const out: Entry[] = [];
  for (const name of names) {
    const m = /^([1-9][0-9]{0,14})\.lease$/.exec(name);
    if (m) out.push({ gen: Number(m[1]), name });
  }
  return out;
}

async function listEntries(dir: string): Promise<Entry[]> {
  return parseEntries(await readdir(dir));
}

/**
 * A new lease at `target` holds when nothing is above it and every lease below it is expired, except the one it
 * superseded (which expired when looked at). A live lease below means the lock changed hands while this taker
 * stalled between looking and creating: it backs off.
 */
async function confirm(lockDir: string, target: number, superseded: Entry | null, leaseMs: number, now: () => number): Promise<boolean> {
  const entries = await listEntries(lockDir);
  if (entries.some((e) => e.gen > target)) return false;
  for (const e of entries) {
    if (e.gen >= target || e.name === superseded?.name) continue;
    const other = await readLease(lockDir, e.name);
    if (other !== null && now() - other.mtimeMs <= (other.content?.leaseMs ?? leaseMs)) return false;
  }
  return true;
}

function parseContent(text: string): LeaseContent | null {
  try {
    const v = JSON.parse(text) as Partial<LeaseContent>;
    if (typeof v.token !== 'string' || typeof v.leaseMs !== 'number' || !(v.leaseMs >= MIN_LEASE_MS)) return null;
    return { token: v.token, leaseMs: v.leaseMs, pid: Number(v.pid), host: String(v.host), since: Number(v.since) };
  } catch {
    return null;
  }
}

async function readLease(dir: string, name: string): Promise<{ content: LeaseContent | null; mtimeMs: number } | null> {
  try {
    const { mtimeMs } = await stat(join(dir, name));
    const content = parseContent(await readFile(join(dir, name), 'utf8'));
    return { content, mtimeMs };
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
}

/** O_EXCL: fails with EEXIST when the generation is taken. The mtime is set from our clock, as heartbeats do. */
async function createExclusive(path: string, text: string, at: number): Promise<void> {
  const handle = await open(path, 'wx', 0o644);
  try {
    await handle.writeFile(text);
    await handle.utimes(at / 1000, at / 1000);
  } finally {
    await handle.close();
  }
}

function lockIoError(options: LeaseLockOptions, lockDir: string, action: string, err: unknown): ChatportError {
  const code = errnoCode(err);
  if (code === 'EEXIST' || code === 'ENOTDIR') {
    const why = `${lockDir} is in the way of the lock of ${options.what}: it is not a lock directory (a lock file of an older chatport?); delete it if no chatport run is using it`;
    return new ChatportError('WRITE_IO', why, options.stage, { file: lockDir });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new ChatportError('WRITE_IO', `cannot ${action} the lock directory ${lockDir} of ${options.what}: ${detail}`, options.stage, { file: lockDir });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
