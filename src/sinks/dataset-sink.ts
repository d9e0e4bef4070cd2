// The dataset's sink (docs/datasets.md): the run's redacted rows go into new files of the next version, partitioned
// by day; at commit the earlier rows of the run's keys are replaced, the keys the removal ledger found removed
// are erased from earlier files, the derived conversations the run touched are recomputed from all of their
// messages in the dataset, and the version is made current. The engine's rules (mapping, removal, redaction,
// duplicates, the error policy) are the same as for --out: this sink only merges what the engine decided.

import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { stableStringify } from '../json/stable-json.js';
import type { CompiledDerive } from '../mapping/compile-derive.js';
import type { Row, TableDef, TableName } from '../model/canonical-schema.js';
import { ChatportError } from '../errors.js';
import { DuplicateKeys, fingerprintInto } from '../pipeline/duplicate-keys.js';
import { ConversationDeriver } from '../pipeline/derive-conversations.js';
import { rowKeyText, type RejectEntry } from '../pipeline/record-errors.js';
import { redactRow } from '../redact/redact.js';
import { AtomicFile } from '../writers/atomic-file.js';
import type { EncodedFragment, FormatName, WriterDef } from '../writers/writer.js';
import type { DatasetStore } from '../datasets/dataset-store.js';
import { conversationPrint, readKeyIndex, WORDS_PER_ROW } from '../datasets/key-index.js';
import { keyFilePath, partitionOf, REJECTS_DIR, rowPartition } from '../datasets/layout.js';
import type { Manifest, TableChanges } from '../datasets/manifest.js';
import { PartitionFiles } from '../datasets/partition-files.js';
import { rewriteFile } from '../datasets/rewrite-file.js';
import type { RemovedKeys, Sink, SinkInput } from './sink.js';

/** Child rows (no created_at of their own) whose conversation's day is remembered, at most. */
const PARENT_DAYS = 200_000;

export interface DatasetSinkOptions {
  readonly store: DatasetStore;
  readonly writerDef: WriterDef;
  readonly format: FormatName;
  /** Parquet codec or gzip/none for text formats, as recorded in the dataset's settings. */
  readonly compression: string;
  readonly gzip: boolean;
  readonly runId: string;
  readonly derived: readonly CompiledDerive[];
  readonly keepRejects: boolean;
  /** The manifest's run fields (inputs, vendor, mapping hash, version, shard). */
  readonly describe: Omit<Manifest, 'version' | 'committed_at' | 'added' | 'deleted' | 'tables' | 'erased_files' | 'format' | 'compression'>;
  readonly maxConversationsInMemory?: number;
  /** Stops a sharded run that waits for another run's commit (SIGINT, SIGTERM). */
  readonly signal?: AbortSignal;
  /**
   * The run read everything the source has (sync --full-refresh): an earlier row whose key the run did not write
   * leaves the dataset (a derived row, when the run touched none of its conversation's rows), counted as `absent`.
   */
  readonly complete?: boolean;
  /** State files committed with the run (run-dataset.ts RunState). */
  readonly stateFiles?: () => ReadonlyMap<string, string>;
}

/** What a committed run did to the dataset (for the summary and the report). */
export interface DatasetResult {
  readonly version: number;
  readonly tables: Record<TableName, TableChanges>;
  readonly erasedRows: number;
  readonly erasedFiles: number;
  readonly filesAdded: number;
  readonly filesDeleted: number;
}

const NO_ENUMS = { unknownEnum: () => undefined };

export class DatasetSink implements Sink {
  readonly input: SinkInput = { kind: 'rows' };
  private files!: PartitionFiles;
  /** The tables this run writes, canonical and the mapping's own, by name (from open). */
  private readonly defs = new Map<TableName, TableDef>();
  /** Keys of the run's rows, per table (they replace earlier rows of the same key). */
  private readonly runKeys = new Map<TableName, DuplicateKeys>();
  /** Conversations the run touched (their derived rows are recomputed). */
  private readonly touched = new DuplicateKeys();
  private readonly derivers: ConversationDeriver[];
  private readonly derivedNames: Set<TableName>;
  /** Day partition of recent conversations, for child rows without a created_at (OnceHub answers). */
  private readonly parentDay = new Map<string, string>();
  private readonly changes = new Map<TableName, TableChanges>();
  private rejects: AtomicFile | null = null;
  private rejected = 0;
  private readonly print = new Uint32Array(2);
  result: DatasetResult | null = null;

