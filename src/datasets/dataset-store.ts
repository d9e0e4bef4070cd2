// A dataset directory as versions (docs/datasets.md): a run works in its own folder under its own lease; taking the
// dataset's lease lock (at open, or for the merge and commit of a sharded run) removes what no committed version
// refers to (a killed run's folder, a version renamed into place but never made current) and older versions past
// their grace period; a run builds the next version in its own folder, and commit makes it current
// with one rename of the `current` symlink, the commit point. Everything before that rename is invisible to
// readers and thrown away by the next run; everything after it is the new state.

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, link, lstat, mkdir, readFile, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ChatportError } from '../errors.js';
import { errnoCode } from '../fs/errno.js';
import { NODE_FS } from '../fs/fs-ops.js';
import { LeaseLock, leaseState, type LeaseLockOptions, type LockHolder } from '../fs/lease-lock.js';
import { TABLE_NAMES, type TableName } from '../model/canonical-schema.js';
import { TEMP_PREFIX } from '../writers/atomic-file.js';
import type { FormatName } from '../writers/writer.js';
import {
  CURRENT_LINK,
  LOCK_DIR,
  MANIFESTS_DIR,
  META_DIR,
  REJECTS_DIR,
  SETTINGS_FILE,
  STATE_DIR,
  STATE_FILE_NAME,
  VERSIONS_DIR,
  keyFilePath,
  parseVersionName,
  versionName,
} from './layout.js';
import type { Manifest } from './manifest.js';

/** How long a superseded version stays for readers pinned to it, unless a later commit erased content. */
export const DEFAULT_GRACE_MS = 15 * 60_000;
export const GRACE_ENV = 'CHATPORT_DATASET_GRACE_MS';
const CATALOG_FILE = 'files.json';
/** A shard waiting for another's commit looks at its stop signal this often. */
const COMMIT_WAIT_SLICE_MS = 2_000;
const RUN_PREFIX = `${TEMP_PREFIX}run-`;

/** What a dataset holds and how, fixed by its first run. */
export interface DatasetSettings {
  readonly format: FormatName;
  /** Parquet codec, or gzip/none for JSONL and CSV. */
  readonly compression: string;
  readonly version: number;
  readonly committed_at: string;
  /** This commit erased content: every older version was deleted with it. */
  readonly erased: boolean;
}

/** One data file of a version: what the manifests say of it. */
export interface CatalogEntry {
  readonly table: TableName;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
}

export type Catalog = Record<string, CatalogEntry>;

export interface DatasetStoreOptions {
  readonly lock?: Pick<LeaseLockOptions, 'leaseMs' | 'heartbeatMs' | 'waitMs'>;
  readonly graceMs?: number;
}

/** What a run will add: a dataset of other files stops it (checked when opening and again under the lock at commit). */
export interface DatasetExpectation {
  readonly format: FormatName;
  readonly compression: string;
}

/**
 * How a run shares the dataset. 'exclusive' (default): the dataset's lock from open to close, a second run fails at
 * once with WRITE_OUTPUT_LOCKED. 'shared' (sharded runs, docs/scale-out.md): the run writes its files in its own
 * folder without the lock, and takes the lock only to merge and commit, waiting for another shard's commit to end.
 */
export type DatasetSharing = 'exclusive' | 'shared';

export class DatasetStore {
  private done = false;
  /** The current version's number (0: the dataset is new); read under the dataset lock before a merge. */
  current = 0;
  settings: DatasetSettings | null = null;
  catalog: Catalog = {};
  private lock: LeaseLock | null = null;

  private constructor(
    readonly dir: string,
    readonly runDir: string,
    /** The run folder's own lease: other runs remove a run folder only after its lease expired. */
    private readonly runLease: LeaseLock,
    private readonly options: DatasetStoreOptions,
    private readonly expected: DatasetExpectation | null,
  ) {}

  /** The folder of the version being built by this run. */
  get nextDir(): string {
    return path.join(this.runDir, 'version');
  }

