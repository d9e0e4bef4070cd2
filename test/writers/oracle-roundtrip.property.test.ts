// What goes in comes out, judged by readers that share no code with ours: random canonical rows of every table, with
// every value type (ids up to 2^64-1 as text, numbers or LosslessNumbers; timestamps with microseconds, before 1970
// too; booleans; 64-bit integers; nested JSON with long numbers; empty strings and nulls; emoji and other Unicode),
// written in every format (CSV neutralised and raw; Parquet with every codec, pages cut every few bytes, row groups
// of a few rows), through both ways rows reach a writer (write() and encoded fragments from a reused encoder), and
// read back by DuckDB and a second independent reader per format. Parquet footers and page headers are walked too.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LosslessNumber } from '../../src/json/lossless-number.js';
import { TABLES, type Row, type TableDef } from '../../src/model/canonical-schema.js';
import type { CodecName } from '../../src/writers/parquet/parquet-metadata.js';
import { parquetWriterWith } from '../../src/writers/parquet/parquet-writer.js';
import { WRITERS } from '../../src/writers/registry.js';
import type { EncodedFragment, FormatName, TableEncoder, WriterDef } from '../../src/writers/writer.js';
import { anyString, goodCell, rowOf } from './arbitraries.js';
import { tempDir } from './helpers.js';
import { expectedRows, parquetFooter, parquetPages, readBack, readBackWithoutDuckDb, type Cell, type Flavour, expectSameRows, wantFor } from './oracles.js';

const SLOW = 180_000;
const TABLE_LIST: TableDef[] = [TABLES.messages, TABLES.conversations, TABLES.answers];

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

interface ParquetTuning {
  readonly codec: CodecName;
  readonly pageBytes: number;
  readonly rowGroupRows: number;
}

/** One way to write a file: the format (and its options), how rows are cut into batches, and which path they take. */
interface Plan {
  readonly flavour: Flavour;
  readonly tuning: ParquetTuning | undefined;
  /** Batch sizes, in order; they add up to the number of rows. */
  readonly cuts: readonly number[];
  /** true: each batch is encoded by a long-lived encoder and appended with writeFragment (the export's path). */
  readonly viaFragments: boolean;
}

function writerDef(plan: Plan): WriterDef {
  return plan.tuning ? parquetWriterWith(plan.tuning) : WRITERS[plan.flavour.format];
}

/** csvRaw as the flavour sets it, left out where the flavour has none: the writers' default is what most flavours test. */
function rawOf(plan: Plan): { csvRaw?: boolean } {
  return plan.flavour.csvRaw === undefined ? {} : { csvRaw: plan.flavour.csvRaw };
}

/** Encoders live across property runs, as a worker's do across segments: state left behind by one batch shows later. */
const encoders = new Map<string, TableEncoder>();
function reusedEncoder(table: TableDef, plan: Plan): TableEncoder {
  const key = JSON.stringify([table.name, plan.flavour, plan.tuning]);
  let enc = encoders.get(key);
  if (!enc) encoders.set(key, (enc = writerDef(plan).encoder({ table, ...rawOf(plan) })));
  return enc;
}

let fileNo = 0;

/** Writes `rows` by the plan; returns the path and the rows of each fragment the writer was given. */
async function writeByPlan(table: TableDef, rows: readonly Row[], plan: Plan): Promise<{ path: string; fragments: number[] }> {
  const def = writerDef(plan);
  const path = join(tmp.dir, `f${fileNo++}${def.extension}`);
  const w = await def.open({ table, path, ...rawOf(plan) });
  const fragments: number[] = [];
  let at = 0;
  for (const n of plan.cuts) {
    const batch = rows.slice(at, at + n);
    if (plan.viaFragments) {
      const fragment = reusedEncoder(table, plan).encode(batch, at);
      // the same rows through a fresh encoder: the same bytes (nothing carried over from earlier batches)
      const fresh = def.encoder({ table, ...rawOf(plan) }).encode(batch, at);
      expectSameFragment(fragment, fresh);
      // the same rows added in three steps (as a segment feeds its encoder): the same bytes again
      const stepped = def.encoder({ table, ...rawOf(plan) });
      const thirds = [0, Math.floor(n / 3), Math.floor((2 * n) / 3), n];
      for (let k = 0; k < 3; k++) stepped.add(batch.slice(thirds[k], thirds[k + 1]), at + thirds[k]!);
      expectSameFragment(stepped.take(), fresh);
      await w.writeFragment(fragment);
      if (fragment.rows > 0) fragments.push(fragment.rows);
    } else {
      await w.write(batch);
    }
    at += n;
  }
  const res = await w.close();
  expect(res.rows).toBe(rows.length);
  return { path, fragments };
}

