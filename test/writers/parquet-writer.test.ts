// Parquet specifics, judged by DuckDB and hyparquet: column types, exact timestamps, text, nulls vs empty strings,
// big ids, row groups and pages, statistics that filters trust, every codec, and the footer's key-value metadata.

import { CHATPORT_VERSION } from '../../src/version.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TABLES, type Row, type TableDef } from '../../src/model/canonical-schema.js';
import { parquetWriterWith } from '../../src/writers/parquet/parquet-writer.js';
import { WRITERS } from '../../src/writers/registry.js';
import type { WriterDef } from '../../src/writers/writer.js';
import { BIG_ID, T1, T2, describe as describeTable, messageRow, query, sqlString, tempDir } from './helpers.js';
import { expectSameRows, expectedRows, parquetFooter, parquetPages, readBack, wantFor } from './oracles.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

async function writeParquet(rows: Row[], table: TableDef = TABLES.messages, def: WriterDef = WRITERS.parquet): Promise<string> {
  const path = join(tmp.dir, `${table.name}.parquet`);
  const w = await def.open({ table, path });
  await w.write(rows);
  await w.close();
  return path;
}

const from = (path: string): string => `read_parquet(${sqlString(path)})`;

/** Both independent readers give back exactly the rows that went in. */
async function expectReadBack(path: string, rows: Row[], table: TableDef = TABLES.messages): Promise<void> {
  const want = expectedRows(table, rows, { format: 'parquet' });
  for (const read of await readBack(path, table, 'parquet')) expectSameRows(read.rows, wantFor(read, want), table, read.reader);
}

