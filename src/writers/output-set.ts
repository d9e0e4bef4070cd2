// An export's output directory as one unit: every file a run writes appears together, or none does. A run opens
// `--out` under the lease lock, rolls back a commit an earlier run left unfinished (kill -9, power cut), removes the
// temporary data of dead runs, and gets a temporary folder of its own inside `--out`, where its writers and spills
// work. Commit then swaps the whole set with a journal:
//
//   1. the journal (which owned names exist now, which the run wrote) appears atomically as OUT/.chatport-commit.json
//   2. every owned file that exists is moved into the run folder as a backup, then every new file is moved in
//   3. deleting the journal is the commit point; the backups go with the run folder
//
// Any failure before the commit point puts the backups back and removes what was moved in, so the directory holds
// exactly the old set again; if even that fails (or the process dies), the next open does it from the journal. Names
// outside OWNED_NAMES are never touched. A run owns all of them, so a file it did not write this time (a stale
// rejects.jsonl, a CSV beside new Parquet files) is removed by the commit: what is in `--out` is one run's output.

import { basename, join } from 'node:path';
import { ChatportError } from '../errors.js';
import { TABLE_NAMES } from '../model/canonical-schema.js';
import { errnoCode } from '../fs/errno.js';
import { NODE_FS, type FsOps } from '../fs/fs-ops.js';
import { LeaseLock, type LeaseLockOptions, type LockHolder } from '../fs/lease-lock.js';
import { removeStaleTemp } from '../fs/temp-folder.js';
import { TEMP_PREFIX } from './atomic-file.js';
import { FORMAT_NAMES, WRITERS } from './registry.js';

export const REJECTS_NAME = 'rejects.jsonl';

/** Every name a run owns in its output directory: each canonical table in each format, and the rejects. */
export const OWNED_NAMES: readonly string[] = Object.freeze([
  ...TABLE_NAMES.flatMap((table) => FORMAT_NAMES.map((format) => `${table}${WRITERS[format].extension}`)),
  REJECTS_NAME,
]);

/** The lease lock directory inside --out (it keeps one small file between runs, never any data). */
export const LOCK_DIR_NAME = '.chatport-lock';
/** Present only while a commit is under way: what the next run must roll back. */
export const COMMIT_JOURNAL_NAME = '.chatport-commit.json';
/** A run's temporary folder: `.chatport-tmp-run-<random>`; the prefix is the one every chatport temporary name has. */
const RUN_PREFIX = `${TEMP_PREFIX}run-`;

interface JournalEntry {
  readonly name: string;
  /** A file of that name existed before the commit (it is backed up, and restored on rollback). */
  readonly old: boolean;
  /** The run wrote that name. */
  readonly new: boolean;
}

interface CommitJournal {
  readonly v: 1;
  /** The run folder's name, inside --out: it holds `new/` (staged files) and `old/` (backups). */
  readonly run: string;
  readonly entries: readonly JournalEntry[];
}

export interface OutputSetOptions {
  /** The file operations (tests make single steps fail). */
  readonly fs?: FsOps;
  /** Lease and waiting of the lock (defaults: lease.ts). */
  readonly lock?: Pick<LeaseLockOptions, 'leaseMs' | 'heartbeatMs' | 'waitMs' | 'now' | 'onLost'>;
}

export class OutputSet {
  private state: 'open' | 'committing' | 'committed' | 'aborted' = 'open';

  private constructor(
    readonly outDir: string,
    /** This run's temporary folder inside outDir. */
    readonly runDir: string,
    private readonly lock: LeaseLock,
    private readonly fs: FsOps,
  ) {}

