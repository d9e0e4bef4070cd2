// An export's output directory as one unit: every file a run writes appears together, or none does. A run opens
// `--out` under the lease lock (src/fs/lease-lock.ts), rolls back a commit an earlier run left unfinished (kill -9,
// power cut), removes the temporary data of dead runs, and gets a temporary folder of its own inside `--out`, where
// its writers and spills work. Commit then swaps the whole set through the commit journal (src/fs/commit-journal.ts).
//
// A run owns OWNED_NAMES in `--out` (each canonical table in each format, and rejects.jsonl), plus each of its
// mapping's custom tables in each format, and never touches any other name. It owns all of them, so a file it did
// not write this time (a stale rejects.jsonl, a CSV beside new Parquet files) is removed by its commit: what `--out`
// holds is always exactly one run's output.

import { basename, join } from 'node:path';
import { ChatportError } from '../errors.js';
import { TABLE_NAMES } from '../model/canonical-schema.js';
import { COMMIT_JOURNAL_NAME, commitAll, leftForRecovery, recoverCommit, type CommitEntry } from '../fs/commit-journal.js';
import { errnoCode } from '../fs/errno.js';
import { NODE_FS, type FsOps } from '../fs/fs-ops.js';
import { LeaseLock, type LeaseLockOptions, type LockHolder } from '../fs/lease-lock.js';
import { removeStaleTemp } from '../fs/temp-folder.js';
import { TEMP_PREFIX } from './atomic-file.js';
import { FORMAT_NAMES, WRITERS } from './registry.js';

export { COMMIT_JOURNAL_NAME };

export const REJECTS_NAME = 'rejects.jsonl';

/** Every name a run owns in its output directory: each canonical table in each format, and the rejects. */
export const OWNED_NAMES: readonly string[] = Object.freeze([
  ...TABLE_NAMES.flatMap((table) => FORMAT_NAMES.map((format) => `${table}${WRITERS[format].extension}`)),
  REJECTS_NAME,
]);

/** The lease lock directory inside --out: there while a run works, removed when it ends. */
export const LOCK_DIR_NAME = '.chatport-lock';
/** A run's temporary folder: `.chatport-tmp-run-<random>`; the prefix is the one every chatport temporary name has. */
const RUN_PREFIX = `${TEMP_PREFIX}run-`;

/** The file names of tables in every format. */
function tableFileNames(tables: readonly string[]): string[] {
  return tables.flatMap((table) => FORMAT_NAMES.map((format) => `${table}${WRITERS[format].extension}`));
}

/** A name an interrupted commit of any run may have journaled: a table file (canonical or custom) or the rejects. */
const JOURNALED_NAME = new RegExp(
  `^(${REJECTS_NAME.replace('.', '\\.')}|[a-z][a-z0-9_]{0,62}(${FORMAT_NAMES.map((f) => WRITERS[f].extension.replace('.', '\\.')).join('|')}))$`,
);

export interface OutputSetOptions {
  /** The mapping's custom tables (their files are owned like the canonical ones). */
  readonly customTables?: readonly string[];
  /** The file operations (tests make single steps fail). */
  readonly fs?: FsOps;
  /** Lease and waiting of the lock (defaults: lease-lock.ts). */
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
    /** Every file name this run owns in outDir. */
    private readonly owned: readonly string[],
  ) {}

  /**
   * Creates `outDir` if needed and takes it for this run: lock, roll back an unfinished commit, remove stale
   * temporary data, check that every owned name can be replaced, create the run's temporary folder.
   */
  static async open(outDir: string, options: OutputSetOptions = {}): Promise<OutputSet> {
    const fs = options.fs ?? NODE_FS;
    const owned = [...OWNED_NAMES, ...tableFileNames(options.customTables ?? [])];
    try {
      await fs.mkdir(outDir);
      await fs.mkdir(join(outDir, LOCK_DIR_NAME)); // here, so that a read-only or foreign --out is WRITE_OUTPUT_DIR
    } catch (err) {
      throw dirError(outDir, err);
    }
    const what = `--out ${outDir}`;
    const lock = await LeaseLock.acquire(join(outDir, LOCK_DIR_NAME), {
      ...options.lock,
      what,
      stage: 'write',
      heldError: (holder) => heldError(outDir, holder),
    });
    try {
      // a journal left by a run of another mapping names its custom tables: they are chatport's table files too
      await recoverCommit({ dir: outDir, fs, stage: 'write', what }, (name) => owned.includes(name) || JOURNALED_NAME.test(name), RUN_PREFIX);
      await removeStaleTemp(outDir, TEMP_PREFIX, fs).catch((err: unknown) => {
        throw ioError('remove temporary data of an earlier run in', outDir, err);
      });
      for (const name of owned) await assertReplaceable(outDir, name, fs);
      const runDir = join(outDir, `${RUN_PREFIX}${lock.token.slice(0, 12)}`);
      try {
        await fs.mkdir(join(runDir, 'new'), 0o700);
        await fs.mkdir(join(runDir, 'scratch'), 0o700);
      } catch (err) {
        throw dirError(outDir, err);
      }
      return new OutputSet(outDir, runDir, lock, fs, owned);
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
    if (!this.owned.includes(name)) throw new Error(`${name} is not an output chatport owns`);
    return join(this.runDir, 'new', name);
  }

  /** Throws RUN_LOCK_LOST when the lock is no longer this run's (call between batches: it also keeps the lease). */
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
    const { fs, outDir } = this;
    const entries: CommitEntry[] = [];
    try {
      await this.lock.verify();
      const wanted = new Set(written);
      for (const name of wanted) {
        if ((await fs.lstat(this.stagePath(name)))?.isFile() !== true) throw new Error(`${name} was not written, yet the run commits it`);
      }
      for (const name of this.owned) {
        const old = await assertReplaceable(outDir, name, fs);
        if (old || wanted.has(name)) entries.push({ name, old, new: wanted.has(name) });
      }
    } catch (err) {
      await this.abort();
      throw err;
    }
    try {
      await commitAll({ dir: outDir, run: basename(this.runDir), fs, stage: 'write', what: `--out ${outDir}` }, entries, () => this.lock.verify());
    } catch (err) {
      if (!leftForRecovery(err)) await this.abort();
      else {
        // the run folder holds the backups the next run restores from: keep it
        this.state = 'aborted';
        await this.lock.release();
      }
      throw err;
    }
    this.state = 'committed';
    // after the commit point: leftovers are only backups, and the next run removes them if this fails
    await fs.rm(this.runDir).catch(() => undefined);
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
    throw new ChatportError('WRITE_IO', `cannot replace ${path}: it is a directory (chatport owns that name in --out; move the directory away)`, 'write', {
      file: path,
    });
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
