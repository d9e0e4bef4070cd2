// Where things live in a dataset (docs/datasets.md): DIR/<table> is a symlink to `_chatport/current/<table>`,
// `_chatport/current` a symlink to the current version `_chatport/versions/<n>`, and a version holds every table's
// files in Hive-style day partitions, the key index beside them, the manifests and the dataset's settings.
// Names here are the only place file names are made; none is ever built from data except the partition's day.

import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { formatMicros } from '../model/timestamp.js';
import type { Row, TableName } from '../model/canonical-schema.js';

export const META_DIR = '_chatport';
export const VERSIONS_DIR = 'versions';
export const CURRENT_LINK = 'current';
export const LOCK_DIR = 'lock';
export const KEYS_DIR = 'keys';
export const MANIFESTS_DIR = 'manifests';
export const REJECTS_DIR = 'rejects';
export const SETTINGS_FILE = 'dataset.json';
/**
 * A version's state files: small files a command commits with its run (sync's cursors, the forgotten people's
 * salted hashes), carried over to the next version otherwise.
 */
export const STATE_DIR = 'state';
/** A state file's name: chosen by the command, never from data. */
export const STATE_FILE_NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/;
export const KEY_FILE_EXT = '.keys';
/** Hive's name for a null partition value: Spark, Hive and DuckDB read it back as NULL. */
export const NULL_PARTITION = '__HIVE_DEFAULT_PARTITION__';

/** A version's directory name: fixed width so that names sort as numbers. */
export function versionName(n: number): string {
  return String(n).padStart(8, '0');
}

export function parseVersionName(name: string): number | null {
  return /^\d{8}$/.test(name) ? Number(name) : null;
}

/** A run's id: its start time (sortable) and a random part, unique across shards writing at the same second. */
export function newRunId(now = new Date()): string {
  const t = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${t}-${randomBytes(4).toString('hex')}`;
}

/** The partition folder of a row: the UTC day of a timestamp in microseconds, or the null partition. */
export function partitionOf(micros: unknown): string {
  if (typeof micros !== 'number' || !Number.isFinite(micros)) return `dt=${NULL_PARTITION}`;
  return `dt=${formatMicros(micros).slice(0, 10)}`;
}

/** The partition a row of `table` goes to, given the created_at of its own row (or of its conversation). */
export function rowPartition(row: Row): string {
  return partitionOf(row.created_at);
}

/** A data file's path relative to the version: `<table>/<partition>/part-<run>-<n><ext>`. */
export function dataFilePath(table: TableName, partition: string, runId: string, seq: number, extension: string): string {
  return path.posix.join(table, partition, `part-${runId}-${String(seq).padStart(5, '0')}${extension}`);
}

/** The key index file of a data file (same relative path under keys/, with .keys). */
export function keyFilePath(dataFile: string): string {
  return path.posix.join(KEYS_DIR, dataFile.replace(/\.[^/]+$/, '') + KEY_FILE_EXT);
}

/** The table a data file's relative path belongs to. */
export function tableOfPath(dataFile: string): TableName {
  return dataFile.split('/')[0] as TableName;
}
