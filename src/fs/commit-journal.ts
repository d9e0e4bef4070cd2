// Replaces a set of files in one directory all at once, or not at all, across crashes. The new files wait in a run
// folder inside the directory (`<run>/new/<name>`); a commit then:
//
//   1. makes the journal (which names exist now, which are new) appear atomically as DIR/.chatport-commit.json
//   2. moves every existing file of the set into `<run>/old/` as a backup, then every new file into place
//   3. deletes the journal: that is the commit point; the backups go with the run folder afterwards
//
// Any failure before the commit point puts the backups back and removes what was moved in, so the directory holds
// exactly the earlier files again; if that fails too (or the process dies), `recoverCommit` does it from the journal
// before the next run touches the directory. Rolling back is safe to repeat after it was interrupted itself. The
// caller holds the directory's lock throughout (src/fs/lease-lock.ts) and checks it right before each step that
// cannot be undone by the next run (`beforeCommitPoint`).

import { join } from 'node:path';
import { ChatportError, type Stage } from '../errors.js';
import { errnoCode } from './errno.js';
import type { FsOps } from './fs-ops.js';

/** Present in the directory only while a commit is under way: what the next run must roll back. */
export const COMMIT_JOURNAL_NAME = '.chatport-commit.json';

export interface CommitEntry {
  /** A file name inside the directory. */
  readonly name: string;
  /** A file of that name exists before the commit (it is backed up, and restored on rollback). */
  readonly old: boolean;
  /** The commit moves a new file to that name from `<run>/new/`. */
  readonly new: boolean;
}

interface CommitJournal {
  readonly v: 1;
  /** The run folder's name inside the directory: `new/` holds the staged files, `old/` the backups. */
  readonly run: string;
  readonly entries: readonly CommitEntry[];
}

export interface CommitTarget {
  readonly dir: string;
  /** Name of the run folder inside `dir`. */
  readonly run: string;
  readonly fs: FsOps;
  /** Stage of the errors raised, and what the directory is called in them (e.g. `--out out/`). */
  readonly stage: Stage;
  readonly what: string;
}

/** Errors of commits whose rollback failed too: the journal and the run folder (the backups) must stay. */
const unrestored = new WeakSet<object>();

/** Whether a commitAll error left the directory for recoverCommit: then keep the run folder. */
export function leftForRecovery(err: unknown): boolean {
  return typeof err === 'object' && err !== null && unrestored.has(err);
}

/**
 * Commits `entries` (see the header). Throws after restoring the earlier files; when restoring fails too, the
 * error says that the next run restores them (and `leftForRecovery` is true for it).
 */
export async function commitAll(target: CommitTarget, entries: readonly CommitEntry[], beforeCommitPoint: () => Promise<void>): Promise<void> {
  const { dir, run, fs } = target;
  const runDir = join(dir, run);
  const journal: CommitJournal = { v: 1, run, entries };
  const draft = join(runDir, 'commit.json');
  try {
    await fs.writeDurable(draft, JSON.stringify(journal) + '\n');
    await fs.rename(draft, join(dir, COMMIT_JOURNAL_NAME));
    await fs.syncDir(dir);
  } catch (err) {
    throw asIoError(target, `prepare the commit of ${target.what}`, err); // nothing in dir was touched yet
  }
  try {
    await fs.mkdir(join(runDir, 'old'), 0o700);
    for (const e of entries) if (e.old) await fs.rename(join(dir, e.name), join(runDir, 'old', e.name));
    for (const e of entries) if (e.new) await fs.rename(join(runDir, 'new', e.name), join(dir, e.name));
    await fs.syncDir(join(runDir, 'old'));
    await fs.syncDir(dir);
    await beforeCommitPoint();
    await fs.unlink(join(dir, COMMIT_JOURNAL_NAME)); // the commit point
  } catch (err) {
    const failure = asIoError(target, `commit ${target.what}`, err);
    try {
      await rollBack(dir, journal, fs);
    } catch (restoreErr) {
      const detail = restoreErr instanceof Error ? restoreErr.message : String(restoreErr);
      const error = new ChatportError(
        'WRITE_IO',
        `${failure instanceof Error ? failure.message : String(failure)}; restoring the earlier files failed too (${detail}): the next chatport run on ${target.what} restores them from ${COMMIT_JOURNAL_NAME}`,
        target.stage,
        { file: dir },
      );
      unrestored.add(error);
      throw error;
    }
    throw failure;
  }
  await fs.syncDir(dir);
}

