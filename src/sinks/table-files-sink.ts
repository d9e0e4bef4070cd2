// The export's sink: one file per table in the chosen format, plus rejects.jsonl under --on-error skip, each written
// under a temporary name and renamed only when the whole run committed. Fragments encoded on the worker threads are
// appended as they come; derived rows are encoded here.

import path from 'node:path';
import { stableStringify } from '../json/stable-json.js';
import type { Row, TableDef, TableName } from '../model/canonical-schema.js';
import type { RejectEntry } from '../pipeline/record-errors.js';
import { AtomicFile } from '../writers/atomic-file.js';
import type { EncodedFragment, TableWriter, WriterDef } from '../writers/writer.js';
import type { Sink, SinkInput } from './sink.js';

export const REJECTS_FILE = 'rejects.jsonl';

/** Rejects are buffered up to this many characters between writes. */
const REJECTS_BUFFER_CHARS = 1 << 20;

export interface TableFilesOptions {
  readonly outDir: string;
  readonly writerDef: WriterDef;
  readonly csvRaw: boolean;
  /** Keep rejected records in OUT/rejects.jsonl (--on-error skip). */
  readonly keepRejects: boolean;
}

export class TableFilesSink implements Sink {
  readonly input: SinkInput;
  private readonly writers = new Map<TableName, TableWriter>();
  private rejects: AtomicFile | null = null;
  private rejectsBuffer = '';
  private rejected = 0;
  /** Where rejects.jsonl went, once committed with at least one record (for the summary). */
  rejectsPath: string | null = null;

  constructor(private readonly o: TableFilesOptions) {
    this.input = { kind: 'fragments', format: o.writerDef.format, csvRaw: o.csvRaw };
  }

  async open(tables: readonly TableDef[]): Promise<void> {
    for (const table of tables) {
      const file = path.join(this.o.outDir, `${table.name}${this.o.writerDef.extension}`);
      this.writers.set(table.name, await this.o.writerDef.open({ table, path: file, csvRaw: this.o.csvRaw }));
    }
    if (this.o.keepRejects) this.rejects = await AtomicFile.create(path.join(this.o.outDir, REJECTS_FILE));
  }

  writeFragment(table: TableName, fragment: EncodedFragment): Promise<void> {
    return this.writers.get(table)!.writeFragment(fragment);
  }

  writeRows(table: TableName, rows: readonly Row[]): Promise<void> {
    return this.writers.get(table)!.write(rows);
  }

  async reject(entry: RejectEntry): Promise<void> {
    this.rejected++;
    this.rejectsBuffer += stableStringify(entry) + '\n';
    if (this.rejectsBuffer.length > REJECTS_BUFFER_CHARS) {
      await this.rejects!.write(this.rejectsBuffer);
      this.rejectsBuffer = '';
    }
  }

  async commit(): Promise<ReadonlyMap<TableName, number>> {
    const rows = new Map<TableName, number>();
    for (const [table, w] of this.writers) rows.set(table, (await w.close()).rows);
    if (this.rejects) {
      if (this.rejectsBuffer) await this.rejects.write(this.rejectsBuffer);
      if (this.rejected > 0) {
        await this.rejects.commit();
        this.rejectsPath = this.rejects.finalPath;
      } else await this.rejects.abort();
    }
    return rows;
  }

  async abort(): Promise<void> {
    await Promise.allSettled([...this.writers.values()].map((w) => w.abort()));
    await this.rejects?.abort();
  }
}
