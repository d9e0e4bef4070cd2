// The file-system operations that commits, recovery and temporary folders are built from, behind one small
// interface: tests replace it to make any single step fail (disk full, EIO) or to kill the process at that step,
// which is how "the old set or the new set, never a mix" is checked at every point.

import { open, lstat, mkdir, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { errnoCode } from './errno.js';

export interface FsOps {
  /** mkdir -p; `mode` for the folders it creates (default 0o755 less the umask). */
  mkdir(path: string, mode?: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** rm -rf; no error when missing. */
  rm(path: string): Promise<void>;
  /** What is at `path` (not following a symlink), or null when nothing is. */
  lstat(path: string): Promise<{ isFile(): boolean; isDirectory(): boolean } | null>;
  readdir(path: string): Promise<string[]>;
  /** The file's text, or null when it does not exist. */
  readText(path: string): Promise<string | null>;
  /** Creates or replaces a file with `text` and fsyncs it. */
  writeDurable(path: string, text: string): Promise<void>;
  /** fsyncs a directory so that renames in it survive a power cut. Best effort: some filesystems refuse. */
  syncDir(path: string): Promise<void>;
}

export const NODE_FS: FsOps = {
  async mkdir(path, mode = 0o755) {
    await mkdir(path, { recursive: true, mode });
  },
  rename,
  unlink,
  async rm(path) {
    await rm(path, { recursive: true, force: true });
  },
  async lstat(path) {
    try {
      return await lstat(path);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return null;
      throw err;
    }
  },
  readdir: (path) => readdir(path),
  async readText(path) {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return null;
      throw err;
    }
  },
  async writeDurable(path, text) {
    const handle = await open(path, 'w', 0o644);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  async syncDir(path) {
    let handle;
    try {
      handle = await open(path, 'r');
      await handle.sync();
    } catch {
      // durability only: a filesystem that cannot fsync a directory still renames atomically
    } finally {
      await handle?.close().catch(() => undefined);
    }
  },
};