  get scratchDir(): string {
    return path.join(this.runDir, 'scratch');
  }

  /** The current version's folder (null for a new dataset). */
  get currentDir(): string | null {
    return this.current === 0 ? null : path.join(this.dir, META_DIR, VERSIONS_DIR, versionName(this.current));
  }

  static async open(
    dir: string,
    options: DatasetStoreOptions = {},
    sharing: DatasetSharing = 'exclusive',
    expected: DatasetExpectation | null = null,
  ): Promise<DatasetStore> {
    const meta = path.join(dir, META_DIR);
    try {
      await mkdir(path.join(meta, VERSIONS_DIR), { recursive: true });
    } catch (err) {
      throw new ChatportError('WRITE_OUTPUT_DIR', `dataset directory ${dir} cannot be created or written: ${message(err)}`, 'write', { file: dir });
    }
    // the run folder is created with its lease in it (acquire makes the directories): never seen without one for long
    const runDir = path.join(meta, `${RUN_PREFIX}${randomBytes(6).toString('hex')}`);
    const runLease = await LeaseLock.acquire(path.join(runDir, LOCK_DIR), {
      ...options.lock,
      waitMs: 0,
      what: `the run folder ${runDir}`,
      stage: 'write',
      heldError: (h) => heldError(dir, h),
    });
    const store = new DatasetStore(dir, runDir, runLease, options, expected);
    try {
      await chmod(runDir, 0o700);
      await mkdir(store.nextDir, { recursive: true, mode: 0o700 });
      await mkdir(store.scratchDir, { recursive: true, mode: 0o700 });
      if (sharing === 'exclusive') await store.lockDataset(options.lock?.waitMs ?? 0);
      // an early look, without the lock: a wrong format stops the run now; a version that another shard's commit
      // removed while it was read is no error (the state is read again under the lock before the merge)
      else
        await store.readState().catch((err: unknown) => {
          if (errnoCode(err) !== 'ENOENT') throw err;
        });
      return store;
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  /**
   * Takes the dataset's lock for the merge and commit (a shared run; an exclusive one holds it already), waiting for
   * other runs' commits however long they take, then reads the state to merge into. The wait looks at `signal`
   * every few seconds, so a shard stopped while it waits (SIGTERM from its scheduler) ends as interrupted.
   */
  async lockForCommit(signal?: AbortSignal): Promise<void> {
    while (!this.lock) {
      try {
        await this.lockDataset(COMMIT_WAIT_SLICE_MS);
      } catch (err) {
        if (!(err instanceof ChatportError) || err.code !== 'WRITE_OUTPUT_LOCKED') throw err;
      }
      if (!this.lock && signal?.aborted) {
        const reason = typeof signal.reason === 'string' ? signal.reason : 'interrupted';
        throw new ChatportError(
          'RUN_INTERRUPTED',
          `run interrupted (${reason}) while waiting for another run's commit into ${this.dir}; nothing was committed`,
          'cli',
        );
      }
      this.runLease.assertHeld();
    }
  }

  private async lockDataset(waitMs: number): Promise<void> {
    const meta = path.join(this.dir, META_DIR);
    this.lock = await LeaseLock.acquire(path.join(meta, LOCK_DIR), {
      ...this.options.lock,
      waitMs,
      what: `--dataset ${this.dir}`,
      stage: 'write',
      heldError: (h) => heldError(this.dir, h),
    });
    await this.removeDeadRuns(meta);
    const current = await currentVersion(meta);
    const versions = path.join(meta, VERSIONS_DIR);
    // renamed into place by a run killed before its commit point: never current, never read
    for (const name of await readdir(versions)) {
      const n = parseVersionName(name);
      if (n === null || n > current) await rm(path.join(versions, name), { recursive: true, force: true });
    }
    await removeOldVersions(meta, current, this.options.graceMs ?? graceMs());
    await this.readState();
  }

  /** The current version, its settings and catalog; checks the dataset holds what this run adds and only chatport's links. */
  private async readState(): Promise<void> {
    const meta = path.join(this.dir, META_DIR);
    this.current = await currentVersion(meta);
    const vdir = this.currentDir;
    this.settings = vdir ? (JSON.parse(await readFile(path.join(vdir, SETTINGS_FILE), 'utf8')) as DatasetSettings) : null;
    this.catalog = vdir ? (JSON.parse(await readFile(path.join(vdir, CATALOG_FILE), 'utf8')) as Catalog) : {};
    const e = this.expected;
    if (e && this.settings && (this.settings.format !== e.format || this.settings.compression !== e.compression)) {
      throw new ChatportError(
        'CONFIG_BAD_OPTION',
        `${this.dir} holds ${this.settings.format} files (compression ${this.settings.compression}); a run cannot add ${e.format} (compression ${e.compression}) to it: use the same --format and --compression, or another --dataset`,
        'cli',
      );
    }
    for (const t of new Set([...TABLE_NAMES, ...Object.values(this.catalog).map((c) => c.table), REJECTS_DIR])) await assertOwnLink(this.dir, t);
  }

  /**
   * Removes the folders of runs that are gone (killed): every temporary entry of _chatport/ but the run folders whose
   * lease is live (shards working beside this one) and this run's own. A run folder without a lease is one being
   * created, or one of a chatport before sharding: removed once it is older than a lease.
   */
  private async removeDeadRuns(meta: string): Promise<void> {
    const lease = this.runLease.leaseMs;
    for (const name of await readdir(meta)) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const p = path.join(meta, name);
      if (p === this.runDir) continue;
      if (name.startsWith(RUN_PREFIX)) {
        const state = await leaseState(path.join(p, LOCK_DIR));
        if (state === 'live') continue;
        if (state === 'none') {
          const st = await lstat(p).catch(() => null);
          if (st && Date.now() - st.mtimeMs <= lease) continue;
        }
      }
      await rm(p, { recursive: true, force: true });
    }
  }

  /** The run's own lease, and the dataset's lock once this run holds it (an exclusive run from the start). */
  assertHeld(): void {
    this.runLease.assertHeld();
    this.lock?.assertHeld();
  }

  private held(): LeaseLock {
    if (!this.lock) throw new Error('internal: a dataset commit without its lock');
    return this.lock;
  }

  /** The current version's state files (name -> text): what commands committed with earlier runs (sync's cursors). */
  async readStateFiles(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const from = this.currentDir;
    if (!from) return out;
    for (const name of await readdirOrEmpty(path.join(from, STATE_DIR))) out.set(name, await readFile(path.join(from, STATE_DIR, name), 'utf8'));
    return out;
  }

  /** A state file of the current version (null when it has none): what earlier runs left for later ones. */
  async readStateFile(name: string): Promise<string | null> {
    if (!this.currentDir) return null;
    try {
      return await readFile(path.join(this.currentDir, STATE_DIR, name), 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return null;
      throw err;
    }
  }

  /** Replaces a state file in the version being built: it becomes current with the commit, or is thrown away. */
  async writeState(name: string, text: string): Promise<void> {
    await mkdir(path.join(this.nextDir, STATE_DIR), { recursive: true });
    await writeFile(path.join(this.nextDir, STATE_DIR, name), text, { mode: 0o600 });
  }

  /**
   * Makes the version built in nextDir current: the files of the current version that `deleted` does not name are
   * hard-linked into it, with their key index, the manifests and the catalog; then the `current` symlink is
   * replaced (the commit point). `added` are the data files the run wrote into nextDir. State files: those in `state`
   * and those the run wrote (writeState) go into the new version with the data (so they change in the same commit);
   * the current version's others are kept.
   */
  async commit(
    added: readonly { path: string; table: TableName; rows: number }[],
    deleted: ReadonlySet<string>,
    manifest: Omit<Manifest, 'version' | 'added' | 'deleted' | 'committed_at'>,
    settings: Omit<DatasetSettings, 'version' | 'committed_at'>,
    state: ReadonlyMap<string, string> = new Map(),
  ): Promise<Manifest> {
    const next = this.current + 1;
    const nextDir = this.nextDir;
    const from = this.currentDir;
    const catalog: Catalog = {};
    if (from) {
      for (const [file, entry] of Object.entries(this.catalog)) {
        if (deleted.has(file)) continue;
        this.held().assertHeld();
        await linkInto(from, nextDir, file);
        await linkInto(from, nextDir, keyFilePath(file));
        catalog[file] = entry;
      }
      for (const rejects of await readdirOrEmpty(path.join(from, REJECTS_DIR))) await linkInto(from, nextDir, path.posix.join(REJECTS_DIR, rejects));
      for (const m of await readdirOrEmpty(path.join(from, MANIFESTS_DIR))) await linkInto(from, nextDir, path.posix.join(MANIFESTS_DIR, m));
      // state the run did not replace stays as it was
      for (const f of await readdirOrEmpty(path.join(from, STATE_DIR))) {
        if (state.has(f) || (await lstat(path.join(nextDir, STATE_DIR, f)).catch(() => null))) continue;
        await linkInto(from, nextDir, path.posix.join(STATE_DIR, f));
      }
    }
    for (const [name, text] of state) {
      if (!STATE_FILE_NAME.test(name)) throw new Error(`internal: state file name ${JSON.stringify(name)}`);
      await mkdir(path.join(nextDir, STATE_DIR), { recursive: true });
      await writeFile(path.join(nextDir, STATE_DIR, name), text);
    }
    const addedEntries = [];
    for (const f of added) {
      const full = path.join(nextDir, f.path);
      const entry: CatalogEntry = { table: f.table, rows: f.rows, bytes: (await lstat(full)).size, sha256: await sha256Of(full) };
      catalog[f.path] = entry;
      addedEntries.push({ path: f.path, ...entry });
    }
    const deletedEntries = [...deleted].sort().map((p) => ({ path: p, ...this.catalog[p]! }));
    const committedAt = new Date().toISOString();
    const full: Manifest = { version: next, committed_at: committedAt, ...manifest, added: addedEntries, deleted: deletedEntries };
    const all: DatasetSettings = { ...settings, version: next, committed_at: committedAt };
    await mkdir(path.join(nextDir, MANIFESTS_DIR), { recursive: true });
    await writeFile(path.join(nextDir, MANIFESTS_DIR, `${versionName(next)}.json`), JSON.stringify(full, null, 2) + '\n');
    await writeFile(path.join(nextDir, CATALOG_FILE), JSON.stringify(catalog) + '\n');
    await writeFile(path.join(nextDir, SETTINGS_FILE), JSON.stringify(all, null, 2) + '\n');
    for (const t of new Set(Object.values(catalog).map((e) => e.table))) await mkdir(path.join(nextDir, t), { recursive: true });
    const meta = path.join(this.dir, META_DIR);
    // the table links point through `current`: made once, before the first version they can show (a mapping's
    // custom tables included: every table the catalog holds)
    for (const t of new Set([...TABLE_NAMES, ...Object.values(catalog).map((e) => e.table), REJECTS_DIR])) {
      if ((await lstat(path.join(nextDir, t)).catch(() => null)) && !(await lstat(path.join(this.dir, t)).catch(() => null))) {
        await symlink(path.posix.join(META_DIR, CURRENT_LINK, t), path.join(this.dir, t));
      }
    }
    await NODE_FS.syncDir(nextDir);
    await this.held().verify();
    const versionDir = path.join(meta, VERSIONS_DIR, versionName(next));
    await rename(nextDir, versionDir);
    const tmpLink = path.join(this.runDir, 'current');
    await symlink(path.posix.join(VERSIONS_DIR, versionName(next)), tmpLink);
    await this.held().verify();
    await rename(tmpLink, path.join(meta, CURRENT_LINK)); // the commit point
    await NODE_FS.syncDir(meta);
    if (settings.erased) await removeOldVersions(meta, next, 0);
    else await removeOldVersions(meta, next, graceMs());
    return full;
  }

  /** Removes the run's folder and releases the lock; earlier versions stay. Idempotent. */
  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await rm(this.runDir, { recursive: true, force: true }).catch(() => undefined);
    await this.lock?.release();
    await this.runLease.release();
  }
}

function graceMs(): number {
  const raw = process.env[GRACE_ENV];
  if (raw === undefined || raw === '') return DEFAULT_GRACE_MS;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0)
    throw new ChatportError('CONFIG_BAD_OPTION', `${GRACE_ENV} must be a whole number of milliseconds >= 0 (got ${raw})`, 'config');
  return ms;
}

