// The export's sink: one file per table in the chosen format, plus rejects.jsonl under --on-error skip, written in
// the run's folder inside --out (src/writers/output-set.ts) and made the directory's files all at once when the run
// commits. Fragments encoded on the worker threads are appended as they come; derived rows are encoded here.

import path from 'node:path';
import { stableStringify } from '../json/stable-json.js';
import type { Row, TableDef, TableName } from '../model/canonical-schema.js';
import type { RejectEntry } from '../pipeline/record-errors.js';
import { AtomicFile } from '../writers/atomic-file.js';
import { REJECTS_NAME, type OutputSet } from '../writers/output-set.js';
import type { EncodedFragment, TableWriter, WriterDef } from '../writers/writer.js';
import type { Sink, SinkInput } from './sink.js';

/** Rejects are buffered up to this many characters between writes. */
const REJECTS_BUFFER_CHARS = 1 << 20;

export interface TableFilesOptions {
  /** The output directory, opened for this run (lock, the run's folder, the commit). */
  readonly outputs: OutputSet;
  readonly writerDef: WriterDef;
  readonly csvRaw: boolean;
  /** Keep rejected records in OUT/rejects.jsonl (--on-error skip). */
  readonly keepRejects: boolean;
}

export class TableFilesSink implements Sink {
  readonly input: SinkInput;
  private readonly writers = new Map<TableName, TableWriter>();
  private readonly names = new Map<TableName, string>();
  private rejects: AtomicFile | null = null;
  private rejectsBuffer = '';
  private rejected = 0;
  /** Where rejects.jsonl went, once committed with at least one record (for the summary). */
  rejectsPath: string | null = null;

  constructor(private readonly o: TableFilesOptions) {
    this.input = { kind: 'fragments', format: o.writerDef.format, csvRaw: o.csvRaw, ...(o.writerDef.codec ? { codec: o.writerDef.codec } : {}) };
  }

  async open(tables: readonly TableDef[]): Promise<void> {
    for (const table of tables) {
      const name = `${table.name}${this.o.writerDef.extension}`;
      this.names.set(table.name, name);
      this.writers.set(table.name, await this.o.writerDef.open({ table, path: this.o.outputs.stagePath(name), csvRaw: this.o.csvRaw }));
    }
    if (this.o.keepRejects) this.rejects = await AtomicFile.create(this.o.outputs.stagePath(REJECTS_NAME));
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

  async commit(check: (rows: ReadonlyMap<TableName, number>) => void): Promise<void> {
    const rows = new Map<TableName, number>();
    const written: string[] = [];
    for (const [table, w] of this.writers) {
      rows.set(table, (await w.close()).rows);
      written.push(this.names.get(table)!);
    }
    if (this.rejects) {
      if (this.rejectsBuffer) await this.rejects.write(this.rejectsBuffer);
      // no rejects this time: none is written, and the commit removes one an earlier run left
      if (this.rejected > 0) {
        await this.rejects.commit();
        written.push(REJECTS_NAME);
      } else await this.rejects.abort();
    }
    check(rows);
    await this.o.outputs.commit(written);
    if (written.includes(REJECTS_NAME)) this.rejectsPath = path.join(this.o.outputs.outDir, REJECTS_NAME);
  }

  async abort(): Promise<void> {
    await Promise.allSettled([...this.writers.values()].map((w) => w.abort()));
    await this.rejects?.abort();
  }
}
