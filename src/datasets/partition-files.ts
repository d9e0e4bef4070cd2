// Writes rows into a version being built: one file per table and partition, each with its key index. At most
// `maxOpen` files are open at once (each holds up to a row group in memory): past that the least recently used one
// is closed, and a later row of its partition starts another file, so memory stays bounded whatever the number of
// days a run covers. A file is also closed at `maxRowsPerFile` rows, which bounds what a rewrite reads at once.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Row, TableDef, TableName } from '../model/canonical-schema.js';
import type { TableWriter, WriterDef } from '../writers/writer.js';
import { KeyIndexBuilder } from './key-index.js';
import { dataFilePath, keyFilePath } from './layout.js';

export interface WrittenFile {
  /** Relative to the version directory, e.g. messages/dt=2023-05-29/part-<run>-00001.parquet */
  readonly path: string;
  readonly table: TableName;
  readonly rows: number;
}

interface OpenFile {
  readonly path: string;
  readonly table: TableName;
  readonly writer: TableWriter;
  readonly keys: KeyIndexBuilder;
  rows: number;
}

export interface PartitionFilesOptions {
  readonly versionDir: string;
  readonly writerDef: WriterDef;
  /** Extension of data files (with gzip: `.jsonl.gz`). */
  readonly extension: string;
  readonly runId: string;
  readonly csvRaw: boolean;
  readonly maxOpen?: number;
  readonly maxRowsPerFile?: number;
}

export class PartitionFiles {
  private readonly open = new Map<string, OpenFile>();
  private seq = 0;
  readonly written: WrittenFile[] = [];
  private readonly maxOpen: number;
  private readonly maxRowsPerFile: number;

  constructor(private readonly o: PartitionFilesOptions) {
    this.maxOpen = o.maxOpen ?? 32;
    this.maxRowsPerFile = o.maxRowsPerFile ?? 1_000_000;
  }

  /** Appends rows of one table; `partition` gives each row's folder. */
  async write(def: TableDef, rows: readonly Row[], partition: (row: Row) => string): Promise<void> {
    const table = def.name;
    const groups = new Map<string, Row[]>();
    for (const row of rows) {
      const p = partition(row);
      let g = groups.get(p);
      if (!g) groups.set(p, (g = []));
      g.push(row);
    }
    for (const [p, group] of groups) {
      for (let at = 0; at < group.length;) {
        const file = await this.fileFor(def, p);
        const n = Math.min(group.length - at, this.maxRowsPerFile - file.rows);
        const slice = at === 0 && n === group.length ? group : group.slice(at, at + n);
        await file.writer.write(slice);
        for (const row of slice) file.keys.add(row);
        file.rows += n;
        at += n;
        if (file.rows >= this.maxRowsPerFile) await this.close(`${table}/${p}`);
      }
    }
  }

  private async fileFor(def: TableDef, partition: string): Promise<OpenFile> {
    const table = def.name;
    const slot = `${table}/${partition}`;
    const found = this.open.get(slot);
    if (found) {
      // most recently used last
      this.open.delete(slot);
      this.open.set(slot, found);
      return found;
    }
    if (this.open.size >= this.maxOpen) await this.close(this.open.keys().next().value!);
    const rel = dataFilePath(table, partition, this.o.runId, ++this.seq, this.o.extension);
    const full = path.join(this.o.versionDir, rel);
    await mkdir(path.dirname(full), { recursive: true });
    const writer = await this.o.writerDef.open({ table: def, path: full, csvRaw: this.o.csvRaw });
    const file: OpenFile = { path: rel, table, writer, keys: new KeyIndexBuilder(def), rows: 0 };
    this.open.set(slot, file);
    return file;
  }

  private async close(slot: string): Promise<void> {
    const file = this.open.get(slot)!;
    this.open.delete(slot);
    await file.writer.close();
    const keys = path.join(this.o.versionDir, keyFilePath(file.path));
    await mkdir(path.dirname(keys), { recursive: true });
    await writeFile(keys, file.keys.bytes());
    this.written.push({ path: file.path, table: file.table, rows: file.rows });
  }

  /** Closes every open file; returns all files written. */
  async finish(): Promise<readonly WrittenFile[]> {
    for (const slot of [...this.open.keys()]) await this.close(slot);
    return this.written;
  }

  async abort(): Promise<void> {
    await Promise.allSettled([...this.open.values()].map((f) => f.writer.abort()));
    this.open.clear();
  }
}
