// Custom child tables (issue 12): a mapping declares a table of its own (name, key, typed columns) for data no
// canonical table fits; its rows go through the same engine as the canonical ones: the writers of every format, the
// duplicate-key check, the removal decision and redaction (whose allow-list comes from the declaration: key columns,
// timestamp columns and classification columns survive, everything else, extra included, is cleared).
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChatportError } from '../../src/errors.js';
import { compileMapping } from '../../src/mapping/compile-mapping.js';
import { mapRecord } from '../../src/mapping/map-rows.js';
import { keptOnRedaction } from '../../src/redact/redact.js';
import { duck, exportTo, ROOT, tempDir, type ExportRun } from '../helpers/export-helpers.js';
import { runCli } from '../helpers/run-cli.js';

const mapping = {
  chatport_mapping: 1,
  vendor: 'pages',
  removed_when: { path: 'deleted', truthy: true },
  custom_tables: {
    page_visits: {
      doc: 'One row per page of a chat.',
      key: ['conversation_id', 'position'],
      columns: {
        conversation_id: 'string',
        position: 'integer',
        url: 'string',
        visited_at: 'timestamp',
        kind: { type: 'string', classification: true },
        meta: 'json',
        seen: 'boolean',
      },
    },
  },
  tables: {
    conversations: { columns: { conversation_id: { path: 'id', convert: 'id' } } },
    page_visits: {
      for_each: 'pages[*]',
      columns: {
        conversation_id: { path: '^.id', convert: 'id' },
        position: { index: true },
        url: 'url',
        visited_at: { path: 't', convert: 'unix_seconds' },
        kind: 'kind',
        meta: 'meta',
        seen: 'seen',
      },
    },
  },
};

