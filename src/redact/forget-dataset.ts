// `chatport forget` as a library call: erases the people of a forget request from a dataset already written, under the
// dataset's lock, through the dataset's one rewrite path (src/datasets/rewrite-file.ts) and its one commit (a new
// version made current by one rename; every older version deleted with it, as for erasure carried back). Which rows
// belong to whom and what a forgotten row keeps are forget-rule.ts's. The dataset remembers the list's salted hashes
// (state/forgotten.json, committed with the data) so that every later run into it forgets them too, and the version
// keeps an audit record (state/forget-<version>.json): when, how many rows in which files, the hashes; no id, no content.

import path from 'node:path';
import { ChatportError } from '../errors.js';
import type { CompiledMapping } from '../mapping/compile-mapping.js';
import { isCanonicalTable, tableDef, type TableDef, type TableName } from '../model/canonical-schema.js';
import { DuplicateKeys } from '../pipeline/duplicate-keys.js';
import { DatasetStore, type DatasetStoreOptions } from '../datasets/dataset-store.js';
import { conversationPrint, readKeyIndex, WORDS_PER_ROW } from '../datasets/key-index.js';
import { keyFilePath, MANIFESTS_DIR, newRunId, versionName } from '../datasets/layout.js';
import type { Manifest, TableChanges } from '../datasets/manifest.js';
import { PartitionFiles } from '../datasets/partition-files.js';
import { rewriteFile } from '../datasets/rewrite-file.js';
import { datasetWriterDef } from '../datasets/run-dataset.js';
import type { FormatName } from '../writers/writer.js';
import { readFile } from 'node:fs/promises';
import {
  belongsTo,
  emptyForget,
  ForgetList,
  FORGOTTEN_STATE,
  forgetRow,
  forgottenText,
  isForgotten,
  leftByForgetting,
  normalEmail,
  parseForgotten,
  saltedHash,
  withRequest,
  type ForgetRequest,
} from './forget-rule.js';
import { Pseudonymizer } from './pseudonymize.js';

export interface ForgetDatasetOptions {
  readonly dataset: string;
  readonly request: ForgetRequest;
  /**
   * After a run into the dataset: the request may be empty, the list the dataset remembers (the conversations the run
   * found theirs included) is applied to the rows earlier runs wrote.
   */
  readonly remembered?: boolean;
  /** Drop the forgotten rows instead of keeping them cleared (ids, times and classification). */
  readonly drop: boolean;
  /** The pseudonym key the dataset was written with (--pseudonym-key-env): its rows hold pseudonyms of the ids. */
  readonly pseudonymKey: Uint8Array | null;
  /** The mapping that built the dataset, needed only when it holds a mapping's own tables. */
  readonly mapping: CompiledMapping | null;
  readonly chatportVersion: string;
  readonly store?: DatasetStoreOptions;
  readonly signal?: AbortSignal;
}

/** A file that held forgotten rows: its path in the version it left, its table, and how many rows were forgotten. */
export interface ForgottenFile {
  readonly path: string;
  readonly table: TableName;
  readonly rows: number;
}

/** What a forget did; also the audit record (no id, no content: hashes, counts and file names). */
export interface ForgetResult {
  readonly command: 'forget';
  readonly version: number;
  readonly run_id: string;
  readonly at: string;
  readonly mode: 'redact' | 'drop';
  /** Salted SHA-256 (the dataset's salt) of each id and email of the request. */
  readonly ids: readonly string[];
  readonly emails: readonly string[];
  readonly conversations: number;
  readonly rows: number;
  readonly tables: Readonly<Record<TableName, number>>;
  readonly files: readonly ForgottenFile[];
  /** Where the audit record is, relative to the dataset directory. */
  readonly audit: string;
  /** How many ids, emails and conversations the dataset now remembers for its later runs. */
  readonly remembered: { readonly ids: number; readonly emails: number; readonly conversations: number };
}

