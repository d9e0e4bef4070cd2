// Reads a dataset's committed state without the lock (readers never take it): the version `current` points at,
// its settings, the files per table and the manifests of every run kept in it, oldest first.

import { readFile, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { ChatportError } from '../errors.js';
import { errnoCode } from '../fs/errno.js';
import type { Catalog, DatasetSettings } from './dataset-store.js';
import { CURRENT_LINK, MANIFESTS_DIR, META_DIR, SETTINGS_FILE, VERSIONS_DIR } from './layout.js';
import type { Manifest } from './manifest.js';

export interface DatasetInfo {
  readonly dir: string;
  readonly settings: DatasetSettings;
  /** The current version's folder: a path no later commit changes (for readers that must not see a commit). */
  readonly pinned: string;
  readonly tables: Record<string, { rows: number; files: number; bytes: number }>;
  readonly manifests: readonly Manifest[];
}

export async function readDatasetInfo(dir: string): Promise<DatasetInfo> {
  const meta = path.join(dir, META_DIR);
  let target: string;
  try {
    target = await readlink(path.join(meta, CURRENT_LINK));
  } catch (err) {
    const why =
      errnoCode(err) === 'ENOENT' ? 'has no committed run (is it a chatport dataset?)' : `cannot be read: ${err instanceof Error ? err.message : String(err)}`;
    throw new ChatportError('CONFIG_BAD_OPTION', `${dir} ${why}`, 'cli', { file: dir });
  }
  // resolved once: every read below is of the same version, whatever commits meanwhile
  const vdir = path.join(meta, VERSIONS_DIR, path.posix.basename(target));
  const settings = JSON.parse(await readFile(path.join(vdir, SETTINGS_FILE), 'utf8')) as DatasetSettings;
  const catalog = JSON.parse(await readFile(path.join(vdir, 'files.json'), 'utf8')) as Catalog;
  const tables: DatasetInfo['tables'] = {};
  for (const entry of Object.values(catalog)) {
    const t = (tables[entry.table] ??= { rows: 0, files: 0, bytes: 0 });
    t.rows += entry.rows;
    t.files++;
    t.bytes += entry.bytes;
  }
  const names = (await readdir(path.join(vdir, MANIFESTS_DIR))).filter((n) => n.endsWith('.json')).sort();
  const manifests = await Promise.all(names.map(async (n) => JSON.parse(await readFile(path.join(vdir, MANIFESTS_DIR, n), 'utf8')) as Manifest));
  return { dir, settings, pinned: vdir, tables, manifests };
}