const ctx = () => ({ unknownEnum: () => {} });
const runs: ExportRun[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(runs.map((r) => r.cleanup()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function mappingFile(spec: unknown): Promise<string> {
  const dir = await tempDir();
  dirs.push(dir);
  const file = path.join(dir, 'pages.json');
  await writeFile(file, JSON.stringify(spec));
  return file;
}

async function inputFile(records: unknown[]): Promise<string> {
  const dir = await tempDir();
  dirs.push(dir);
  const file = path.join(dir, 'chats.jsonl');
  await writeFile(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}

const SECRET = 'https://shop.example.com/orders?email=secret-person@example.com';
const record = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  pages: [
    { url: SECRET, t: 1714642510, kind: 'landing', meta: { ref: 'secret-ref' }, seen: true, note: 'secret-note' },
    { url: 'https://shop.example.com/', t: 1714642511, kind: 'product', seen: false },
  ],
  ...extra,
});

describe('a custom table', () => {
  it('is defined by its declaration: source first, the declared columns in order, then redacted and extra', () => {
    const compiled = compileMapping(mapping, 'pages.yaml');
    const def = compiled.outputTables.find((t) => t.name === 'page_visits')!;
    expect(def.custom).toBe(true);
    expect(def.columns.map((c) => `${c.name}:${c.type}${c.nullable ? '' : '!'}`)).toEqual([
      'source:string!',
      'conversation_id:string!',
      'position:integer!',
      'url:string',
      'visited_at:timestamp',
      'kind:string',
      'meta:json',
      'seen:boolean',
      'redacted:boolean!',
      'extra:json',
    ]);
    expect(def.key).toEqual(['conversation_id', 'position']);
  });

  it('keeps on redaction its key, timestamp and classification columns (and source, redacted); json never', () => {
    const def = compileMapping(mapping, 'pages.yaml').outputTables.find((t) => t.name === 'page_visits')!;
    expect([...keptOnRedaction(def)].sort()).toEqual(['conversation_id', 'kind', 'position', 'redacted', 'source', 'visited_at']);
  });

  it('rows carry their element unread rest in extra, like the canonical tables', () => {
    const { rows } = mapRecord(compileMapping(mapping, 'pages.yaml'), record('c1'), ctx());
    const pages = rows.filter((r) => r.table === 'page_visits').map((r) => r.row);
    expect(pages.map((r) => [r.position, r.kind, r.extra])).toEqual([
      [0, 'landing', { note: 'secret-note' }],
      [1, 'product', null],
    ]);
  });

  for (const format of ['jsonl', 'csv', 'parquet'] as const) {
    it(`is written as page_visits.${format} beside the canonical tables, and read back by DuckDB`, async () => {
      const run = await exportTo(await mappingFile(mapping), [await inputFile([record('c1'), record('c2')])], format);
      runs.push(run);
      expect((await readdir(run.outDir)).sort()).toEqual([`conversations.${format}`, `page_visits.${format}`]);
      const file = path.join(run.outDir, `page_visits.${format}`);
      const from =
        format === 'parquet'
          ? `read_parquet('${file}')`
          : format === 'csv'
            ? `read_csv('${file}', header = true)`
            : `read_json('${file}', format = 'newline_delimited')`;
      const rows = await duck(
        `SELECT conversation_id, CAST(position AS INTEGER) AS position, kind, CAST(seen AS VARCHAR) AS seen FROM ${from} ORDER BY conversation_id, position`,
      );
      expect(rows).toEqual([
        { conversation_id: 'c1', position: 0, kind: 'landing', seen: 'true' },
        { conversation_id: 'c1', position: 1, kind: 'product', seen: 'false' },
        { conversation_id: 'c2', position: 0, kind: 'landing', seen: 'true' },
        { conversation_id: 'c2', position: 1, kind: 'product', seen: 'false' },
      ]);
      expect(run.stats.toJSON().tables).toEqual({
        conversations: { rows_written: 2, skipped_by_rule: 0 },
        page_visits: { rows_written: 4, skipped_by_rule: 0 },
      });
    });
  }

  it('a removed record redacts its custom rows by the declaration: no content in any byte of the outputs', async () => {
    for (const format of ['jsonl', 'csv', 'parquet'] as const) {
      const run = await exportTo(await mappingFile(mapping), [await inputFile([record('c1', { deleted: 1 })])], format);
      runs.push(run);
      for (const f of await readdir(run.outDir)) {
        const bytes = await readFile(path.join(run.outDir, f));
        for (const secret of ['secret-person', 'secret-ref', 'secret-note']) expect(bytes.includes(secret), `${f} holds ${secret}`).toBe(false);
      }
      if (format !== 'jsonl') continue;
      const rows = (await readFile(path.join(run.outDir, 'page_visits.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(rows[0]).toEqual({
        source: 'pages',
        conversation_id: 'c1',
        position: 0,
        url: null,
        visited_at: '2024-05-02T09:35:10.000000Z',
        kind: 'landing',
        meta: null,
        seen: null,
        redacted: true,
        extra: null,
      });
    }
  });

  it('a removed element of a source with removed_when is redacted in the custom table too', () => {
    const m = structuredClone(mapping) as typeof mapping & { tables: { page_visits: Record<string, unknown> } };
    m.tables.page_visits.removed_when = { path: 'hidden', truthy: true };
    const compiled = compileMapping(m, 'pages.yaml');
    const { rows } = mapRecord(compiled, record('c1', {}), ctx());
    expect(rows.some((r) => r.removed)).toBe(false);
    const hidden = record('c1');
    (hidden.pages[0] as Record<string, unknown>).hidden = true;
    const mapped = mapRecord(compiled, hidden, ctx());
    expect(mapped.rows.filter((r) => r.removed).map((r) => r.row.position)).toEqual([0]);
  });

  it('a repeated key of a custom table is a duplicate like any other (MAP_DUPLICATE_ID, the first copy kept)', async () => {
    // the conversations differ (id); the pages' key reads chat, which two records share
    const m = structuredClone(mapping) as typeof mapping & { tables: { page_visits: { columns: Record<string, unknown> } } };
    m.tables.page_visits.columns.conversation_id = { path: '^.chat', convert: 'id' };
    const run = await exportTo(
      await mappingFile(m),
      [await inputFile([record('a', { chat: 'x' }), record('b', { chat: 'y' }), record('c', { chat: 'x' })])],
      'jsonl',
      { onError: 'skip' },
    );
    runs.push(run);
    const rejects = (await readFile(path.join(run.outDir, 'rejects.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rejects.map((r) => [r.code, r.record_index])).toEqual([['MAP_DUPLICATE_ID', 2]]);
    expect(rejects[0].reason).toBe('duplicate page_visits row (conversation_id x, position 0): an earlier record had the same id; the first one is kept');
  });

  it('a column the declaration does not have, or a declared table no rule fills, is a mapping error', () => {
    const bad = structuredClone(mapping) as typeof mapping & { tables: { page_visits: { columns: Record<string, unknown> } } };
    bad.tables.page_visits.columns.title = 'title';
    expect(() => compileMapping(bad, 'pages.yaml')).toThrow(ChatportError);
    expect(() => compileMapping(bad, 'pages.yaml')).toThrow(/table page_visits has no column "title"/);
  });

  it('--report may not be a custom table file of the run (built CLI)', async () => {
    const out = await tempDir();
    dirs.push(out);
    const r = await runCli([
      'export',
      '--from',
      'zendesk-chat',
      '--input',
      path.join(ROOT, 'samples/zendesk-chat/chats.json'),
      '--out',
      out,
      '--report',
      path.join(out, 'page_visits.jsonl'),
    ]);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/CONFIG_BAD_OPTION.*--report .*page_visits\.jsonl is a file the run writes \(the page_visits table of the mapping\)/);
    expect(await readdir(out)).not.toContain('conversations.jsonl');
  });
});