  /**
   * Creates `outDir` if needed and takes it for this run: lock, roll back an unfinished commit, remove stale
   * temporary data, check that every owned name can be replaced, create the run's temporary folder.
   */
  static async open(outDir: string, options: OutputSetOptions = {}): Promise<OutputSet> {
    const fs = options.fs ?? NODE_FS;
    try {
      await fs.mkdir(outDir);
    } catch (err) {
      throw dirError(outDir, err);
    }
    const lock = await LeaseLock.acquire(join(outDir, LOCK_DIR_NAME), {
      ...options.lock,
      what: `--out ${outDir}`,
      stage: 'write',
      heldError: (holder) => heldError(outDir, holder),
    });
    try {
      await recoverCommit(outDir, fs);
      await removeStaleTemp(outDir, TEMP_PREFIX, fs).catch((err: unknown) => {
        throw ioError('remove temporary data of an earlier run in', outDir, err);
      });
      for (const name of OWNED_NAMES) await assertReplaceable(outDir, name, fs);
      const runDir = join(outDir, `${RUN_PREFIX}${lock.token.slice(0, 12)}`);
      try {
        await fs.mkdir(join(runDir, 'new'), 0o700);
        await fs.mkdir(join(runDir, 'scratch'), 0o700);
      } catch (err) {
        throw dirError(outDir, err);
      }
      return new OutputSet(outDir, runDir, lock, fs);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  /** Aborted, with RUN_LOCK_LOST as reason, when the lock on the output directory is found lost. */
  get signal(): AbortSignal {
    return this.lock.signal;
  }

  /** For spills and any other temporary data of the run: removed at the end, and by the next run after a kill. */
  get scratchDir(): string {
    return join(this.runDir, 'scratch');
  }

  /** Where the run writes the file that becomes `OUT/<name>` on commit. */
  stagePath(name: string): string {
    if (!OWNED_NAMES.includes(name)) throw new Error(`${name} is not an output chatport owns`);
    return join(this.runDir, 'new', name);
  }

  /** Throws RUN_LOCK_LOST when the lock is no longer this run's (no I/O; call between batches). */
  assertHeld(): void {
    this.lock.assertHeld();
  }

  /**
   * Makes the staged files named in `written` the output directory's owned files, all at once; every other owned
   * file is removed. On failure the earlier set is restored before this throws (or, if that fails too, by the next
   * open). Releases the lock.
   */
  async commit(written: readonly string[]): Promise<void> {
    if (this.state !== 'open') throw new Error(`output set ${this.outDir}: commit after ${this.state}`);
    this.state = 'committing';
    const { fs, outDir, runDir } = this;
    const journalPath = join(outDir, COMMIT_JOURNAL_NAME);
    let journal: CommitJournal;
    try {
      await this.lock.verify();
      const wanted = new Set(written);
      for (const name of wanted) {
        if ((await fs.lstat(this.stagePath(name)))?.isFile() !== true) {
          throw new Error(`${name} was not written, yet the run commits it`);
        }
      }
      const entries: JournalEntry[] = [];
      for (const name of OWNED_NAMES) {
        const old = await assertReplaceable(outDir, name, fs);
        if (old || wanted.has(name)) entries.push({ name, old, new: wanted.has(name) });
      }
      journal = { v: 1, run: basename(runDir), entries };
      const draft = join(runDir, 'commit.json');
      await fs.writeDurable(draft, JSON.stringify(journal) + '\n');
      await fs.rename(draft, journalPath);
      await fs.syncDir(outDir);
    } catch (err) {
      // nothing in outDir was touched yet
      await this.abort();
      throw asIoError('prepare the commit of', outDir, err);
    }
    try {
      await fs.mkdir(join(runDir, 'old'), 0o700);
      for (const e of journal.entries) if (e.old) await fs.rename(join(outDir, e.name), join(runDir, 'old', e.name));
      for (const e of journal.entries) if (e.new) await fs.rename(join(runDir, 'new', e.name), join(outDir, e.name));
      await fs.syncDir(join(runDir, 'old'));
      await fs.syncDir(outDir);
      await this.lock.verify();
      await fs.unlink(journalPath); // the commit point
    } catch (err) {
      const failure = asIoError('commit the outputs in', outDir, err);
      try {
        await rollBack(outDir, journal, fs);
      } catch (restoreErr) {
        this.state = 'aborted';
        await this.lock.release();
        const detail = restoreErr instanceof Error ? restoreErr.message : String(restoreErr);
        throw new ChatportError(
          'WRITE_IO',
          `${failure instanceof Error ? failure.message : String(failure)}; restoring the earlier outputs failed too (${detail}): the next chatport run into ${outDir} restores them from ${COMMIT_JOURNAL_NAME}`,
          'write',
          { file: outDir },
        );
      }
      await this.abort();
      throw failure;
    }
    this.state = 'committed';
    await fs.syncDir(outDir);
    // after the commit point: leftovers are only backups, and the next run removes them if this fails
    await fs.rm(runDir).catch(() => undefined);
    await this.lock.release();
  }

  /** Drops the run's temporary folder and releases the lock; earlier outputs stay as they are. Idempotent. */
  async abort(): Promise<void> {
    if (this.state === 'committed' || this.state === 'aborted') return;
    this.state = 'aborted';
    await this.fs.rm(this.runDir).catch(() => undefined); // else removed by the next run
    await this.lock.release();
  }
}

/** Rolls back a commit that an earlier run did not finish. Runs under the lock, before anything else. */
async function recoverCommit(outDir: string, fs: FsOps): Promise<void> {
  const journalPath = join(outDir, COMMIT_JOURNAL_NAME);
  let text: string | null;
  try {
    text = await fs.readText(journalPath);
  } catch (err) {
    throw ioError('read', journalPath, err);
  }
  if (text === null) return;
  const journal = parseJournal(text);
  if (journal === null) {
    throw new ChatportError(
      'WRITE_IO',
      `${journalPath} (left by a run that stopped during its commit) cannot be read; restore the earlier outputs from ${join(outDir, `${RUN_PREFIX}*`, 'old')} by hand, then delete it`,
      'write',
      { file: journalPath },
    );
  }
  try {
    await rollBack(outDir, journal, fs);
  } catch (err) {
    throw ioError('restore the outputs of an interrupted commit in', outDir, err);
  }
}

/**
 * Puts the old set back from the journal; safe to repeat after it was interrupted itself. Backups are all made
 * before any new file moves in, so: a backup that is still there goes back over whatever holds its name; no backup
 * means the old file never moved; a new name with no old file and no staged copy was moved in and is removed.
 */
async function rollBack(outDir: string, journal: CommitJournal, fs: FsOps): Promise<void> {
  const runDir = join(outDir, journal.run);
  for (const e of journal.entries) {
    const final = join(outDir, e.name);
    if (e.old) {
      const backup = join(runDir, 'old', e.name);
      if ((await fs.lstat(backup)) !== null) await fs.rename(backup, final);
    } else if (e.new && (await fs.lstat(join(runDir, 'new', e.name))) === null && (await fs.lstat(final)) !== null) {
      await fs.unlink(final);
    }
  }
  await fs.syncDir(outDir);
  await fs.unlink(join(outDir, COMMIT_JOURNAL_NAME));
  await fs.syncDir(outDir);
}

function parseJournal(text: string): CommitJournal | null {
  try {
    const j = JSON.parse(text) as CommitJournal;
    const okRun = typeof j.run === 'string' && j.run.startsWith(RUN_PREFIX) && !/[/\\]/.test(j.run) && j.run !== RUN_PREFIX;
    const okEntries =
      Array.isArray(j.entries) && j.entries.every((e) => typeof e === 'object' && e !== null && OWNED_NAMES.includes(e.name) && typeof e.old === 'boolean' && typeof e.new === 'boolean');
    return j.v === 1 && okRun && okEntries ? j : null;
  } catch {
    return null;
  }
}

/** Whether `OUT/<name>` exists; refuses a directory there (a run would have to delete it to own the name). */
async function assertReplaceable(outDir: string, name: string, fs: FsOps): Promise<boolean> {
  const path = join(outDir, name);
  let st: Awaited<ReturnType<FsOps['lstat']>>;
  try {
    st = await fs.lstat(path);
  } catch (err) {
    throw ioError('check', path, err);
  }
  if (st?.isDirectory()) {
    throw new ChatportError('WRITE_IO', `cannot replace ${path}: it is a directory (chatport owns that name in --out; move the directory away)`, 'write', { file: path });
  }
  return st !== null;
}

function heldError(outDir: string, holder: LockHolder): ChatportError {
  const who = holder.content ? `process ${holder.content.pid} on ${holder.content.host}` : 'another process';
  return new ChatportError(
    'WRITE_OUTPUT_LOCKED',
    `${outDir} is being written by another chatport run (${who}, lock ${holder.lockDir}); two runs into one --out would mix their files. Wait for it to finish, or use another --out`,
    'write',
    { file: outDir },
  );
}

/** Errors that mean "this directory cannot hold our output", as opposed to a failing disk. */
const DIR_ERRORS = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'ENOENT', 'ELOOP', 'ENAMETOOLONG', 'EEXIST']);

function dirError(dir: string, err: unknown): ChatportError {
  if (err instanceof ChatportError) return err;
  const code = errnoCode(err);
  if (code !== undefined && !DIR_ERRORS.has(code)) return ioError('create a folder in', dir, err);
  const detail = err instanceof Error ? err.message : String(err);
  return new ChatportError('WRITE_OUTPUT_DIR', `output directory ${dir} cannot be created or written: ${detail}`, 'write', { file: dir });
}

function ioError(action: string, path: string, err: unknown): ChatportError {
  const detail = err instanceof Error ? err.message : String(err);
  return new ChatportError('WRITE_IO', `cannot ${action} ${path}: ${detail}`, 'write', { file: path });
}

/** File-system errors become WRITE_IO; chatport's own and programming errors pass as they are. */
function asIoError(action: string, path: string, err: unknown): unknown {
  return errnoCode(err) === undefined || err instanceof ChatportError ? err : ioError(action, path, err);
}