  constructor(private readonly o: DatasetSinkOptions) {
    this.derivers = o.derived.map((d) => new ConversationDeriver(d, o.store.scratchDir, o.maxConversationsInMemory));
    this.derivedNames = new Set(o.derived.map((d) => d.name));
  }

  private change(table: TableName): TableChanges {
    let c = this.changes.get(table);
    if (!c) this.changes.set(table, (c = { written: 0, replaced: 0, erased: 0, absent: 0 }));
    return c;
  }

  async open(tables: readonly TableDef[]): Promise<void> {
    const ext = this.o.writerDef.extension;
    this.files = new PartitionFiles({ versionDir: this.o.store.nextDir, writerDef: this.o.writerDef, extension: ext, runId: this.o.runId, csvRaw: true });
    for (const def of tables) {
      this.defs.set(def.name, def);
      this.runKeys.set(def.name, new DuplicateKeys());
      this.change(def.name);
    }
    if (this.o.keepRejects) this.rejects = await AtomicFile.create(path.join(this.o.store.nextDir, REJECTS_DIR, `${this.o.runId}.jsonl`));
  }

  writeFragment(_table: TableName, _fragment: EncodedFragment): Promise<void> {
    return Promise.reject(new Error('internal: the dataset sink takes rows'));
  }

  async writeRows(table: TableName, rows: readonly Row[]): Promise<void> {
    // the engine's derived rows cover this run's messages only: they are recomputed at commit from the dataset
    if (this.derivedNames.has(table)) return;
    this.o.store.assertHeld();
    const keys = this.runKeys.get(table)!;
    const def = this.def(table);
    const keyCols = def.key;
    const print = this.print;
    for (const row of rows) {
      fingerprintOf(table, row, keyCols, print);
      keys.addPair(print[0]!, print[1]!);
      conversationPrint(row.conversation_id, print, 0);
      this.touched.addPair(print[0]!, print[1]!);
    }
    for (const d of this.derivers) if (d.derive.from === table) for (const row of rows) d.add(row, NO_ENUMS);
    this.change(table).written += rows.length;
    await this.files.write(def, rows, (row) => this.partitionFor(def, row));
  }

  /**
   * A table this run writes. The dataset may hold a table of an earlier run's mapping that this one does not
   * declare: its files cannot be decoded or redacted without the declaration, so the run stops before changing any.
   */
  private def(table: TableName): TableDef {
    const def = this.defs.get(table);
    if (!def) {
      throw new ChatportError(
        'CONFIG_MAPPING_MISMATCH',
        `the dataset holds a table ${table} that the mapping ${this.o.describe.vendor} does not declare: export into it with the mapping that built it (chatport dataset show lists its runs)`,
        'config',
      );
    }
    return def;
  }

  /** A row's day: its own created_at, or (a child row without one) its conversation's. */
  private partitionFor(def: TableDef, row: Row): string {
    if (def.columns.some((c) => c.name === 'created_at')) {
      const p = rowPartition(row);
      if (def.name === 'conversations') {
        if (this.parentDay.size >= PARENT_DAYS) this.parentDay.clear();
        this.parentDay.set(String(row.conversation_id), p);
      }
      return p;
    }
    return this.parentDay.get(String(row.conversation_id)) ?? partitionOf(null);
  }

  async reject(entry: RejectEntry): Promise<void> {
    this.rejected++;
    await this.rejects?.write(stableStringify(entry) + '\n');
  }

  async commit(check: (rows: ReadonlyMap<TableName, number>) => void, removed: RemovedKeys): Promise<void> {
    const { store } = this.o;
    // a sharded run merges into the state the other shards committed meanwhile
    await store.lockForCommit(this.o.signal);
    const erase = new DuplicateKeys();
    removed.forEachRemoved((h1, h2) => erase.addPair(h1, h2));
    const deleted = new Set<string>();
    let erasedFiles = 0;
    if (store.currentDir) {
      for (const [file, entry] of Object.entries(store.catalog)) {
        store.assertHeld();
        const r = await this.mergeFile(store.currentDir, file, entry.table, erase);
        if (r.rewrite) deleted.add(file);
        if (r.erased) erasedFiles++;
      }
    }
    for (const d of this.derivers) {
      let batch: Row[] = [];
      for await (const row of d.rows()) {
        batch.push(row);
        if (batch.length >= 4096) {
          await this.writeDerived(d.derive.name, batch);
          batch = [];
        }
      }
      if (batch.length) await this.writeDerived(d.derive.name, batch);
    }
    const added = await this.files.finish();
    const counts = new Map<TableName, number>();
    for (const [t, c] of this.changes) counts.set(t, c.written);
    if (this.rejects) {
      if (this.rejected > 0) await this.rejects.commit();
      else await this.rejects.abort();
    }
    check(counts);
    const tables = Object.fromEntries(this.changes) as Record<TableName, TableChanges>;
    let erasedRows = 0;
    let absentRows = 0;
    for (const c of this.changes.values()) {
      erasedRows += c.erased;
      absentRows += c.absent;
    }
    const gz = this.o.gzip ? 'gzip' : 'none';
    const manifest = await store.commit(
      added,
      deleted,
      { ...this.o.describe, format: this.o.format, compression: this.o.format === 'parquet' ? this.o.compression : gz, tables, erased_files: erasedFiles },
      { format: this.o.format, compression: this.o.format === 'parquet' ? this.o.compression : gz, erased: erasedRows + absentRows > 0 },
      this.o.stateFiles?.(),
    );
    this.result = { version: manifest.version, tables, erasedRows, erasedFiles, filesAdded: manifest.added.length, filesDeleted: manifest.deleted.length };
  }