function expectSameFragment(got: EncodedFragment, want: EncodedFragment): void {
  expect(got.rows).toBe(want.rows);
  expect(got.columns).toEqual(want.columns);
  if (Buffer.compare(Buffer.from(got.bytes), Buffer.from(want.bytes)) !== 0) expect.fail('an encoder wrote other bytes than a fresh one for the same rows');
}

/** Row-group sizes the writer must produce (docs/formats.md): write() cuts groups of exactly rowGroupRows rows;
 *  fragments are taken whole and a group closes at the first fragment that brings it to rowGroupRows. */
function expectedGroups(total: number, plan: Plan, fragments: readonly number[]): number[] {
  const per = plan.tuning!.rowGroupRows;
  const groups: number[] = [];
  if (!plan.viaFragments) {
    for (let left = total; left > 0; left -= per) groups.push(Math.min(per, left));
    return groups;
  }
  let acc = 0;
  for (const f of fragments) {
    acc += f;
    if (acc >= per) {
      groups.push(acc);
      acc = 0;
    }
  }
  if (acc > 0) groups.push(acc);
  return groups;
}

const CODEC_NAMES = { snappy: 'SNAPPY', gzip: 'GZIP', zstd: 'ZSTD', none: 'UNCOMPRESSED' } as const;

/**
 * The footer and the page headers agree with the rows: group sizes, value counts, codec, null counts and min/max
 * per chunk (INT64 columns, whose filters depend on them), and chunk sizes equal to the pages found in the chunk.
 */
function checkParquetLayout(path: string, table: TableDef, want: Cell[][], plan: Plan, fragments: readonly number[]): void {
  const footer = parquetFooter(path);
  const groups = expectedGroups(want.length, plan, fragments);
  expect(footer.num_rows).toBe(BigInt(want.length));
  expect(footer.row_groups.map((g) => Number(g.num_rows))).toEqual(groups);
  const pages = parquetPages(path, footer);
  let first = 0;
  footer.row_groups.forEach((rg, g) => {
    const n = groups[g]!;
    table.columns.forEach((col, c) => {
      const meta = rg.columns[c]!.meta_data!;
      const cells = want.slice(first, first + n).map((row) => row[c]!);
      const chunkPages = pages[g]![c]!;
      expect(meta.path_in_schema).toEqual([col.name]);
      expect(meta.codec).toBe(CODEC_NAMES[plan.tuning!.codec]);
      expect(meta.num_values).toBe(BigInt(n));
      const dataPages = chunkPages.filter((p) => p.type !== 'DICTIONARY_PAGE');
      expect(dataPages.reduce((s, p) => s + p.numValues, 0)).toBe(n);
      if (plan.viaFragments) expect(dataPages.length).toBeGreaterThanOrEqual(fragments.length > 0 ? 1 : 0);
      expect(meta.total_compressed_size).toBe(BigInt(chunkPages.reduce((s, p) => s + p.headerBytes + p.compressedBytes, 0)));
      expect(meta.total_uncompressed_size).toBe(BigInt(chunkPages.reduce((s, p) => s + p.headerBytes + p.uncompressedBytes, 0)));
      expect(meta.statistics?.null_count).toBe(BigInt(cells.filter((v) => v === null).length));
      if (col.type === 'timestamp' || col.type === 'integer') {
        const values = cells.filter((v): v is bigint => v !== null);
        const stats = meta.statistics!;
        if (values.length === 0) {
          expect(stats.min_value ?? stats.min).toBeUndefined();
        } else {
          expect(stats.min_value ?? stats.min).toBe(values.reduce((a, b) => (b < a ? b : a)));
          expect(stats.max_value ?? stats.max).toBe(values.reduce((a, b) => (b > a ? b : a)));
        }
      }
      if (col.type === 'string' || col.type === 'boolean') {
        // min/max for every type: text by its UTF-8 bytes (unsigned), left out past 1,024 bytes; false < true
        const values = cells.filter((v): v is string | boolean => v !== null);
        const stats = meta.statistics!;
        const key = (v: string | boolean) => (typeof v === 'boolean' ? Buffer.of(v ? 1 : 0) : Buffer.from(v, 'utf8'));
        const lo = values.reduce<string | boolean | undefined>((a, b) => (a === undefined || Buffer.compare(key(b), key(a)) < 0 ? b : a), undefined);
        const hi = values.reduce<string | boolean | undefined>((a, b) => (a === undefined || Buffer.compare(key(b), key(a)) > 0 ? b : a), undefined);
        const long = lo !== undefined && (key(lo).length > 1024 || key(hi!).length > 1024);
        const text = (v: unknown) => (typeof v === 'string' ? Buffer.from(v, 'utf8').toString('utf8') : v);
        if (lo === undefined || long) expect(stats.min_value).toBeUndefined();
        else {
          expect(text(stats.min_value)).toEqual(text(lo));
          expect(text(stats.max_value)).toEqual(text(hi));
        }
      }
    });
    first += n;
  });
}

