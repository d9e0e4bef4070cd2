// Where a run keeps its temporary data (staged outputs, spills): one folder of its own beside what it protects,
// claimed under that thing's lock. Claiming first removes every folder or file with the same prefix, which only runs
// killed before they could clean up can have left (the lock says no other run is alive), so a kill -9 leaves
// temporary data, with its ids, times and text, only until the next run on the same output or state.

import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
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