/** The version `current` points at, 0 when there is none yet. */
async function currentVersion(meta: string): Promise<number> {
  let target: string;
  try {
    target = await readlink(path.join(meta, CURRENT_LINK));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 0;
    throw err;
  }
  const n = parseVersionName(path.posix.basename(target));
  if (n === null) throw new ChatportError('WRITE_IO', `${path.join(meta, CURRENT_LINK)} does not point at a chatport version`, 'write', { file: meta });
  return n;
}

/**
 * Deletes versions older than `current`: every one when a later commit erased content (their links would keep it on
 * disk), else those superseded for longer than `grace` (by the commit time of the version after them).
 */
async function removeOldVersions(meta: string, current: number, grace: number): Promise<void> {
  const versions = path.join(meta, VERSIONS_DIR);
  const nums = (await readdir(versions))
    .map(parseVersionName)
    .filter((n): n is number => n !== null && n <= current)
    .sort((a, b) => a - b);
  const settings = await Promise.all(nums.map((n) => readSettings(path.join(versions, versionName(n)))));
  for (let i = 0; i < nums.length - 1; i++) {
    const erasedAfter = settings.slice(i + 1).some((s) => s?.erased === true);
    const next = settings[i + 1];
    const supersededFor = next ? Date.now() - Date.parse(next.committed_at) : Infinity;
    if (erasedAfter || settings[i] === null || supersededFor > grace) await rm(path.join(versions, versionName(nums[i]!)), { recursive: true, force: true });
  }
}

