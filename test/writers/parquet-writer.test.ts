// Parquet specifics, judged by DuckDB: column types, exact timestamps, text, nulls vs empty strings, big ids,
// row groups and pages, statistics that filters trust, and every codec. Also the Snappy encoder on its own.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TABLES, type Row, type TableDef } from '../../src/model/canonical-schema.js';
import { parquetWriterWith } from '../../src/writers/parquet-writer.js';
import { WRITERS } from '../../src/writers/registry.js';
import { snappyCompress } from '../../src/writers/snappy.js';
import type { WriterDef } from '../../src/writers/writer.js';
import { BIG_ID, T1, T2, describe as describeTable, messageRow, query, sqlString, tempDir } from './helpers.js';
import { snappyUncompress } from './snappy-reference.js';

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
});

it('writes JSON text that DuckDB parses, with exact big numbers', async () => {
  const path = await writeParquet([messageRow()]);
  const back = await query(`SELECT payload::VARCHAR AS p, json_extract_string(payload, '$.buttons[0].title') AS t FROM ${from(path)}`);
  expect(back[0]).toEqual({ p: '{"buttons":[{"id":9007199254740993,"title":"Yes, \\"sure\\""}],"n":1.5}', t: 'Yes, "sure"' });
});

it('booleans survive bit packing across byte and page boundaries', async () => {
  const flags = Array.from({ length: 1_003 }, (_, i) => i % 3 === 0 || i % 7 === 0);
  const def = parquetWriterWith({ pageBytes: 16 }); // a new page every couple of bytes of booleans
  const path = await writeParquet(flags.map((b, i) => messageRow({ message_id: String(i), redacted: b })), TABLES.messages, def);
  const back = await query(`SELECT redacted FROM ${from(path)}`);
  expect(back.map((r) => r.redacted)).toEqual(flags);
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
    const back = await query(`SELECT count(*) AS n, count(text) AS texts, count(edited_at) AS edits, sum(length(text)) AS chars FROM ${from(path)}`);
    const expected = rows();
    expect(back[0]).toEqual({
      n: BigInt(n),
      texts: BigInt(expected.filter((r) => r.text !== null).length),
      edits: BigInt(n / 2),
      chars: BigInt(expected.reduce((s, r) => s + (r.text === null ? 0 : (r.text as string).length), 0)),
    });
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

  it.each(['snappy', 'gzip', 'none'] as const)('is read back identically with codec %s', async (codec) => {
    const path = await writeParquet(rows(), TABLES.messages, parquetWriterWith({ codec, rowGroupRows: 4_000 }));
    const back = await query(`SELECT text FROM ${from(path)}`);
    expect(back.map((r) => r.text)).toEqual(rows().map((r) => r.text));
    const codecs = await query(`SELECT DISTINCT compression FROM parquet_metadata(${sqlString(path)})`);
    expect(codecs.map((c) => c.compression)).toEqual([{ snappy: 'SNAPPY', gzip: 'GZIP', none: 'UNCOMPRESSED' }[codec]]);
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

describe('snappy encoder', () => {
  it('round-trips through an independent decoder for arbitrary and repetitive input', () => {
    const repetitive = fc
      .tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 5_000 }))
      .map(([unit, times]) => {
        const out = new Uint8Array(unit.length * times);
        for (let i = 0; i < times; i++) out.set(unit, i * unit.length);
        return out;
      });
    const text = fc.fullUnicodeString({ maxLength: 3_000 }).map((s) => new Uint8Array(Buffer.from(s.repeat(3), 'utf8')));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 70_000 }), repetitive, text), (input) => {
        const packed = snappyCompress(input);
        expect(Buffer.compare(snappyUncompress(packed), Buffer.from(input))).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('compresses repetitive data and crosses 64 KiB blocks', () => {
    const input = Buffer.from('abcdefgh'.repeat(50_000)); // 400 kB, seven blocks
    const packed = snappyCompress(input);
    expect(packed.length).toBeLessThan(input.length / 10);
    expect(Buffer.compare(snappyUncompress(packed), input)).toBe(0);
    expect(snappyUncompress(snappyCompress(new Uint8Array(0))).length).toBe(0);
    const random = new Uint8Array(200_000).map(() => Math.floor(Math.random() * 256));
    expect(Buffer.compare(snappyUncompress(snappyCompress(random)), Buffer.from(random))).toBe(0);
    const words = Buffer.from(Array.from({ length: 30_000 }, (_, i) => ['hello', 'straße', '😀', 'id', String(i)][i % 5]).join(' '));
    expect(Buffer.compare(snappyUncompress(snappyCompress(words)), words)).toBe(0);
  });
});