/** Batch sizes adding up to `total`: empty batches too, and whole runs in one batch. */
function cutsOf(total: number, seeds: readonly number[]): number[] {
  const cuts: number[] = [];
  let left = total;
  for (const s of seeds) {
    if (left === 0) break;
    const n = Math.min(left, s);
    cuts.push(n);
    left -= n;
  }
  if (left > 0) cuts.push(left);
  return cuts;
}

const flavours: Flavour[] = [{ format: 'jsonl' }, { format: 'csv' }, { format: 'csv', csvRaw: true }, { format: 'parquet' }];

const tuning = fc.record({
  codec: fc.constantFrom<CodecName>('snappy', 'gzip', 'zstd', 'none'),
  pageBytes: fc.constantFrom(1, 40, 300, 1 << 20),
  rowGroupRows: fc.constantFrom(1, 3, 7, 20_000),
});

/** A table, rows for it, and one plan per flavour. */
const scenario = fc.constantFrom(...TABLE_LIST).chain((table) =>
  fc.record({
    table: fc.constant(table),
    rows: fc.array(
      rowOf(table, (c) => goodCell(c)),
      { maxLength: 14 },
    ),
    plans: fc.tuple(
      ...flavours.map((flavour) =>
        fc.record({
          flavour: fc.constant(flavour),
          tuning: flavour.format === 'parquet' ? tuning : fc.constant(undefined),
          seeds: fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 6 }),
          viaFragments: fc.boolean(),
        }),
      ),
    ),
  }),
);

/** Writes the rows by the plan, checks every reader's rows (and a Parquet file's layout); returns the file's path. */
/**
 * Rows whose every column draws from a pool of its own size (1 to 200 values, nulls among them), cut into fragments
 * of up to 150 rows: dictionaries of every type that pay, that a fragment drops (more than 64 values, half of them
 * distinct), and that pay per fragment but not merged into a row group.
 */
