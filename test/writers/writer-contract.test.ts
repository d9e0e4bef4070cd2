// One suite for every registered writer: what goes in comes out (read back by DuckDB and a second independent
// reader, oracles.ts), the final file appears only on close, abort leaves earlier outputs alone, and errors carry
// chatport's codes. A new format in WRITERS is tested here at once.

import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChatportError } from '../../src/errors.js';
import { TABLES, TABLE_NAMES, type Row, type TableDef } from '../../src/model/canonical-schema.js';
import { FORMAT_NAMES, WRITERS, writerFor } from '../../src/writers/registry.js';
import { messageRow, tempDir, tempFilesIn } from './helpers.js';
import { expectSameRows, expectedRows, readBack, wantFor } from './oracles.js';

function rowsFor(table: TableDef, n: number): Row[] {
  const rows: Row[] = [];
  for (let i = 0; i < n; i++) {
    const row: Row = {};
    for (const c of table.columns) {
      // every third optional cell null, so both definition levels and all value paths are used
      if (c.nullable && (i + c.name.length) % 3 === 0) row[c.name] = null;
      else if (c.type === 'string') row[c.name] = `${c.name}-${i}`;
      else if (c.type === 'timestamp') row[c.name] = 1_700_000_000_000_000 + i * 1_000_001;
      else if (c.type === 'integer') row[c.name] = i;
      else if (c.type === 'boolean') row[c.name] = i % 2 === 0;
      else row[c.name] = { i, tags: ['a', 'b'] };
    }
    rows.push(row);
  }
  return rows;
}

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

describe('registry', () => {
  it('has one writer per format, each naming its own format', () => {
    expect(FORMAT_NAMES.sort()).toEqual(['csv', 'jsonl', 'parquet']);
    for (const f of FORMAT_NAMES) {
      expect(WRITERS[f].format).toBe(f);
      expect(WRITERS[f].extension).toBe(`.${f}`);
      expect(writerFor(f)).toBe(WRITERS[f]);
    }
  });

  it('refuses an unknown format with a configuration error', () => {
    expect(() => writerFor('xlsx')).toThrow(ChatportError);
    try {
      writerFor('xlsx');
    } catch (e) {
      expect((e as ChatportError).code).toBe('CONFIG_BAD_OPTION');
      expect((e as ChatportError).message).toContain('xlsx');
    }
  });
});