/**
 * Rolls back a commit that a run did not finish (it died, or its own rollback failed). Call under the lock, before
 * anything else touches the directory and before stale run folders are removed. `validName` refuses a journal
 * whose names the caller does not own. Returns whether there was one.
 */
export async function recoverCommit(target: Omit<CommitTarget, 'run'>, validName: (name: string) => boolean, runPrefix: string): Promise<boolean> {
  const { dir, fs } = target;
  const journalPath = join(dir, COMMIT_JOURNAL_NAME);
  let text: string | null;
  try {
    text = await fs.readText(journalPath);
  } catch (err) {
    throw asIoError(target, `read ${journalPath}`, err);
  }
  if (text === null) return false;
  const journal = parseJournal(text, validName, runPrefix);
  if (journal === null) {
    throw new ChatportError(
      'WRITE_IO',
      `${journalPath} (left by a run that stopped during its commit) cannot be read; restore the earlier files from ${join(dir, `${runPrefix}*`, 'old')} by hand, then delete it`,
      target.stage,
      { file: journalPath },
    );
  }
  try {
    await rollBack(dir, journal, fs);
  } catch (err) {
    throw asIoError(target, `restore the files of an interrupted commit of ${target.what}`, err);
  }
  return true;
}

/**
 * Puts the earlier files back from the journal; safe to repeat. Backups are all made before any new file moves in,
 * so: a backup that is still there goes back over whatever holds its name; no backup means the earlier file never
 * moved; a new name with no earlier file and no staged copy was moved in, and is removed.
 */
async function rollBack(dir: string, journal: CommitJournal, fs: FsOps): Promise<void> {
  const runDir = join(dir, journal.run);
  for (const e of journal.entries) {
    const final = join(dir, e.name);
    if (e.old) {
      const backup = join(runDir, 'old', e.name);
      if ((await fs.lstat(backup)) !== null) await fs.rename(backup, final);
    } else if (e.new && (await fs.lstat(join(runDir, 'new', e.name))) === null && (await fs.lstat(final)) !== null) {
      await fs.unlink(final);
    }
  }
  await fs.syncDir(dir);
  await fs.unlink(join(dir, COMMIT_JOURNAL_NAME));
  await fs.syncDir(dir);
}

function parseJournal(text: string, validName: (name: string) => boolean, runPrefix: string): CommitJournal | null {
  try {
    const j = JSON.parse(text) as CommitJournal;
    const plainName = (n: unknown) => typeof n === 'string' && n !== '' && n !== '.' && n !== '..' && !/[/\\]/.test(n);
    const okRun = plainName(j.run) && j.run.startsWith(runPrefix) && j.run !== runPrefix;
    const okEntries =
      Array.isArray(j.entries) &&
      j.entries.every(
        (e) => typeof e === 'object' && e !== null && plainName(e.name) && validName(e.name) && typeof e.old === 'boolean' && typeof e.new === 'boolean',
      );
    return j.v === 1 && okRun && okEntries ? j : null;
  } catch {
    return null;
  }
}

/** File-system errors become WRITE_IO; chatport's own and programming errors pass as they are. */
function asIoError(target: Pick<CommitTarget, 'stage' | 'dir'>, action: string, err: unknown): unknown {
  if (errnoCode(err) === undefined || err instanceof ChatportError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new ChatportError('WRITE_IO', `cannot ${action}: ${detail}`, target.stage, { file: target.dir });
}