const pooledScenario = fc.constantFrom(TABLES.messages, TABLES.conversations).chain((table) =>
  fc.record({
    table: fc.constant(table),
    rows: fc
      .record({
        pool: fc.array(
          rowOf(table, (c) => goodCell(c)),
          { minLength: 1, maxLength: 200, size: 'max' },
        ),
        sizes: fc.array(fc.integer({ min: 1, max: 200 }), { minLength: table.columns.length, maxLength: table.columns.length }),
        picks: fc.array(fc.nat(), { maxLength: 400, size: 'max' }),
      })
      .map(({ pool, sizes, picks }) =>
        picks.map((pick, r) =>
          Object.fromEntries(
            table.columns.map((col, c) => {
              const n = Math.min(sizes[c]!, pool.length);
              return [col.name, pool[(pick + r * (c + 1)) % n]![col.name]];
            }),
          ),
        ),
      ),
    tuning: fc.record({
      codec: fc.constantFrom<CodecName>('snappy', 'gzip', 'zstd', 'none'),
      pageBytes: fc.constantFrom(300, 1 << 20),
      rowGroupRows: fc.constantFrom(50, 20_000),
    }),
    seeds: fc.array(fc.integer({ min: 0, max: 150 }), { maxLength: 6, size: 'max' }),
    viaFragments: fc.boolean(),
  }),
);

async function roundTrip(table: TableDef, rows: readonly Row[], plan: Plan): Promise<string> {
  const { path, fragments } = await writeByPlan(table, rows, plan);
  const want = expectedRows(table, rows, plan.flavour);
  for (const read of await readBack(path, table, plan.flavour.format)) {
    expectSameRows(
      read.rows,
      wantFor(read, want),
      table,
      `${read.reader} reading ${plan.flavour.format}${plan.flavour.csvRaw ? ' (raw)' : ''} ${JSON.stringify(plan.tuning ?? '')}`,
    );
  }
  if (plan.flavour.format === 'parquet') checkParquetLayout(path, table, want, plan, fragments);
  else {
    // text formats: the same bytes however the rows were batched (the file is the header plus every row's text)
    const whole = writerDef(plan)
      .encoder({ table, ...rawOf(plan) })
      .encode(rows, 0).bytes;
    const file = readFileSync(path);
    expect(Buffer.compare(file.subarray(file.length - whole.length), Buffer.from(whole))).toBe(0);
  }
  return path;
}

describe('every format, read back by DuckDB and a second independent reader', () => {
  it(
    'gives back the canonical rows that went in',
    async () => {
      await fc.assert(
        fc.asyncProperty(scenario, async ({ table, rows, plans }) => {
          for (const p of plans) {
            const plan: Plan = { flavour: p.flavour, tuning: p.tuning, cuts: cutsOf(rows.length, p.seeds), viaFragments: p.viaFragments };
            await roundTrip(table, rows, plan);
          }
        }),
        { numRuns: 60 },
      );
    },
    SLOW,
  );

  it(
    'gives back Parquet rows whose columns repeat: dictionary pages of every type, and PLAIN where a fragment or the merged dictionary stops paying',
    async () => {
      // which dictionary cases the runs reached, per physical type: the property must not pass on PLAIN pages alone
      const reached = new Set<string>();
      await fc.assert(
        fc.asyncProperty(pooledScenario, async ({ table, rows, tuning: t, seeds, viaFragments }) => {
          const plan: Plan = { flavour: { format: 'parquet' }, tuning: t, cuts: cutsOf(rows.length, seeds), viaFragments };
          const path = await roundTrip(table, rows, plan);
          parquetPages(path, parquetFooter(path)).forEach((group) =>
            group.forEach((pages, c) => {
              const type = table.columns[c]!.type;
              // PLAIN: a fragment dropped its dictionary, or the merged one did not pay (or pages were cut)
              if (pages.length > 1) reached.add(`${type} ${pages[0]!.type === 'DICTIONARY_PAGE' ? 'dictionary' : 'plain'}`);
            }),
          );
        }),
        { numRuns: 25 },
      );
      for (const type of ['integer', 'timestamp', 'json', 'string']) {
        expect(reached).toContain(`${type} dictionary`);
        expect(reached).toContain(`${type} plain`);
      }
    },
    SLOW,
  );

  it(
    'keeps unpaired surrogates in JSONL (as escapes) and in JSON cells, and writes U+FFFD for them in CSV and Parquet text',
    async () => {
      const table = TABLES.answers;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            rowOf(table, (c) => goodCell(c, anyString)),
            { minLength: 1, maxLength: 10 },
          ),
          async (rows) => {
            for (const flavour of flavours) {
              const { path } = await writeByPlan(table, rows, {
                flavour,
                tuning: flavour.format === 'parquet' ? { codec: 'snappy', pageBytes: 1 << 20, rowGroupRows: 20_000 } : undefined,
                cuts: [rows.length],
                viaFragments: false,
              });
              expect(await readBackWithoutDuckDb(path, table, flavour.format), `${flavour.format}`).toEqual(expectedRows(table, rows, flavour));
            }
          },
        ),
        { numRuns: 40 },
      );
    },
    SLOW,
  );

  it('writes an unpaired surrogate as its JSON escape in JSONL and as U+FFFD elsewhere (the bytes)', async () => {
    const table = TABLES.answers;
    const rows = [{ source: 's', conversation_id: 'c', position: 0, value: 'a\ud800b' }];
    const jsonl = await writeByPlan(table, rows, { flavour: { format: 'jsonl' }, tuning: undefined, cuts: [1], viaFragments: false });
    expect(readFileSync(jsonl.path, 'utf8')).toContain('"value":"a\\ud800b"');
    const csv = await writeByPlan(table, rows, { flavour: { format: 'csv' }, tuning: undefined, cuts: [1], viaFragments: false });
    expect(readFileSync(csv.path).includes(Buffer.from('a\ufffdb'))).toBe(true);
  });
});