  private async writeDerived(table: TableName, rows: Row[]): Promise<void> {
    this.change(table).written += rows.length;
    await this.files.write(this.def(table), rows, rowPartition);
  }

  /**
   * One earlier file: which of its rows the run replaces or erases, and which belong to a conversation the run
   * touched (read for the derived rows). The file is rewritten (its kept rows go to the run's files of the same
   * partition) when a row leaves it or must be redacted.
   */
  private async mergeFile(versionDir: string, file: string, table: TableName, erase: DuplicateKeys): Promise<{ rewrite: boolean; erased: boolean }> {
    const words = await readKeyIndex(path.join(versionDir, keyFilePath(file)));
    const rows = words.length / WORDS_PER_ROW;
    const derived = this.derivedNames.has(table);
    const replaced = this.runKeys.get(table);
    const feeds = this.derivers.filter((d) => d.derive.from === table);
    // per row: 0 keep, 1 replaced by the run's row, 2 erase in place, 3 absent from a complete run: leaves
    const fate = new Uint8Array(rows);
    let changed = false;
    let needed = false;
    for (let r = 0; r < rows; r++) {
      const k1 = words[r * 4]!;
      const k2 = words[r * 4 + 1]!;
      const inTouched = this.touched.hasPair(words[r * 4 + 2]!, words[r * 4 + 3]!);
      if (derived ? inTouched : replaced?.hasPair(k1, k2) === true) fate[r] = 1;
      else if (!derived && erase.hasPair(k1, k2)) fate[r] = 2;
      else if (this.o.complete) fate[r] = 3;
      if (fate[r] !== 0) changed = true;
      if (inTouched && feeds.length) needed = true;
    }
    if (!changed && !needed) return { rewrite: false, erased: false };
    const def = this.def(table);
    const c = this.change(table);
    let erased = false;
    const source = { versionDir, file, def, format: this.o.format, gzip: this.o.gzip };
    const read = await rewriteFile(source, changed ? this.files : null, (row, r) => {
      const f = fate[r]!;
      const touched = this.touched.hasPair(words[r * 4 + 2]!, words[r * 4 + 3]!);
      if (f === 1) {
        c.replaced++;
        // the run's copy is redacted (removed at the vendor): this row's content leaves the dataset
        if (!derived && erase.hasPair(words[r * 4]!, words[r * 4 + 1]!) && row.redacted !== true) {
          c.erased++;
          erased = true;
        }
        return false;
      }
      if (f === 3) {
        c.absent++;
        // its content leaves with the file: older versions that link it go at the commit (settings.erased)
        if (row.redacted !== true) erased = true;
        return false;
      }
      if (f === 2 && row.redacted !== true) {
        redactRow(def, row);
        c.erased++;
        erased = true;
      }
      if (touched) for (const d of feeds) d.add(row, NO_ENUMS);
      return true;
    });
    if (read !== rows) throw new Error(`internal: ${file} has ${read} rows, its key index ${rows}`);
    return { rewrite: changed, erased };
  }

  /** Drops what this attempt wrote into the next version (a run done again starts from an empty one). */
  async abort(): Promise<void> {
    await this.files?.abort();
    await this.rejects?.abort();
    await Promise.all(this.derivers.map((d) => d.cleanup()));
    await rm(this.o.store.nextDir, { recursive: true, force: true });
    await mkdir(this.o.store.nextDir, { recursive: true, mode: 0o700 });
  }
}

function fingerprintOf(table: TableName, row: Row, keys: readonly string[], out: Uint32Array): void {
  fingerprintInto(rowKeyText(table, row, keys), out, 0);
}