describe.each(FORMAT_NAMES)('%s writer contract', (format) => {
  const def = WRITERS[format];

  it.each(TABLE_NAMES)(
    'writes every row of table %s, in order, across batches',
    async (name) => {
      const table = TABLES[name];
      // Parquet: more than two default row groups; text formats: several 256 KiB chunks (csv-parse is slow on more)
      const rows = rowsFor(table, format === 'parquet' ? 45_001 : 4_001);
      const path = join(tmp.dir, `${name}${def.extension}`);
      const w = await def.open({ table, path });
      for (let i = 0; i < rows.length; i += 7_000) await w.write(rows.slice(i, i + 7_000));
      const res = await w.close();
      expect(res.rows).toBe(rows.length);
      expect(res.bytes).toBe(statSync(path).size);
      const want = expectedRows(table, rows, { format });
      for (const read of await readBack(path, table, format)) expectSameRows(read.rows, wantFor(read, want), table, read.reader);
      expect(tempFilesIn(tmp.dir)).toEqual([]);
    },
    120_000,
  ); // tens of thousands of rows through two readers: far above vitest's default 5 s on a busy 2-core machine

  it('writes a valid file for zero rows', async () => {
    const path = join(tmp.dir, `empty${def.extension}`);
    const w = await def.open({ table: TABLES.answers, path });
    const res = await w.close();
    expect(res.rows).toBe(0);
    for (const read of await readBack(path, TABLES.answers, format)) expect(read.rows, read.reader).toEqual([]);
  });

  it('creates missing output directories', async () => {
    const path = join(tmp.dir, 'a', 'b', `m${def.extension}`);
    const w = await def.open({ table: TABLES.messages, path });
    await w.write([messageRow()]);
    await w.close();
    expect(existsSync(path)).toBe(true);
  });

  it('shows nothing under the final name before close, only a hidden temporary sibling', async () => {
    const path = join(tmp.dir, `m${def.extension}`);
    const w = await def.open({ table: TABLES.messages, path });
    await w.write([messageRow(), messageRow({ message_id: '2' })]);
    expect(existsSync(path)).toBe(false);
    expect(tempFilesIn(tmp.dir)).toHaveLength(1);
    await w.close();
    expect(existsSync(path)).toBe(true);
    expect(tempFilesIn(tmp.dir)).toEqual([]);
  });

  it('abort keeps an earlier output byte for byte and removes its temporary file', async () => {
    const path = join(tmp.dir, `m${def.extension}`);
    writeFileSync(path, 'previous run\n');
    const w = await def.open({ table: TABLES.messages, path });
    await w.write([messageRow()]);
    await w.abort();
    await w.abort(); // twice is harmless
    expect(readFileSync(path, 'utf8')).toBe('previous run\n');
    expect(tempFilesIn(tmp.dir)).toEqual([]);
  });

  it('close replaces an earlier output; abort after close leaves the new file', async () => {
    const path = join(tmp.dir, `m${def.extension}`);
    writeFileSync(path, 'previous run\n');
    const w = await def.open({ table: TABLES.messages, path });
    await w.write([messageRow()]);
    await w.close();
    await w.abort();
    expect(readFileSync(path, 'utf8')).not.toBe('previous run\n');
    const want = expectedRows(TABLES.messages, [messageRow()], { format });
    for (const read of await readBack(path, TABLES.messages, format)) expectSameRows(read.rows, wantFor(read, want), TABLES.messages, read.reader);
  });

  it('after a refused row, refuses to close; abort leaves no temporary file and no final file', async () => {
    const path = join(tmp.dir, `m${def.extension}`);
    const w = await def.open({ table: TABLES.messages, path });
    await expect(w.write([messageRow(), messageRow({ message_id: null })])).rejects.toMatchObject({
      code: 'MAP_MISSING_FIELD',
      stage: 'write',
      position: { recordIndex: 1, path: 'message_id' },
    });
    // half a batch was taken: closing would publish a file that silently lacks rows
    await expect(w.close()).rejects.toMatchObject({ code: 'MAP_MISSING_FIELD' });
    await expect(w.write([messageRow()])).rejects.toMatchObject({ code: 'MAP_MISSING_FIELD' });
    await w.abort();
    expect(existsSync(path)).toBe(false);
    expect(tempFilesIn(tmp.dir)).toEqual([]);
  });

  it('refuses values of the wrong type with MAP_INVALID_VALUE', async () => {
    const cases: Row[] = [
      messageRow({ created_at: 1.5 }),
      messageRow({ created_at: '2024-01-01' }),
      messageRow({ redacted: 'yes' }),
      messageRow({ text: { not: 'text' } }),
    ];
    for (const row of cases) {
      const w = await def.open({ table: TABLES.messages, path: join(tmp.dir, `bad${def.extension}`) });
      await expect(w.write([row])).rejects.toMatchObject({ code: 'MAP_INVALID_VALUE', stage: 'write' });
      await w.abort();
    }
  });

  it('reports an output directory that cannot be created as WRITE_OUTPUT_DIR, naming it', async () => {
    const blocker = join(tmp.dir, 'not-a-dir');
    writeFileSync(blocker, '');
    const err = await def.open({ table: TABLES.messages, path: join(blocker, 'sub', `m${def.extension}`) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChatportError);
    expect((err as ChatportError).code).toBe('WRITE_OUTPUT_DIR');
    expect((err as ChatportError).stage).toBe('write');
    expect((err as ChatportError).message).toContain(join(blocker, 'sub'));
  });

  it('reports a final path that is a directory as WRITE_IO', async () => {
    const err = await def.open({ table: TABLES.messages, path: tmp.dir }).catch((e: unknown) => e);
    expect((err as ChatportError).code).toBe('WRITE_IO');
  });
});