describe('encoders reuse their buffers across fragments, large and small, without carrying anything over', () => {
  const table = TABLES.messages;
  /** Rows whose text or payload is far larger than the encoders' first buffers (64 KiB) and than a page. */
  const BIG_AT = new Set([2, 2100, 2400, 3500]);
  const big = (i: number): Row => ({
    ...Object.fromEntries(table.columns.map((c) => [c.name, null])),
    source: 'dashly',
    conversation_id: String(i % 7),
    message_id: new LosslessNumber(String(1400053279699342115n + BigInt(i))),
    created_at: 1_641_062_627_000_000 + i,
    // a few cells far larger than the encoders' first buffers and pages, between many small ones
    text: BIG_AT.has(i) ? 'é'.repeat(40_000) : i % 3 ? 'é'.repeat(i % 50) : 'a,"b"\n'.repeat(i % 6),
    payload: { body: BIG_AT.has(i + 1) ? 'x'.repeat(70_000) : 'x'.repeat(i % 40), n: i, list: [i, 'ж', null] },
    redacted: i % 2 === 0,
    extra: i % 4 ? null : { k: new LosslessNumber('12345678901234567890') },
  });
  const sizes = [3, 2048, 1, 300, 0, 1200, 17];
  const rows = Array.from({ length: sizes.reduce((a, b) => a + b) }, (_, i) => big(i));

  it.each(flavours)(
    '%o',
    async (flavour) => {
      const plan: Plan = {
        flavour,
        tuning: flavour.format === 'parquet' ? { codec: 'snappy', pageBytes: 1 << 16, rowGroupRows: 20_000 } : undefined,
        cuts: sizes,
        viaFragments: true,
      };
      await roundTrip(table, rows, plan);
    },
    SLOW,
  );
});

describe('the properties bite: a reader notices a changed cell', () => {
  it.each(['jsonl', 'csv', 'parquet'] as FormatName[])('%s', async (format) => {
    const table = TABLES.answers;
    const rows = [{ source: 's', conversation_id: '18446744073709551615', position: 1, value: '', extra: { id: new LosslessNumber('18446744073709551615') } }];
    const { path } = await writeByPlan(table, rows, {
      flavour: { format },
      tuning: format === 'parquet' ? { codec: 'snappy', pageBytes: 1 << 20, rowGroupRows: 20_000 } : undefined,
      cuts: [1],
      viaFragments: false,
    });
    for (const changed of [
      { ...rows[0], value: null },
      { ...rows[0], conversation_id: '18446744073709551614' },
      { ...rows[0], extra: { id: new LosslessNumber('18446744073709551616') } },
    ]) {
      for (const { rows: got } of await readBack(path, table, format)) expect(got).not.toEqual(expectedRows(table, [changed], { format }));
    }
  });
});