/** The physical / logical / converted types and repetition docs/formats.md promises for each canonical type. */
const DOCUMENTED_TYPES = {
  string: { type: 'BYTE_ARRAY', logical_type: { type: 'STRING' }, converted_type: 'UTF8' },
  json: { type: 'BYTE_ARRAY', logical_type: { type: 'JSON' }, converted_type: 'JSON' },
  timestamp: { type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' }, converted_type: 'TIMESTAMP_MICROS' },
  integer: { type: 'INT64', logical_type: { type: 'INTEGER', bitWidth: 64, isSigned: true }, converted_type: 'INT_64' },
  boolean: { type: 'BOOLEAN', logical_type: undefined, converted_type: undefined },
} as const;

it('maps canonical types to the documented DuckDB types', async () => {
  const m = await writeParquet([messageRow()]);
  const mt = await describeTable(from(m));
  expect(mt.message_id).toBe('VARCHAR');
  expect(mt.created_at).toBe('TIMESTAMP WITH TIME ZONE');
  expect(mt.redacted).toBe('BOOLEAN');
  expect(mt.payload).toBe('JSON');
  expect(Object.keys(mt)).toEqual(TABLES.messages.columns.map((c) => c.name));
  const c = await writeParquet([{ source: 's', conversation_id: 'c', message_count: 3 }], TABLES.conversations);
  expect((await describeTable(from(c))).message_count).toBe('BIGINT');
});

it.each([TABLES.messages, TABLES.conversations, TABLES.answers])(
  'declares the documented Parquet types for $name, as hyparquet reads the schema',
  async (table) => {
    const footer = parquetFooter(await writeParquet([], table));
    const [root, ...leaves] = footer.schema;
    expect(root!.num_children).toBe(table.columns.length);
    expect(
      leaves.map((e) => ({ name: e.name, type: e.type, logical_type: e.logical_type, converted_type: e.converted_type, repetition_type: e.repetition_type })),
    ).toEqual(table.columns.map((c) => ({ name: c.name, ...DOCUMENTED_TYPES[c.type], repetition_type: c.nullable ? 'OPTIONAL' : 'REQUIRED' })));
    expect(footer.created_by).toBe(`chatport version ${CHATPORT_VERSION}`);
    expect(footer.key_value_metadata).toEqual([{ key: 'chatport.table', value: table.name }]);
    expect(footer.num_rows).toBe(0n);
  },
);

it('marks key columns REQUIRED and the rest OPTIONAL', async () => {
  const path = await writeParquet([messageRow()]);
  const rows = await query(`SELECT name, repetition_type FROM parquet_schema(${sqlString(path)}) WHERE name IN ('message_id', 'text')`);
  expect(Object.fromEntries(rows.map((r) => [r.name, r.repetition_type]))).toEqual({ message_id: 'REQUIRED', text: 'OPTIONAL' });
});

it('keeps timestamps microsecond-exact, including before 1970 and far ahead', async () => {
  const instants = [T1, T2, 0, 1, -1, -86_400_000_001, Date.UTC(2099, 11, 31, 23, 59, 59) * 1000 + 999_999, 2 ** 52 + 7];
  const path = await writeParquet(instants.map((t, i) => messageRow({ message_id: String(i), created_at: t })));
  const back = await query(`SELECT epoch_us(created_at) AS us FROM ${from(path)}`);
  expect(back.map((r) => r.us)).toEqual(instants.map((t) => BigInt(t)));
  await expectReadBack(
    path,
    instants.map((t, i) => messageRow({ message_id: String(i), created_at: t })),
  );
  const iso = await query(`SELECT strftime(created_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%f') AS s FROM ${from(path)} LIMIT 1`);
  expect(iso[0]!.s).toBe('2024-02-29T23:59:59.123456');
});

it('keeps text exact: unicode, emoji, quotes, newlines, NUL, and empty string apart from null', async () => {
  const texts = ['', 'a', 'Hello, "world"\r\n\t', '😀👍🏽🏳️‍🌈', '日本語テキスト', 'x\u0000y', 'é'.repeat(100), '=1+1', 'long '.repeat(5000)];
  const rows = texts.map((text, i) => messageRow({ message_id: String(i), text }));
  rows.push(messageRow({ message_id: 'null', text: null }));
  const path = await writeParquet(rows);
  const back = await query(`SELECT text FROM ${from(path)}`);
  expect(back.map((r) => r.text)).toEqual([...texts, null]);
  const counts = await query(`SELECT count(text) AS present, count(*) FILTER (WHERE text = '') AS empty FROM ${from(path)}`);
  expect(counts[0]).toEqual({ present: BigInt(texts.length), empty: 1n });
  await expectReadBack(path, rows);
});

it('stores ids above 2^53 as exact strings and 64-bit integers exactly', async () => {
  const m = await writeParquet([messageRow()]);
  expect((await query(`SELECT message_id FROM ${from(m)}`))[0]!.message_id).toBe(BIG_ID);
  const values = [0, -1, 2 ** 53 - 1, 2n ** 63n - 1n, -(2n ** 63n), 9_007_199_254_740_993n];
  const c = await writeParquet(
    values.map((v, i) => ({ source: 's', conversation_id: String(i), message_count: v })),
    TABLES.conversations,
  );
  const back = await query(`SELECT message_count FROM ${from(c)}`);
  expect(back.map((r) => r.message_count)).toEqual(values.map((v) => BigInt(v)));
  await expectReadBack(
    c,
    values.map((v, i) => ({ source: 's', conversation_id: String(i), message_count: v })),
    TABLES.conversations,
  );
});

it('writes JSON text that DuckDB parses, with exact big numbers', async () => {
  const path = await writeParquet([messageRow()]);
  const back = await query(
    `SELECT payload::VARCHAR AS p, json_extract_string(payload, '$.buttons[0].title') AS t, json_extract(payload, '$.buttons[0].id')::VARCHAR AS id FROM ${from(path)}`,
  );
  expect(back[0]).toEqual({ p: '{"buttons":[{"id":9007199254740993,"title":"Yes, \\"sure\\""}],"n":1.5}', t: 'Yes, "sure"', id: '9007199254740993' });
  await expectReadBack(path, [messageRow()]);
});

it('booleans survive bit packing across byte and page boundaries', async () => {
  const flags = Array.from({ length: 1_003 }, (_, i) => i % 3 === 0 || i % 7 === 0);
  const def = parquetWriterWith({ pageBytes: 16 }); // a new page every couple of bytes of booleans
  const path = await writeParquet(
    flags.map((b, i) => messageRow({ message_id: String(i), redacted: b })),
    TABLES.messages,
    def,
  );
  const back = await query(`SELECT redacted FROM ${from(path)}`);
  expect(back.map((r) => r.redacted)).toEqual(flags);
  await expectReadBack(
    path,
    flags.map((b, i) => messageRow({ message_id: String(i), redacted: b })),
  );
  const pages = parquetPages(path, parquetFooter(path))[0]![TABLES.messages.columns.findIndex((c) => c.name === 'redacted')]!;
  expect(pages.length).toBeGreaterThan(5); // 16 bytes (128 booleans) a page: the bits really cross pages
});

describe('dictionary encoding and statistics for every type', () => {
  // 30,000 rows in fragments of 1,000 (as workers send them): role and source have 3 and 1 values, message_id one per
  // row, author_name is null in every other row and has 5 values
  const roles = ['customer', 'agent', 'bot'];
  const rows = (): Row[] =>
    Array.from({ length: 30_000 }, (_, i) =>
      messageRow({
        message_id: `m${String(i).padStart(6, '0')}`,
        role: roles[i % 3]!,
        author_name: i % 2 ? null : `name ${i % 5}`,
        redacted: i % 4 === 0,
        text: `t${i}`,
      }),
    );

  async function writeFragments(def: WriterDef): Promise<string> {
    const path = join(tmp.dir, 'messages.parquet');
    const w = await def.open({ table: TABLES.messages, path });
    const enc = def.encoder({ table: TABLES.messages });
    const all = rows();
    for (let at = 0; at < all.length; at += 1_000) await w.writeFragment(enc.encode(all.slice(at, at + 1_000), at));
    await w.close();
    return path;
  }

  it.each(['fragments', 'write'] as const)(
    'dictionary-encodes low-cardinality text (one dictionary a chunk), keeps unique ids PLAIN, and both readers agree (%s)',
    async (way) => {
      const def = parquetWriterWith({ rowGroupRows: 10_000 });
      const path = way === 'fragments' ? await writeFragments(def) : await writeParquet(rows(), TABLES.messages, def);
      await expectReadBack(path, rows());
      const meta = await query(
        `SELECT row_group_id AS g, path_in_schema AS col, encodings, dictionary_page_offset AS d, stats_min_value AS lo, stats_max_value AS hi, stats_null_count AS nulls FROM parquet_metadata(${sqlString(path)}) ORDER BY g, column_id`,
      );
      const at = (g: number, col: string) => meta.find((m) => Number(m.g) === g && m.col === col)!;
      for (let g = 0; g < 3; g++) {
        for (const col of ['source', 'role', 'author_name', 'visibility']) {
          expect(String(at(g, col).encodings)).toContain('RLE_DICTIONARY');
          expect(at(g, col).d).not.toBeNull();
        }
        expect(String(at(g, 'message_id').encodings)).not.toContain('RLE_DICTIONARY');
        expect(at(g, 'message_id').d).toBeNull();
        // min/max for text and booleans too, which DuckDB reads as values
        expect(at(g, 'message_id').lo).toBe(`m${String(g * 10_000).padStart(6, '0')}`);
        expect(at(g, 'message_id').hi).toBe(`m${String(g * 10_000 + 9_999).padStart(6, '0')}`);
        expect([at(g, 'role').lo, at(g, 'role').hi]).toEqual(['agent', 'customer']);
        expect([at(g, 'author_name').lo, at(g, 'author_name').hi, at(g, 'author_name').nulls]).toEqual(['name 0', 'name 4', 5_000n]);
        expect([at(g, 'redacted').lo, at(g, 'redacted').hi]).toEqual(['false', 'true']);
      }
      const pages = parquetPages(path, parquetFooter(path));
      const roleAt = TABLES.messages.columns.findIndex((c) => c.name === 'role');
      expect(pages[0]![roleAt]![0]).toMatchObject({ type: 'DICTIONARY_PAGE', numValues: 3 });
      // DuckDB prunes row groups by the text statistics
      expect((await query(`SELECT count(*) AS n FROM ${from(path)} WHERE message_id >= 'm020000'`))[0]!.n).toBe(10_000n);
    },
  );

  it.each([1_024, 128])(
    'drops a fragment dictionary at the first checkpoint where half the values are distinct, with statistics intact (%i distinct first)',
    async (early) => {
      // `early` distinct names, then rows of three: at the end the fragment would pay a dictionary, but the encoder
      // decides at 128 values, and at every power of two after (so a column of ids, text or instants does not pay for
      // dictionary lookups of every value, nor hold every value until the fragment ends)
      const all = Array.from({ length: 4_096 }, (_, i) =>
        messageRow({ message_id: String(i), author_name: i < early ? `early ${String(i).padStart(4, '0')}` : `late ${i % 3}` }),
      );
      const def = parquetWriterWith({ rowGroupRows: 100_000 });
      const path = join(tmp.dir, 'early-drop.parquet');
      const w = await def.open({ table: TABLES.messages, path });
      const enc = def.encoder({ table: TABLES.messages });
      for (let at = 0; at < all.length; at += 700) enc.add(all.slice(at, at + 700), at);
      await w.writeFragment(enc.take());
      await w.close();
      await expectReadBack(path, all);
      const meta = await query(
        `SELECT encodings, stats_min_value AS lo, stats_max_value AS hi FROM parquet_metadata(${sqlString(path)}) WHERE path_in_schema = 'author_name'`,
      );
      expect(String(meta[0]!.encodings)).not.toContain('RLE_DICTIONARY');
      expect([meta[0]!.lo, meta[0]!.hi]).toEqual(['early 0000', 'late 2']);
    },
  );

  it('makes low-cardinality text far smaller than PLAIN pages', async () => {
    const path = await writeFragments(parquetWriterWith({ rowGroupRows: 30_000 }));
    const sizes = await query(`SELECT path_in_schema AS col, total_compressed_size AS size FROM parquet_metadata(${sqlString(path)})`);
    const size = (col: string) => Number(sizes.find((s) => s.col === col)!.size);
    expect(size('role')).toBeLessThan(size('text') / 20);
    // one value in 30,000 rows: the dictionary page and 30 data pages (one per fragment) of one RLE run each
    expect(size('source')).toBeLessThan(1_000);
  });
});

describe('dictionary encoding of INT64 and JSON columns', () => {
  // message_count and tags repeat (as in a real export: DuckDB dictionary-encodes both), created_at is one per row
  const counts: (number | bigint | null)[] = [3, -7, 0, 2n ** 62n + 12_345n, -(2n ** 63n), null, 2n ** 63n - 1n, 9_007_199_254_740_993n];
  const tagSets: unknown[] = [[], ['vip'], '', {}, ['vip', 'billing'], null, { k: '' }];
  const repeating = (i: number): Row => ({
    source: 'dashly',
    conversation_id: `c${i}`,
    created_at: T1 + i,
    message_count: counts[i % counts.length]!,
    tags: tagSets[i % tagSets.length],
  });
  const distinct = (i: number): Row => ({ ...repeating(i), message_count: -i * 1_000_003, tags: [`t${i}`] });
  const colAt = (name: string) => TABLES.conversations.columns.findIndex((c) => c.name === name);

  /** Writes the rows as fragments of the given sizes (as workers send them) into row groups of `groupRows`. */
  async function writeInFragments(rows: Row[], sizes: number[], groupRows: number): Promise<string> {
    const def = parquetWriterWith({ rowGroupRows: groupRows, codec: 'none' });
    const path = join(tmp.dir, 'conversations.parquet');
    const w = await def.open({ table: TABLES.conversations, path });
    const enc = def.encoder({ table: TABLES.conversations });
    let at = 0;
    for (const n of sizes) {
      await w.writeFragment(enc.encode(rows.slice(at, at + n), at));
      at += n;
    }
    expect(at).toBe(rows.length);
    await w.close();
    return path;
  }

  async function chunks(path: string) {
    return query(
      `SELECT row_group_id AS g, path_in_schema AS col, encodings, dictionary_page_offset AS d, stats_min_value AS lo, stats_max_value AS hi, stats_null_count AS nulls FROM parquet_metadata(${sqlString(path)}) ORDER BY g, column_id`,
    );
  }

  /** min, max and null count of message_count over rows, as DuckDB prints INT64 statistics. */
  function countStats(rows: Row[]): [string, string, bigint] {
    const values = rows.map((r) => r.message_count as number | bigint | null).filter((v) => v !== null);
    const lo = values.reduce((a, b) => (b < a ? b : a));
    const hi = values.reduce((a, b) => (b > a ? b : a));
    return [String(lo), String(hi), BigInt(rows.length - values.length)];
  }

  it('gives repeating message_count and tags one dictionary a chunk, merged from several fragments, with exact statistics', async () => {
    const rows = Array.from({ length: 6_000 }, (_, i) => repeating(i));
    const path = await writeInFragments(rows, Array(6).fill(1_000), 3_000);
    await expectReadBack(path, rows, TABLES.conversations);
    const meta = await chunks(path);
    const at = (g: number, col: string) => meta.find((m) => Number(m.g) === g && m.col === col)!;
    const pages = parquetPages(path, parquetFooter(path));
    for (let g = 0; g < 2; g++) {
      for (const col of ['message_count', 'tags']) {
        expect(String(at(g, col).encodings)).toContain('RLE_DICTIONARY');
        expect(at(g, col).d).not.toBeNull();
        // one dictionary page (the fragments' dictionaries merged), then a data page of indices per fragment
        expect(pages[g]![colAt(col)]!.map((p) => p.type)).toEqual(['DICTIONARY_PAGE', ...Array(3).fill('DATA_PAGE')]);
      }
      expect(pages[g]![colAt('message_count')]![0]!.numValues).toBe(counts.filter((c) => c !== null).length);
      expect(pages[g]![colAt('tags')]![0]!.numValues).toBe(tagSets.filter((t) => t !== null).length);
      // an instant per row: a dictionary would not pay
      expect(String(at(g, 'created_at').encodings)).not.toContain('RLE_DICTIONARY');
      const m = at(g, 'message_count');
      expect([m.lo, m.hi, m.nulls]).toEqual(countStats(rows.slice(g * 3_000, (g + 1) * 3_000)));
    }
    // DuckDB prunes and filters by the statistics and the values of the dictionary pages
    expect((await query(`SELECT count(*) AS n FROM ${from(path)} WHERE message_count = ${2n ** 62n + 12_345n}`))[0]!.n).toBe(750n);
    expect((await query(`SELECT count(*) AS n FROM ${from(path)} WHERE tags::VARCHAR = '""'`))[0]!.n).toBe(857n);
  });

  it('falls back to PLAIN for a chunk where one fragment stops paying mid-row-group, or the merged dictionary grows too large', async () => {
    // group 0: fragments of repeating values around one of distinct values (its dictionary is dropped);
    // group 1: 30 fragments of 50 values each, every fragment's own dictionary small, their union half the rows
    const rows = [
      ...Array.from({ length: 1_000 }, (_, i) => repeating(i)),
      ...Array.from({ length: 1_000 }, (_, i) => distinct(1_000 + i)),
      ...Array.from({ length: 1_000 }, (_, i) => repeating(2_000 + i)),
      ...Array.from({ length: 3_000 }, (_, i) => (i % 2 ? repeating(3_000 + i) : distinct(3_000 + Math.floor(i / 2)))),
    ];
    const path = await writeInFragments(rows, [1_000, 1_000, 1_000, ...Array(30).fill(100)], 3_000);
    await expectReadBack(path, rows, TABLES.conversations);
    const meta = await chunks(path);
    const pages = parquetPages(path, parquetFooter(path));
    for (let g = 0; g < 2; g++) {
      for (const col of ['message_count', 'tags']) {
        const m = meta.find((x) => Number(x.g) === g && x.col === col)!;
        expect(String(m.encodings)).not.toContain('RLE_DICTIONARY');
        expect(m.d).toBeNull();
        expect(pages[g]![colAt(col)]!.every((p) => p.type === 'DATA_PAGE')).toBe(true);
      }
      const m = meta.find((x) => Number(x.g) === g && x.col === 'message_count')!;
      expect([m.lo, m.hi, m.nulls]).toEqual(countStats(rows.slice(g * 3_000, (g + 1) * 3_000)));
    }
  });

  it('makes a repeating INT64 column far smaller than PLAIN pages', async () => {
    const rows = Array.from({ length: 6_000 }, (_, i) => repeating(i));
    const path = await writeInFragments(rows, Array(6).fill(1_000), 6_000);
    const sizes = await query(`SELECT path_in_schema AS col, total_compressed_size AS size FROM parquet_metadata(${sqlString(path)})`);
    const size = (col: string) => Number(sizes.find((s) => s.col === col)!.size);
    // 8 bytes a value PLAIN (48 kB), about 3 bits a value as indices
    expect(size('message_count')).toBeLessThan(size('created_at') / 10);
  });
});

describe('row groups and pages', () => {
  const n = 10_050;
  const rows = (): Row[] =>
    Array.from({ length: n }, (_, i) =>
      messageRow({
        message_id: String(i),
        created_at: T2 + i * 1_000_003,
        text: i % 5 === 0 ? null : `message ${i} ${'x'.repeat(i % 300)}`,
        edited_at: i % 2 ? null : T1,
      }),
    );

  it('splits rows into row groups of the configured size and pages of bounded bytes', async () => {
    const def = parquetWriterWith({ rowGroupRows: 1_000, pageBytes: 8_192 });
    const path = await writeParquet(rows(), TABLES.messages, def);
    const groups = await query(`SELECT row_group_id, max(row_group_num_rows) AS n FROM parquet_metadata(${sqlString(path)}) GROUP BY 1 ORDER BY 1`);
    expect(groups).toHaveLength(11);
    expect(groups.map((g) => Number(g.n))).toEqual([...Array(10).fill(1_000), 50]);
    // hyparquet walks the same layout: every text chunk is several pages, their values add up to the group
    const footer = parquetFooter(path);
    expect(footer.row_groups.map((g) => Number(g.num_rows))).toEqual([...Array(10).fill(1_000), 50]);
    const textAt = TABLES.messages.columns.findIndex((c) => c.name === 'text');
    parquetPages(path, footer).forEach((group, g) => {
      const pages = group[textAt]!;
      if (g < 10) expect(pages.length).toBeGreaterThan(1);
      // data pages hold the rows; a dictionary page's count is its distinct values
      for (const pageList of group)
        expect(pageList.filter((p) => p.type !== 'DICTIONARY_PAGE').reduce((sum, p) => sum + p.numValues, 0)).toBe(g < 10 ? 1_000 : 50);
      for (const p of pages) expect(p.uncompressedBytes).toBeLessThan(8_192 + 400); // cut at about pageBytes of values
    });
    await expectReadBack(path, rows());
    const back = await query(`SELECT count(*) AS n, count(text) AS texts, count(edited_at) AS edits, sum(length(text)) AS chars FROM ${from(path)}`);
    const expected = rows();
    expect(back[0]).toEqual({
      n: BigInt(n),
      texts: BigInt(expected.filter((r) => r.text !== null).length),
      edits: BigInt(n / 2),
      chars: BigInt(expected.reduce((s, r) => s + (r.text === null ? 0 : (r.text as string).length), 0)),
    });
  });

  it("cuts an export's row groups at DuckDB's default size, 122,880 rows (60 segments of 2,048)", async () => {
    const table = TABLES.answers;
    const def = WRITERS.parquet;
    const encoder = def.encoder({ table });
    const path = join(tmp.dir, 'answers.parquet');
    const w = await def.open({ table, path });
    const total = 2 * 122_880 + 5_000;
    for (let at = 0; at < total; at += 2_048) {
      const batch: Row[] = [];
      for (let i = at; i < Math.min(total, at + 2_048); i++) batch.push({ source: 's', conversation_id: `c${i >> 4}`, position: i & 15, value: `v${i % 7}` });
      await w.writeFragment(encoder.encode(batch, at));
    }
    await w.close();
    const groups = await query(`SELECT row_group_id, max(row_group_num_rows) AS n FROM parquet_metadata(${sqlString(path)}) GROUP BY 1 ORDER BY 1`);
    expect(groups.map((g) => Number(g.n))).toEqual([122_880, 122_880, 5_000]);
  });

  it('closes a row group early when its bytes reach the cap', async () => {
    // the cap counts the compressed pages a group holds in memory until it is written
    const def = parquetWriterWith({ rowGroupRows: 1_000_000, rowGroupBytes: 64 * 1024 });
    const path = await writeParquet(rows(), TABLES.messages, def);
    const groups = await query(`SELECT count(DISTINCT row_group_id) AS g FROM parquet_metadata(${sqlString(path)})`);
    expect(Number(groups[0]!.g)).toBeGreaterThan(3);
    expect((await query(`SELECT count(*) AS n FROM ${from(path)}`))[0]!.n).toBe(BigInt(n));
  });

  it('writes min/max statistics that DuckDB filters trust', async () => {
    const def = parquetWriterWith({ rowGroupRows: 1_000 });
    const path = await writeParquet(rows(), TABLES.messages, def);
    const stats = await query(
      `SELECT stats_min_value, stats_max_value, stats_null_count FROM parquet_metadata(${sqlString(path)}) WHERE path_in_schema = 'created_at' AND row_group_id = 1`,
    );
    expect(stats[0]!.stats_null_count).toBe(0n);
    const cut = T2 + 5_000 * 1_000_003;
    const filtered = await query(`SELECT count(*) AS n FROM ${from(path)} WHERE created_at >= make_timestamptz(${cut}::BIGINT)`);
    expect(filtered[0]!.n).toBe(BigInt(n - 5_000));
  });

  it.each(['snappy', 'gzip', 'zstd', 'none'] as const)('is read back identically with codec %s', async (codec) => {
    const path = await writeParquet(rows(), TABLES.messages, parquetWriterWith({ codec, rowGroupRows: 4_000 }));
    await expectReadBack(path, rows());
    const codecs = await query(`SELECT DISTINCT compression FROM parquet_metadata(${sqlString(path)})`);
    expect(codecs.map((c) => c.compression)).toEqual([{ snappy: 'SNAPPY', gzip: 'GZIP', zstd: 'ZSTD', none: 'UNCOMPRESSED' }[codec]]);
  });
});

it('starts and ends with the PAR1 magic and a footer length that fits the file', async () => {
  const path = await writeParquet([messageRow()]);
  const bytes = readFileSync(path);
  expect(bytes.subarray(0, 4).toString()).toBe('PAR1');
  expect(bytes.subarray(-4).toString()).toBe('PAR1');
  const footer = bytes.readUInt32LE(bytes.length - 8);
  expect(footer).toBeGreaterThan(100);
  expect(footer).toBeLessThan(bytes.length - 12);
});