async function readSettings(vdir: string): Promise<DatasetSettings | null> {
  try {
    return JSON.parse(await readFile(path.join(vdir, SETTINGS_FILE), 'utf8')) as DatasetSettings;
  } catch {
    return null;
  }
}

async function linkInto(fromDir: string, toDir: string, rel: string): Promise<void> {
  const to = path.join(toDir, rel);
  await mkdir(path.dirname(to), { recursive: true });
  await link(path.join(fromDir, rel), to);
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => !n.startsWith('.'));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}

/** DIR/<name> must be missing or chatport's own link into `current` (a run never replaces a user's file). */
async function assertOwnLink(dir: string, name: string): Promise<void> {
  const p = path.join(dir, name);
  const st = await lstat(p).catch(() => null);
  if (st === null) return;
  const expected = path.posix.join(META_DIR, CURRENT_LINK, name);
  if (!st.isSymbolicLink() || (await readlink(p)) !== expected) {
    throw new ChatportError(
      'WRITE_IO',
      `${p} is not chatport's link into the dataset (a dataset directory holds only chatport's tables; move it away)`,
      'write',
      { file: p },
    );
  }
}

export async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function heldError(dir: string, holder: LockHolder): ChatportError {
  const who = holder.content ? `process ${holder.content.pid} on ${holder.content.host}` : 'another process';
  return new ChatportError(
    'WRITE_OUTPUT_LOCKED',
    `${dir} is being written by another chatport run (${who}, lock ${holder.lockDir}); two runs into one dataset would lose one's changes. Wait for it to finish and run again`,
    'write',
    { file: dir },
  );
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
