// What each committed run records for loaders and auditors (docs/datasets.md#the-manifest): the files it added
// and deleted (rows, bytes, sha256), the rows it wrote, replaced and erased, the inputs it read, the mapping's hash
// and the chatport version. No id, no content: names, counts and hashes only.

import type { TableName } from '../model/canonical-schema.js';

export interface ManifestFile {
  readonly path: string;
  readonly table: TableName;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
}

export interface TableChanges {
  /** Rows the run wrote (its own and recomputed derived rows). */
  written: number;
  /** Earlier rows the run's rows replaced (same key). */
  replaced: number;
  /** Earlier rows whose content left the dataset because the part was removed (GDPR). */
  erased: number;
  /** Earlier rows that left because a run that reads everything (sync --full-refresh) no longer got them. */
  absent: number;
}

export interface Manifest {
  readonly version: number;
  readonly committed_at: string;
  readonly run_id: string;
  readonly chatport_version: string;
  readonly command: string;
  readonly vendor: string;
  /** sha256 of the mapping as loaded (its parsed spec, in stable JSON). */
  readonly mapping_sha256: string;
  readonly format: string;
  readonly compression: string;
  readonly shard: string | null;
  /** Input names as given (paths, or - for standard input) and their sizes in bytes where known. */
  readonly inputs: readonly { readonly name: string; readonly bytes: number | null }[];
  readonly tables: Record<TableName, TableChanges>;
  /** Files rewritten because they held content of a removed part. */
  readonly erased_files: number;
  /** New files: the run's rows, and the rows it kept of the files it rewrote. */
  readonly added: readonly ManifestFile[];
  /** Files that left the dataset (rewritten, or every row replaced). */
  readonly deleted: readonly ManifestFile[];
}
