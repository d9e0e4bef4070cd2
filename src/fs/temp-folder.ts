// Where a run keeps its temporary data (staged outputs, spills): one folder of its own beside what it protects,
// claimed under that thing's lock. Claiming first removes every folder or file with the same prefix, which only runs
// killed before they could clean up can have left (the lock says no other run is alive), so a kill -9 leaves
// temporary data, with its ids, times and text, only until the next run on the same output or state.
// A run that owns no directory (validate, the reading side of migrate, a library call without tempDir) uses the OS
// temporary directory instead, in a folder named with its pid; any chatport run removes the folders whose process
// is gone, which is the only way such a folder outlives its run (kill -9, power loss).

import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_FS, type FsOps } from './fs-ops.js';

/** Removes `dir/<prefix>*` (stale temporary data). Call only while holding the lock that owns `dir`'s data. */
export async function removeStaleTemp(dir: string, prefix: string, fs: FsOps = NODE_FS): Promise<void> {
  for (const name of await fs.readdir(dir)) {
    if (name.startsWith(prefix)) await fs.rm(join(dir, name));
  }
}

/** Removes stale temporary data and creates this run's folder `dir/<prefix><random>`, readable by its owner only. */
export async function claimTempFolder(dir: string, prefix: string, fs: FsOps = NODE_FS): Promise<string> {
  await removeStaleTemp(dir, prefix, fs);
  const folder = join(dir, `${prefix}${randomBytes(6).toString('hex')}`);
  await fs.mkdir(folder, 0o700);
  return folder;
}

/** Removes a run's temporary folder; for synchronous close paths. Never throws (best effort: the next run cleans). */
export function removeTempFolderSync(folder: string): void {
  try {
    rmSync(folder, { recursive: true, force: true });
  } catch {
    // left for the next run
  }
}

/** `chatport-<kind>-<pid>-<random>`: the pid tells a later run whether the folder's owner is still alive. */
const OS_TEMP_NAME = /^chatport-[a-z]+-(\d+)-[A-Za-z0-9]+$/;

/**
 * Creates this run's folder in the OS temporary directory (readable by its owner only), after removing those of
 * chatport processes that no longer run. A folder whose pid is alive (or belongs to another user: EPERM) is left
 * alone, so a recycled pid can only delay a cleanup, never remove a live run's data.
 */
export async function claimOsTempFolder(kind: string): Promise<string> {
  const parent = tmpdir();
  await removeOrphanedOsTemp(parent);
  return mkdtemp(join(parent, `chatport-${kind}-${process.pid}-`));
}

/** Removes `parent/chatport-<kind>-<pid>-*` of every pid that is not a running process. */
export async function removeOrphanedOsTemp(parent: string = tmpdir()): Promise<number> {
  let removed = 0;
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return 0;
  }
  for (const name of names) {
    const m = OS_TEMP_NAME.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    try {
      await rm(join(parent, name), { recursive: true, force: true });
      removed++;
    } catch {
      // another user's folder, or gone meanwhile: not ours to force
    }
  }
  return removed;
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