export async function forgetInDataset(o: ForgetDatasetOptions): Promise<ForgetResult> {
  if (o.request.ids.length === 0 && o.request.emails.length === 0 && o.remembered !== true) {
    throw new ChatportError('CONFIG_BAD_OPTION', 'forget needs at least one person: --customer ID, --ids-file FILE or --emails-file FILE', 'cli');
  }
  const store = await DatasetStore.open(o.dataset, o.store);
  let files: PartitionFiles | null = null;
  try {
    const from = store.currentDir;
    const settings = store.settings;
    if (from === null || settings === null) {
      throw new ChatportError('CONFIG_BAD_OPTION', `${o.dataset} holds no dataset yet (no committed run): nothing to forget`, 'cli', { file: o.dataset });
    }
    const remembered = parseForgotten(await store.readStateFile(FORGOTTEN_STATE)) ?? emptyForget();
    const withIds = withRequest(remembered, o.request);
    const pseudonymizer = o.pseudonymKey ? new Pseudonymizer(Buffer.from(o.pseudonymKey)) : null;
    const list = new ForgetList(pseudonymizer ? { ...withIds, pseudonyms: o.request.ids.map((id) => pseudonymizer.of(id)) } : withIds);
    const format = settings.format;
    const gzip = format !== 'parquet' && settings.compression === 'gzip';
    const defs = new Map<TableName, TableDef>();
    for (const entry of Object.values(store.catalog)) if (!defs.has(entry.table)) defs.set(entry.table, defOf(entry.table, o.mapping, o.dataset));

    // pass 1: the conversations that belong to them, and per file which rows a forget would still change
    const convs = new DuplicateKeys();
    const print = new Uint32Array(2);
    const fresh = new Map<string, Uint8Array>();
    for (const [file, entry] of Object.entries(store.catalog)) {
      o.signal?.throwIfAborted();
      store.assertHeld();
      const def = defs.get(entry.table)!;
      const notForgotten = new Uint8Array(entry.rows);
      await rewriteFile({ versionDir: from, file, def, format, gzip }, null, (row, r) => {
        // also a conversation an earlier run forgot a customer's part of (their other parts may have been missed)
        if (belongsTo(entry.table, row, list) !== null || leftByForgetting(entry.table, row)) {
          list.addConversation(row.conversation_id);
          conversationPrint(row.conversation_id, print, 0);
          convs.addPair(print[0]!, print[1]!);
        }
        notForgotten[r] = isForgotten(def, row) ? 0 : 1;
        return true;
      });
      fresh.set(file, notForgotten);
    }

    // pass 2: the files holding rows of those conversations that still say something are rewritten without it
    const runId = newRunId();
    const writerDef = datasetWriterDef(format, settings.compression);
    files = new PartitionFiles({ versionDir: store.nextDir, writerDef, extension: writerDef.extension, runId, csvRaw: true });
    const deleted = new Set<string>();
    const forgotten: ForgottenFile[] = [];
    const tables: Record<TableName, TableChanges> = {};
    for (const [file, entry] of Object.entries(store.catalog)) {
      o.signal?.throwIfAborted();
      store.assertHeld();
      const words = await readKeyIndex(path.join(from, keyFilePath(file)));
      const mine = (r: number) => convs.hasPair(words[r * WORDS_PER_ROW + 2]!, words[r * WORDS_PER_ROW + 3]!);
      const notForgotten = fresh.get(file)!;
      let change = false;
      for (let r = 0; r < entry.rows && !change; r++) if (mine(r) && (o.drop || notForgotten[r] === 1)) change = true;
      if (!change) continue;
      const def = defs.get(entry.table)!;
      let n = 0;
      let kept = 0;
      await rewriteFile({ versionDir: from, file, def, format, gzip }, files, (row, r) => {
        if (!mine(r)) {
          kept++;
          return true;
        }
        if (o.drop || notForgotten[r] === 1) n++;
        if (o.drop) return false;
        forgetRow(def, row);
        kept++;
        return true;
      });
      deleted.add(file);
      forgotten.push({ path: file, table: entry.table, rows: n });
      const t = (tables[entry.table] ??= { written: 0, replaced: 0, erased: 0, absent: 0 });
      t.written += kept;
      t.erased += n;
    }

    const rows = forgotten.reduce((sum, f) => sum + f.rows, 0);
    const added = await files.finish();
    const now = remembered;
    const keep = list.remembered();
    const auditName = `forget-${versionName(store.current + 1)}.json`;
    const result: ForgetResult = {
      command: 'forget',
      version: store.current + 1,
      run_id: runId,
      at: new Date().toISOString(),
      mode: o.drop ? 'drop' : 'redact',
      ids: [...new Set(o.request.ids.map((id) => saltedHash(now.salt, 'id', id)))].sort(),
      emails: [...new Set(o.request.emails.map((e) => saltedHash(now.salt, 'email', normalEmail(e))))].sort(),
      conversations: keep.conversations.length - remembered.conversations.length,
      rows,
      tables: Object.fromEntries(Object.entries(tables).map(([t, c]) => [t, c.erased])),
      files: forgotten.sort((a, b) => a.path.localeCompare(b.path)),
      audit: path.posix.join('_chatport', 'current', 'state', auditName),
      remembered: { ids: keep.ids.length, emails: keep.emails.length, conversations: keep.conversations.length },
    };
    await store.writeState(FORGOTTEN_STATE, forgottenText(keep));
    await store.writeState(auditName, JSON.stringify(result, null, 2) + '\n');
    const last = await lastManifest(from, store.current);
    await store.commit(
      added,
      deleted,
      {
        run_id: runId,
        chatport_version: o.chatportVersion,
        command: 'forget',
        vendor: last?.vendor ?? '',
        mapping_sha256: last?.mapping_sha256 ?? '',
        format,
        compression: settings.compression,
        shard: null,
        inputs: [],
        tables,
        erased_files: deleted.size,
      },
      // rows left the dataset: no older version may keep them (their hard links would)
      { format: format as FormatName, compression: settings.compression, erased: rows > 0 },
    );
    return result;
  } catch (err) {
    await files?.abort();
    throw err;
  } finally {
    await store.close();
  }
}

function defOf(table: TableName, mapping: CompiledMapping | null, dataset: string): TableDef {
  const own = mapping?.outputTables.find((d) => d.name === table);
  if (own) return own;
  if (isCanonicalTable(table)) return tableDef(table);
  throw new ChatportError(
    'CONFIG_MAPPING_MISMATCH',
    `${dataset} holds a table ${table} of its mapping's own: give forget the mapping that built it (--from), so its files can be read and rewritten`,
    'config',
  );
}

async function lastManifest(versionDir: string, version: number): Promise<Manifest | null> {
  try {
    return JSON.parse(await readFile(path.join(versionDir, MANIFESTS_DIR, `${versionName(version)}.json`), 'utf8')) as Manifest;
  } catch {
    return null;
  }
}
